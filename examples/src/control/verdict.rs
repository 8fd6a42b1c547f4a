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
