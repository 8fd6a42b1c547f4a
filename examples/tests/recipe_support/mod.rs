//! The recipes in docs/recipes/ are the files their lab tests run: a fenced code block whose info
//! string carries `file=NAME` (for example ```` ```toml file=node1.toml ````) is that file. The
//! tests read them from the markdown, replace only the paths the recipe names, and run them, so
//! a recipe cannot drift from what is tested.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

/// The block `file=NAME` of `doc` (its text, ending with a newline). Panics when it is missing
/// or present twice.
pub fn block(doc: &str, name: &str) -> String {
    let found: Vec<String> = blocks(doc)
        .into_iter()
        .filter(|(n, _)| n == name)
        .map(|(_, text)| text)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "the recipe needs exactly one block file={name}"
    );
    found.into_iter().next().unwrap()
}

/// Every `file=NAME` block of `doc`: (NAME, text).
pub fn blocks(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in doc.lines() {
        let fence = line.trim_start().starts_with("```");
        match current.take() {
            Some(done) if fence => out.push(done),
            Some((name, mut text)) => {
                text.push_str(line);
                text.push('\n');
                current = Some((name, text));
            }
            None if fence => {
                current = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("file="))
                    .map(|name| (name.to_owned(), String::new()));
            }
            None => {}
        }
    }
    assert!(current.is_none(), "unterminated code block");
    out
}

/// `text` with each `(from, to)` replaced; panics when a `from` does not occur (a replacement
/// that no longer applies means the recipe changed under the test).
pub fn replace_all(text: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = text.to_owned();
    for (from, to) in pairs {
        assert!(s.contains(from), "{from:?} not found in:\n{text}");
        s = s.replace(from, to);
    }
    s
}

/// The repository's root.
pub fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}
