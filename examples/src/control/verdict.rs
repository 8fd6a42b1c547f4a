//! Verdicts read from `status` rows: the HTTP health endpoints (`/primary`, `/replica`,
//! `/health`) and `vipctl status --check` (Nagios plugin exit codes) decide here, from the
//! same rows `vipctl status` shows.

use super::protocol::{InstanceStatus, StatusReport};

/// This node holds the instance's VIPs: running, master, VIPs on the interface.
pub fn is_primary(i: &InstanceStatus) -> bool {
    i.phase == "running" && i.state == "master" && i.holds_vips
}

/// A healthy standby: running, backup, VIPs not held here.
pub fn is_replica(i: &InstanceStatus) -> bool {
    i.phase == "running" && i.state == "backup" && !i.holds_vips
}

/// Not in fault, and not kept from starting by an error.
pub fn is_healthy(i: &InstanceStatus) -> bool {
    i.state != "fault" && !(i.phase == "waiting" && i.last_error.is_some())
}

/// A Nagios plugin's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// 0: everything as it should be.
    Ok,
    /// 1: needs a look (not running yet, claiming, a check failing, maintenance).
    Warning,
    /// 2: fault, no master heard, or VIPs held while the role says standby.
    Critical,
    /// 3: vipd could not be asked.
    Unknown,
}

impl Level {
    /// The plugin exit code.
    pub fn code(self) -> u8 {
        match self {
            Level::Ok => 0,
            Level::Warning => 1,
            Level::Critical => 2,
            Level::Unknown => 3,
        }
    }

    /// The word Nagios output starts with.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
            Level::Unknown => "UNKNOWN",
        }
    }
}

/// One instance's level and what to say about it.
pub fn instance_level(i: &InstanceStatus) -> (Level, String) {
    let role_standby = i.role.as_deref().is_some_and(|r| r.starts_with("standby"));
    if i.state == "fault" {
        return (Level::Critical, "fault".into());
    }
    if i.holds_vips && role_standby {
        return (Level::Critical, "holds the VIPs but role is standby".into());
    }
    if i.phase == "running" && i.state == "backup" && i.master.is_none() {
        return (Level::Critical, "backup, no master heard".into());
    }
    if i.phase != "running" {
        let why = i
            .last_error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return (Level::Warning, format!("{}{why}", i.phase));
    }
    if i.maintenance {
        return (Level::Warning, format!("{}, maintenance", i.state));
    }
    if i.state == "claiming" {
        return (Level::Warning, "claiming".into());
    }
    let failing: Vec<&str> = i
        .checks
        .iter()
        .filter(|c| c.state == "failing")
        .map(|c| c.name.as_str())
        .collect();
    let held = if i.holds_vips { " (holds VIPs)" } else { "" };
    if !failing.is_empty() {
        return (
            Level::Warning,
            format!("{}{held}, failing: {}", i.state, failing.join(",")),
        );
    }
    (Level::Ok, format!("{}{held}", i.state))
}

/// The whole report's level (the worst instance's) and its one-line Nagios output:
/// `VIP CRITICAL - db: fault; web: master (holds VIPs) | holders=1 instances=2`.
pub fn check(report: &StatusReport) -> (Level, String) {
    let mut level = Level::Ok;
    let mut parts = Vec::new();
    for i in &report.instances {
        let (l, text) = instance_level(i);
        level = level.max(l);
        parts.push(format!("{}: {text}", i.name));
    }
    if report.instances.is_empty() {
        level = Level::Warning;
        parts.push("no instances configured".into());
    }
    let holders = report.instances.iter().filter(|i| i.holds_vips).count();
    let line = format!(
        "VIP {} - {} | holders={holders} instances={}",
        level.as_str(),
        parts.join("; "),
        report.instances.len()
    );
    (level, line)
}

/// The one-line output for a vipd that could not be asked.
pub fn unknown(why: &str) -> String {
    format!("VIP UNKNOWN - {why}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::control::{CheckState, DaemonInfo};

    fn row(name: &str, state: &str, holds: bool) -> InstanceStatus {
        InstanceStatus {
            name: name.into(),
            interface: "eth0".into(),
            vrid: 1,
            version: 3,
            phase: "running".into(),
            state: state.into(),
            base_priority: 100,
            effective_priority: 100,
            master: Some("198.51.100.1".into()),
            vips: vec!["198.51.100.100/32".into()],
            holds_vips: holds,
            maintenance: false,
            address: Some("198.51.100.1".into()),
            role: None,
            role_rank: None,
            recorded_primary: None,
            checks: vec![],
            last_transition: None,
            last_alarm: None,
            started_unix_ms: Some(0),
            uptime_secs: Some(1),
            last_error: None,
        }
    }

    fn report(rows: Vec<InstanceStatus>) -> StatusReport {
        StatusReport {
            daemon: DaemonInfo {
                pid: 1,
                version: "0".into(),
                config: "/etc/vipd/vipd.toml".into(),
                started_unix_ms: 0,
            },
            instances: rows,
        }
    }

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
}
