//! The verdicts read from `status` rows: `vipctl status --check`'s levels and lines, and what
//! `/primary`, `/replica` and `/health` answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod status_support;

use status_support::{report, row};
use vip_examples::control::CheckState;
use vip_examples::control::verdict::{
    Level, check, instance_level, is_healthy, is_primary, is_replica,
};

#[test]
fn levels() {
    let ok = report(vec![row("db", "master", true), row("web", "backup", false)]);
    assert_eq!(
        check(&ok),
        (
            Level::Ok,
            "VIP OK - db: master (holds VIPs); web: backup | holders=1 instances=2".into()
        )
    );
    let mut fault = row("web", "fault", false);
    fault.master = None;
    let (l, line) = check(&report(vec![row("db", "master", true), fault]));
    assert_eq!(l, Level::Critical);
    assert!(line.starts_with("VIP CRITICAL - db: master (holds VIPs); web: fault"));
    let mut lonely = row("db", "backup", false);
    lonely.master = None;
    assert_eq!(instance_level(&lonely).0, Level::Critical);
    let mut wrong = row("db", "master", true);
    wrong.role = Some("standby".into());
    assert_eq!(instance_level(&wrong).0, Level::Critical);
    let mut failing = row("db", "backup", false);
    failing.checks = vec![CheckState {
        name: "port".into(),
        state: "failing".into(),
    }];
    assert_eq!(
        instance_level(&failing),
        (Level::Warning, "backup, failing: port".into())
    );
    let mut maint = row("db", "backup", false);
    maint.maintenance = true;
    assert_eq!(
        instance_level(&maint),
        (Level::Warning, "backup, maintenance".into())
    );
    let mut waiting = row("db", "initialize", false);
    (waiting.phase, waiting.last_error) = ("waiting".into(), Some("no such interface".into()));
    assert_eq!(
        instance_level(&waiting),
        (Level::Warning, "waiting: no such interface".into())
    );
    assert!(!is_healthy(&waiting));
    assert_eq!(check(&report(vec![])).0, Level::Warning);
}

#[test]
fn endpoints() {
    let m = row("db", "master", true);
    assert!(is_primary(&m) && !is_replica(&m) && is_healthy(&m));
    let b = row("db", "backup", false);
    assert!(!is_primary(&b) && is_replica(&b) && is_healthy(&b));
    let f = row("db", "fault", false);
    assert!(!is_primary(&f) && !is_replica(&f) && !is_healthy(&f));
    // Master while the removal of the VIPs is not confirmed: neither.
    let c = row("db", "claiming", false);
    assert!(!is_primary(&c) && !is_replica(&c) && is_healthy(&c));
}
