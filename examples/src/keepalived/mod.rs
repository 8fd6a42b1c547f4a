//! `vipd import-keepalived`: a small parser for keepalived.conf's brace syntax and the
//! translation of its VRRP parts into vipd's TOML.

mod import;
pub mod syntax;
mod virtual_server;

pub use import::{Diagnostic, Import, Severity, import};
