//! What the config tests share: the smallest valid instance, and a parse expected to fail.
#![allow(dead_code)]

use vip_examples::config::{self, ConfigErrors};

/// One valid instance; tests append the tables they exercise.
pub const BASE: &str = r#"
[[instance]]
name = "db"
interface = "eth0"
vrid = 51
vips = ["198.51.100.10/32"]
"#;

/// The errors of a config expected to be invalid (panics if it parses).
pub fn errors(text: &str) -> ConfigErrors {
    match config::parse(text) {
        Ok(c) => panic!("expected errors, got {c:?}"),
        Err(e) => e,
    }
}
