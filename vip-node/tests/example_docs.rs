//! The crate-level docs show the embedding example as it is in `examples/file_role.rs`.

#[test]
fn crate_docs_show_the_example() {
    let example = include_str!("../examples/file_role.rs");
    let lib = include_str!("../src/lib.rs");
    let body = &example[example.find("use std::path").unwrap()..];
    let docs: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        docs.contains(body.trim_end()),
        "src/lib.rs's example differs from examples/file_role.rs"
    );
    assert!(
        example.lines().count() <= 60,
        "the embedding example must stay within 60 lines"
    );
}

#[test]
fn the_readme_quotes_the_example() {
    let example = include_str!("../examples/file_role.rs");
    let readme = include_str!("../../README.md");
    let start = readme.find("```rust,ignore\n").unwrap() + "```rust,ignore\n".len();
    let snippet = &readme[start..start + readme[start..].find("```").unwrap()];
    for line in snippet.lines() {
        assert!(
            example.contains(line),
            "README line not in the example: {line}"
        );
    }
}
