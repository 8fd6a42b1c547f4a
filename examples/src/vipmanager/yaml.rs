//! The flat YAML vip-manager reads: `key: scalar` lines, quoted or not, and lists written as
//! `[a, b]` or as `- item` lines under an empty key; `#` comments. Anything nested is reported.

/// A value: one scalar or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A scalar, quotes removed.
    Scalar(String),
    /// A list of scalars.
    List(Vec<String>),
}

/// One `key: value` entry and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The line the key is on.
    pub line: usize,
    /// The key.
    pub key: String,
    /// The value.
    pub value: Value,
}

/// Removes a trailing comment (a `#` outside quotes, at the start or after a space).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => return &line[..i],
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line
}

fn scalar(raw: &str) -> String {
    let t = raw.trim();
    for q in ['"', '\''] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return t[1..t.len() - 1].to_string();
        }
    }
    t.to_string()
}

/// Parses the file; returns the entries and the lines it could not read (line, text).
pub fn parse(text: &str) -> (Vec<Entry>, Vec<(usize, String)>) {
    let mut entries: Vec<Entry> = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let body = strip_comment(raw);
        if body.trim().is_empty() || body.trim() == "---" {
            continue;
        }
        let indented = body.starts_with(' ') || body.starts_with('\t');
        if let Some(item) = body
            .trim()
            .strip_prefix("- ")
            .or_else(|| (body.trim() == "-").then_some(""))
        {
            match entries.last_mut() {
                Some(Entry {
                    value: Value::List(items),
                    ..
                }) => items.push(scalar(item)),
                Some(
                    e @ Entry {
                        value: Value::Scalar(_),
                        ..
                    },
                ) if e.value == Value::Scalar(String::new()) => {
                    e.value = Value::List(vec![scalar(item)]);
                }
                _ => bad.push((line, raw.to_string())),
            }
            continue;
        }
        let Some((key, value)) = body.split_once(':').filter(|_| !indented) else {
            bad.push((line, raw.to_string()));
            continue;
        };
        let v = value.trim();
        let value = if let Some(inner) = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            Value::List(
                inner
                    .split(',')
                    .map(scalar)
                    .filter(|s| !s.is_empty())
                    .collect(),
            )
        } else {
            Value::Scalar(scalar(v))
        };
        entries.push(Entry {
            line,
            key: key.trim().to_string(),
            value,
        });
    }
    (entries, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_lists_and_comments() {
        let (e, bad) = parse(
            "# c\ninterval: 1000 # ms\nip: \"198.51.100.10\"\ndcs-endpoints:\n  - http://a:2379\n  - 'http://b:2379'\nx: [1, 2]\npw: \"a#b\"\n",
        );
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(e[0].value, Value::Scalar("1000".into()));
        assert_eq!(e[1].value, Value::Scalar("198.51.100.10".into()));
        assert_eq!(
            e[2].value,
            Value::List(vec!["http://a:2379".into(), "http://b:2379".into()])
        );
        assert_eq!(e[3].value, Value::List(vec!["1".into(), "2".into()]));
        assert_eq!(e[4].value, Value::Scalar("a#b".into()));
    }

    #[test]
    fn nested_maps_are_reported() {
        let (_, bad) = parse("a:\n  b: 1\n");
        assert_eq!(bad.len(), 1);
    }
}
