//! `maintenance` and `switchover` requests: choosing the instances, keeping maintenance in a
//! state file across restarts of vipd, and waiting for the VIPs to move.
//!
//! Maintenance is kept by the runtime ([`Runtime::set_maintenance`]: it outlives restarts of
//! an instance) and written to `maintenance` beside the control socket (by default
//! `/run/vipd/maintenance`, one instance name per line), which vipd reads at start: it
//! survives a restart of vipd, not a reboot (`/run` is emptied).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vip_core::election::{State, Switchover};
use vip_core::runtime::{InstanceHandle, Phase, Runtime, Status};

use super::protocol::SwitchoverReport;

/// How long a switchover may take before the request answers with an error.
pub const SWITCHOVER_LIMIT: Duration = Duration::from_secs(10);

/// The maintenance state file: `maintenance` in the control socket's directory.
pub fn maintenance_file(control_socket: &Path) -> PathBuf {
    control_socket
        .parent()
        .unwrap_or_else(|| Path::new("/"))
        .join("maintenance")
}

/// The instance names in the state file (none when it does not exist).
pub fn read_maintenance(path: &Path) -> io::Result<Vec<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Puts the instances named in the state file at `path` (among `configured`) in maintenance
/// before they start; returns their names.
pub fn restore_maintenance(runtime: &Runtime, path: &Path, configured: &[String]) -> Vec<String> {
    let names = match read_maintenance(path) {
        Ok(names) => names,
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot read the maintenance state: {e}");
            return Vec::new();
        }
    };
    let restored: Vec<String> = names
        .into_iter()
        .filter(|n| configured.contains(n))
        .collect();
    for name in &restored {
        runtime.set_maintenance(name, true);
    }
    restored
}

/// Writes the names of the `configured` instances in maintenance to `path` (atomically;
/// no file when none is).
pub fn save_maintenance(runtime: &Runtime, path: &Path, configured: &[String]) -> io::Result<()> {
    let on: Vec<&str> = configured
        .iter()
        .filter(|n| runtime.in_maintenance(n))
        .map(String::as_str)
        .collect();
    if on.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{}\n", on.join("\n")))?;
    std::fs::rename(&tmp, path)
}

/// `wanted`, checked against the configured names, or all of them.
pub fn select(configured: &[String], wanted: Option<&str>) -> Result<Vec<String>, String> {
    match wanted {
        None => Ok(configured.to_vec()),
        Some(name) if configured.iter().any(|n| n == name) => Ok(vec![name.to_owned()]),
        Some(name) => Err(format!(
            "no instance named {name:?} (instances: {})",
            configured.join(", ")
        )),
    }
}

/// `wanted`, or the only configured instance.
pub fn select_one(configured: &[String], wanted: Option<&str>) -> Result<String, String> {
    match (wanted, configured) {
        (Some(_), _) => select(configured, wanted).map(|mut v| v.remove(0)),
        (None, [only]) => Ok(only.clone()),
        (None, _) => Err(format!(
            "several instances: name one (instances: {})",
            configured.join(", ")
        )),
    }
}

/// This machine's host name (for `--to`).
fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// Asks `handle` for a switchover to `to` (this node's address or host name: a takeover;
/// `None`: a handover from this node, the holder) and waits until the VIPs have moved, at
/// most `limit`.
pub async fn switchover(
    handle: &InstanceHandle,
    to: Option<&str>,
    limit: Duration,
) -> Result<SwitchoverReport, String> {
    let name = handle.name().to_owned();
    let before = handle.status();
    let me = before.local.to_string();
    if before.maintenance {
        return Err(format!(
            "instance {name:?} is in maintenance on this node: `vipctl maintenance off {name}` first"
        ));
    }
    if before.phase != Phase::Running {
        return Err(format!(
            "instance {name:?} is {}, not running",
            before.phase.as_str()
        ));
    }
    if let Some(role) = before.role.as_ref().filter(|r| !r.is_primary()) {
        return Err(format!(
            "instance {name:?}: the role probe says {role} here, so this node may not hold the VIPs"
        ));
    }
    let kind = match to {
        None if before.state == State::Master && before.holds_vips => Switchover::HandOver,
        None => {
            return Err(format!(
                "this node ({me}) does not hold {name:?}'s VIPs (state {}): run `vipctl switchover` on the holder{}, or `vipctl switchover --to NODE` on the node that should take them",
                before.state,
                before.master.map(|m| format!(" ({m})")).unwrap_or_default()
            ));
        }
        Some(node) if node == me || host_name().as_deref() == Some(node) => {
            if before.state == State::Master {
                return Err(format!("this node ({me}) already holds {name:?}'s VIPs"));
            }
            if before.state != State::Backup {
                return Err(format!(
                    "instance {name:?} is in state {} here: only a backup can take over",
                    before.state
                ));
            }
            Switchover::TakeOver
        }
        Some(node) => {
            return Err(format!(
                "--to {node} is not this node ({me}{}): VRRP cannot ask a peer to take over; run `vipctl switchover --to {node}` on {node}, or `vipctl switchover` without --to on the holder",
                host_name().map(|h| format!(", {h}")).unwrap_or_default()
            ));
        }
    };
    let mut watch = handle.watch_status();
    let started = tokio::time::Instant::now();
    handle
        .switchover(kind)
        .map_err(|e| format!("instance {name:?}: {e}"))?;
    let done = |s: &Status| match kind {
        Switchover::HandOver => {
            s.state == State::Backup && !s.holds_vips && s.master.is_some_and(|m| m != s.local)
        }
        Switchover::TakeOver => s.state == State::Master && s.holds_vips,
    };
    let wait = async {
        loop {
            if done(&watch.borrow_and_update()) {
                return true;
            }
            if watch.changed().await.is_err() {
                return false;
            }
        }
    };
    let moved = tokio::time::timeout(limit, wait).await.unwrap_or(false);
    let now = handle.status();
    if !moved {
        return Err(format!(
            "instance {name:?}: the VIPs did not move within {limit:?} (state {}, master {}); see `vipctl status` and vipd's log",
            now.state,
            now.master
                .map_or_else(|| "none".to_owned(), |m| m.to_string())
        ));
    }
    let (action, from, to) = match kind {
        Switchover::HandOver => ("hand_over", Some(me), now.master.map(|m| m.to_string())),
        Switchover::TakeOver => ("take_over", before.master.map(|m| m.to_string()), Some(me)),
    };
    Ok(SwitchoverReport {
        instance: name,
        action: action.to_owned(),
        from,
        to,
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}
