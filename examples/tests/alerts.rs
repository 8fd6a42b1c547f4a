//! The shipped Prometheus alert rules are valid and fire as documented: `promtool check rules`
//! and `promtool test rules` (Debian's prometheus package, installed by scripts/setup) on
//! packaging/prometheus. The metric names they use are checked in docs.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

fn promtool(args: &[&str]) -> Option<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/prometheus");
    let out = match Command::new("promtool")
        .args(args)
        .current_dir(&dir)
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("skipping: promtool not installed (scripts/setup installs prometheus)");
            return None;
        }
        Err(e) => panic!("promtool: {e}"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    Some(text)
}

#[test]
fn alert_rules_pass_promtool_check() {
    if let Some(out) = promtool(&["check", "rules", "vip-alerts.yml"]) {
        assert!(out.contains("SUCCESS: 6 rules found"), "{out}");
    }
}

#[test]
fn alert_rules_fire_as_their_unit_tests_say() {
    if let Some(out) = promtool(&["test", "rules", "vip-alerts.test.yml"]) {
        assert!(out.contains("SUCCESS"), "{out}");
    }
}
