//! Deserializing a section while collecting every structural error (unknown key, wrong type)
//! with its key path: on each error the offending key is recorded, removed, and deserializing
//! is tried again.

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

use super::error::ConfigError;

/// Upper bound on retries (one per offending key).
const MAX_ROUNDS: usize = 256;

/// Deserializes `value` as `T`, pushing one error per unknown key or mistyped value (paths
/// prefixed with `prefix`). Returns `None` only when the section cannot be read at all.
pub fn deserialize<T: DeserializeOwned>(
    mut value: toml::Value,
    prefix: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    for _ in 0..MAX_ROUNDS {
        let err = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        let mut segs: Vec<Segment> = err.path().iter().cloned().collect();
        let full = err.inner().to_string();
        // toml appends "\nin `key`"; the path already says where.
        let message = full
            .split("\nin `")
            .next()
            .unwrap_or(&full)
            .trim()
            .to_owned();
        if let Some((key, expected)) = unknown_field(&message) {
            if !matches!(segs.last(), Some(Segment::Map { key: k }) if *k == key) {
                segs.push(Segment::Map { key: key.clone() });
            }
            let hint = match closest(&key, &expected) {
                Some(c) => format!(" (did you mean {c:?}?)"),
                None if expected.is_empty() => String::new(),
                None => format!(" (expected one of: {expected})"),
            };
            errors.push(ConfigError::new(
                join(prefix, &segs),
                format!("unknown key{hint}"),
            ));
        } else {
            errors.push(ConfigError::new(join(prefix, &segs), tidy(&message)));
            // A bad array element: drop the whole array, so later indices are not shifted.
            if matches!(segs.last(), Some(Segment::Seq { .. })) {
                while matches!(segs.last(), Some(Segment::Seq { .. })) {
                    segs.pop();
                }
            }
        }
        if segs.is_empty() || !remove(&mut value, &segs) {
            return None;
        }
    }
    None
}

/// Renders a path: `prefix.a.b[2].c`.
fn join(prefix: &str, segs: &[Segment]) -> String {
    let mut out = prefix.to_owned();
    for s in segs {
        match s {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

/// serde's "unknown field `x`, expected one of `a`, `b`" -> ("x", "a, b").
fn unknown_field(message: &str) -> Option<(String, String)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, tail) = rest.split_once('`')?;
    let expected = tail
        .split_once("expected ")
        .map(|(_, e)| e.trim().trim_start_matches("one of ").replace('`', ""))
        .unwrap_or_default();
    Some((key.to_owned(), expected))
}

/// Friendlier wording for serde's type names.
fn tidy(message: &str) -> String {
    message
        .replace("expected i64", "expected an integer")
        .replace("expected u64", "expected an integer")
        .replace("expected a sequence", "expected an array")
        .replace("expected a boolean", "expected true or false")
}

/// Removes the key (or array) at `segs`; false if nothing was removed.
fn remove(value: &mut toml::Value, segs: &[Segment]) -> bool {
    let Some((last, parents)) = segs.split_last() else {
        return false;
    };
    let mut cur = value;
    for s in parents {
        let next = match (s, cur) {
            (Segment::Map { key }, toml::Value::Table(t)) => t.get_mut(key),
            (Segment::Seq { index }, toml::Value::Array(a)) => a.get_mut(*index),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match (last, cur) {
        (Segment::Map { key }, toml::Value::Table(t)) => t.remove(key).is_some(),
        (Segment::Seq { index }, toml::Value::Array(a)) if *index < a.len() => {
            a.remove(*index);
            true
        }
        _ => false,
    }
}

/// The known key nearest to `key` (Levenshtein distance at most 2, by strsim), if any.
fn closest<'a>(key: &str, expected: &'a str) -> Option<&'a str> {
    expected
        .split(", ")
        .map(|k| (strsim::levenshtein(key, k), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}
