//! `status` rows and reports for tests of what is read from them (verdicts, health endpoints,
//! gauges): one running instance per row, changed field by field by each test.
#![allow(dead_code)]

use vip_examples::control::{CheckState, DaemonInfo, InstanceStatus, StatusReport};

/// A running instance `name` in `state`, holding the VIPs or not, role primary, one passing
/// check `port`, master 198.51.100.1 (this node).
pub fn row(name: &str, state: &str, holds: bool) -> InstanceStatus {
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
        role: Some("primary".into()),
        role_rank: None,
        recorded_primary: None,
        checks: vec![CheckState {
            name: "port".into(),
            state: "passing".into(),
        }],
        last_transition: None,
        last_alarm: None,
        started_unix_ms: Some(0),
        uptime_secs: Some(1),
        last_error: None,
    }
}

/// A report of `instances` from a daemon with fixed facts.
pub fn report(instances: Vec<InstanceStatus>) -> StatusReport {
    StatusReport {
        daemon: DaemonInfo {
            pid: 1,
            version: "0.1.0".into(),
            config: "/etc/vipd/vipd.toml".into(),
            started_unix_ms: 0,
        },
        instances,
    }
}
