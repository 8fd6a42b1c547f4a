//! `status` rows from the runtime's registry: one [`InstanceStatus`] per configured instance,
//! read from its `vip_core::runtime::Status` (no copy kept by the daemon).

use std::time::{SystemTime, UNIX_EPOCH};

use vip_core::election::{CheckStatus, State, Version};
use vip_core::runtime::{Clock, Status};

use super::protocol::{AlarmRecord, CheckState, InstanceStatus, TransitionRecord};
use crate::config::InstanceConfig;

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The row of instance `config`: from its runtime `status` when it has started (timestamps
/// converted with the runtime's `clock`), else a `waiting` row with `last_error`.
pub fn instance_status(
    config: &InstanceConfig,
    status: Option<&Status>,
    clock: Clock,
    last_error: Option<String>,
) -> InstanceStatus {
    let mut row = InstanceStatus {
        name: config.name.clone(),
        interface: config.interface.clone(),
        vrid: config.vrid,
        version: match config.version {
            Version::V2 => 2,
            Version::V3 => 3,
        },
        phase: "waiting".into(),
        state: State::Initialize.as_str().into(),
        base_priority: config.priority.get(),
        effective_priority: config.priority.get(),
        master: None,
        vips: config
            .vips
            .iter()
            .map(|v| format!("{}/{}", v.addr, v.prefix_len))
            .collect(),
        holds_vips: false,
        maintenance: false,
        address: None,
        role: None,
        role_rank: None,
        recorded_primary: None,
        checks: config
            .checks
            .iter()
            .map(|c| CheckState {
                name: c.name.clone(),
                state: "unknown".into(),
            })
            .collect(),
        last_transition: None,
        last_alarm: None,
        started_unix_ms: None,
        uptime_secs: None,
        last_error,
    };
    let Some(s) = status else {
        return row;
    };
    row.phase = s.phase.as_str().into();
    row.state = s.state.as_str().into();
    row.effective_priority = s.effective_priority.get();
    row.master = s.master.map(|m| m.to_string());
    row.holds_vips = s.holds_vips;
    row.maintenance = s.maintenance;
    row.address = Some(s.local.to_string());
    row.role = s.role.as_ref().map(ToString::to_string);
    row.role_rank = s.role_rank.map(|p| p.get());
    row.recorded_primary = s.recorded_primary.as_ref().map(|p| p.node_name.clone());
    row.checks = s
        .named_checks()
        .map(|(name, c)| CheckState {
            name: name.to_owned(),
            state: match c {
                Some(CheckStatus::Passing) => "passing",
                Some(CheckStatus::Failing) => "failing",
                None => "unknown",
            }
            .into(),
        })
        .collect();
    row.last_transition = s.last_transition.as_ref().map(|t| TransitionRecord {
        from: t.from.as_str().into(),
        to: t.to.as_str().into(),
        reason: t.reason.to_string(),
        at_unix_ms: unix_ms(clock.wall_time(t.at)),
    });
    row.last_alarm = s.last_alarm.as_ref().map(|e| AlarmRecord {
        reason: e.reason.to_string(),
        at_unix_ms: unix_ms(clock.wall_time(e.at)),
    });
    row.started_unix_ms = Some(unix_ms(s.started_at));
    row.uptime_secs = Some(s.uptime().as_secs());
    row
}
