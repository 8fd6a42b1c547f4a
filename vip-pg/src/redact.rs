//! Removes secrets from text before it reaches an error, a log line or a report.
//!
//! Three layers, applied in order:
//! 1. `password=value` pairs (any case, optional spaces, quoted or bare values), as written in
//!    key/value conninfo strings and in URI query parameters;
//! 2. the `user:password@` part of `postgres://` and `postgresql://` URIs;
//! 3. every occurrence of the known secret itself (when the caller knows it), whatever the
//!    surrounding text, for example inside a server or driver message.

/// What replaces a secret.
pub const MASK: &str = "***";

/// Returns `text` with every password removed (see the module documentation).
///
/// `secret` is the password the caller knows about, if any; each occurrence of it is masked as well.
pub fn redact(text: &str, secret: Option<&[u8]>) -> String {
    let mut out = redact_pairs(text);
    out = redact_uri_userinfo(&out);
    if let Some(secret) = secret.and_then(|s| std::str::from_utf8(s).ok())
        && !secret.is_empty()
    {
        out = out.replace(secret, MASK);
    }
    out
}

/// Masks the value of every `password = value` pair.
fn redact_pairs(text: &str) -> String {
    const KEY: &str = "password";
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find(KEY) {
        let key_end = search + found + KEY.len();
        search = key_end;
        let mut i = key_end;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value_start = i;
        let value_end = value_end(bytes, value_start);
        out.push_str(&text[copied..value_start]);
        out.push_str(MASK);
        copied = value_end;
        search = value_end.max(search);
    }
    out.push_str(&text[copied..]);
    out
}

/// The end (exclusive) of a conninfo value starting at `start`: a single-quoted value with
/// backslash escapes, or everything up to the next whitespace.
fn value_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    if i < bytes.len() && bytes[i] == b'\'' {
        i += 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'\'' => return i + 1,
                _ => i += 1,
            }
        }
        return bytes.len();
    }
    // Stop at whitespace only: a bare value may contain `&`, so a URI's later query parameters
    // are masked too (over-masking is safe, under-masking is not).
    while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Masks the password in `scheme://user:password@host` forms.
fn redact_uri_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let authority_start = pos + 3;
        out.push_str(&rest[..authority_start]);
        let after = &rest[authority_start..];
        let authority_len = after
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..authority_len];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..=colon]);
                        out.push_str(MASK);
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_bare_quoted_and_spaced_pairs() {
        let s = redact("host=db password=hunter2 user=x", None);
        assert_eq!(s, "host=db password=*** user=x");
        let s = redact("PASSWORD = 'a b\\' c' dbname=x", None);
        assert_eq!(s, "PASSWORD = *** dbname=x");
        let s = redact("password=a password=b", None);
        assert_eq!(s, "password=*** password=***");
        let s = redact("trailing password=", None);
        assert_eq!(s, "trailing password=***");
    }

    #[test]
    fn leaves_unrelated_words_alone() {
        let s = "password authentication failed for user \"vip\"";
        assert_eq!(redact(s, None), s);
    }

    #[test]
    fn masks_uri_userinfo_and_query() {
        let s = redact(
            "postgresql://vip:hunter2@db:5432/x?password=other&sslmode=disable",
            None,
        );
        assert_eq!(s, "postgresql://vip:***@db:5432/x?password=***");
        let s = redact("host=db password=ab&cd", None);
        assert_eq!(s, "host=db password=***");
        let s = redact("postgres://vip@db/x", None);
        assert_eq!(s, "postgres://vip@db/x");
    }

    #[test]
    fn masks_the_known_secret_anywhere() {
        let s = redact("server said: bad secret s3cr3t!", Some(b"s3cr3t"));
        assert!(!s.contains("s3cr3t"));
        assert!(s.contains(MASK));
    }
}
