//! vipctl's exit codes that need no daemon: `status --check` against no vipd is UNKNOWN (3),
//! a command line it cannot parse is 64 (never a check code), help is 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const VIPCTL: &str = env!("CARGO_BIN_EXE_vipctl");

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(VIPCTL).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn check_without_a_daemon_is_unknown() {
    let (code, text) = run(&["--socket", "/nonexistent/vipd.sock", "status", "--check"]);
    assert_eq!(code, Some(3), "{text}");
    assert!(
        text.starts_with("VIP UNKNOWN - control socket /nonexistent/vipd.sock does not exist"),
        "{text}"
    );
    // Without --check the same failure keeps its old code.
    let (code, _) = run(&["--socket", "/nonexistent/vipd.sock", "status"]);
    assert_eq!(code, Some(2));
}

#[test]
fn usage_errors_exit_64() {
    for args in [
        &["status", "--bogus"][..],
        &["maintenance", "maybe"],
        &["maintenance"],
        &["status", "--check", "--json"],
        &["frobnicate"],
    ] {
        let (code, text) = run(args);
        assert_eq!(code, Some(64), "{args:?}: {text}");
    }
    let (code, text) = run(&["--help"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("switchover") && text.contains("maintenance"));
    let (code, _) = run(&["switchover", "--help"]);
    assert_eq!(code, Some(0));
}
