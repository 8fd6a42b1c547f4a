//! Requests and responses: one JSON object per line each way.

use serde::{Deserialize, Serialize};

/// A request from a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Every instance's state.
    Status,
    /// Re-run the role probe now (one instance, or every instance with a role probe).
    Reprobe {
        /// The instance; `None` = all with a role probe.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
    },
    /// Re-read the config file (like SIGHUP).
    Reload,
    /// Maintenance on or off (one instance, or every instance).
    Maintenance {
        /// On or off.
        on: bool,
        /// The instance; `None` = all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
    },
    /// A planned switchover of one instance (`None`: the only one).
    Switchover {
        /// The instance; `None` = the only one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
        /// The node to move the VIPs to: this node's address in the instance, or its host
        /// name (a takeover); `None`: hand them over from this node, the holder.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// The virtual servers and their real servers (`vipctl lb`).
    Lb,
}

/// A response to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Answer to `status`.
    Status(StatusReport),
    /// Answer to `reprobe`: the instances signalled.
    Reprobe {
        /// Instances whose probe will run now.
        instances: Vec<String>,
    },
    /// Answer to `reload`.
    Reload(ReloadReport),
    /// Answer to `maintenance`.
    Maintenance {
        /// The instances concerned.
        instances: Vec<String>,
        /// Maintenance is now on (`true`) or off.
        on: bool,
    },
    /// Answer to `switchover`, once the VIPs have moved.
    Switchover(SwitchoverReport),
    /// Answer to `lb`: every virtual server, in config order.
    Lb(Vec<LbService>),
    /// The request failed.
    Error(String),
}

/// The daemon itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonInfo {
    /// Process id.
    pub pid: u32,
    /// vipd version.
    pub version: String,
    /// Config file path.
    pub config: String,
    /// When the daemon started (Unix milliseconds).
    pub started_unix_ms: u64,
}

/// Answer to `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The daemon.
    pub daemon: DaemonInfo,
    /// Every instance, in config order.
    pub instances: Vec<InstanceStatus>,
}

/// One instance's state: the runtime's `Status` of the instance, with the config facts an
/// operator wants beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// Name.
    pub name: String,
    /// Interface.
    pub interface: String,
    /// VRID.
    pub vrid: u8,
    /// VRRP version (2 or 3).
    pub version: u8,
    /// Where the instance's task is: `waiting` (not started yet: see `last_error`),
    /// `starting`, `running`, `stopping`, `stopped`.
    pub phase: String,
    /// State name (`initialize`, `backup`, `claiming`, `master`, `fault`).
    pub state: String,
    /// Configured priority.
    pub base_priority: u8,
    /// Priority advertised now.
    pub effective_priority: u8,
    /// The current master's address (ourselves when master), if known.
    pub master: Option<String>,
    /// The VIPs, `addr/prefix`.
    pub vips: Vec<String>,
    /// True while the VIPs are, or may be, on this node's interfaces.
    pub holds_vips: bool,
    /// True while the instance is in maintenance (`vipctl maintenance on`): it does not take
    /// the VIPs.
    pub maintenance: bool,
    /// This node's address in the instance's adverts (what `master` shows for it); `None`
    /// while waiting.
    pub address: Option<String>,
    /// The role probe's last verdict (`primary`, `standby`, `unknown (why)`); `None` without
    /// a role probe or before its first answer.
    pub role: Option<String>,
    /// The rank the role probe reported (advertised instead of the base priority), if any.
    pub role_rank: Option<u8>,
    /// The node the cluster metadata records as primary, when the probe reads it.
    pub recorded_primary: Option<String>,
    /// Each tracked check, in config order.
    pub checks: Vec<CheckState>,
    /// The last transition.
    pub last_transition: Option<TransitionRecord>,
    /// The last alarm.
    pub last_alarm: Option<AlarmRecord>,
    /// When the running election instance started (Unix milliseconds); `None` while waiting.
    pub started_unix_ms: Option<u64>,
    /// Seconds since then.
    pub uptime_secs: Option<u64>,
    /// Why the instance is not running (a failed start, or the cause of the last restart).
    pub last_error: Option<String>,
}

/// Answer to `switchover`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchoverReport {
    /// The instance.
    pub instance: String,
    /// `hand_over` (this node released the VIPs) or `take_over` (this node took them).
    pub action: String,
    /// The node that held the VIPs before.
    pub from: Option<String>,
    /// The node that holds them now.
    pub to: Option<String>,
    /// Milliseconds from the request until the new holder was known here.
    pub took_ms: u64,
}

/// A tracked check as reported by `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckState {
    /// The check's name.
    pub name: String,
    /// `passing`, `failing` or `unknown` (before its first result).
    pub state: String,
}

/// An alarm as reported by `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmRecord {
    /// What the alarm says.
    pub reason: String,
    /// When (Unix milliseconds).
    pub at_unix_ms: u64,
}

/// A transition as reported by `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRecord {
    /// Old state.
    pub from: String,
    /// New state.
    pub to: String,
    /// Why.
    pub reason: String,
    /// When (Unix milliseconds).
    pub at_unix_ms: u64,
}

/// Answer to `reload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReloadReport {
    /// Kept running as they were.
    pub unchanged: Vec<String>,
    /// Restarted with the new config.
    pub changed: Vec<String>,
    /// Started.
    pub added: Vec<String>,
    /// Stopped.
    pub removed: Vec<String>,
    /// Global settings that changed but need a restart to take effect.
    pub needs_restart: Vec<String>,
}

/// One virtual server as `vipctl lb` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LbService {
    /// Its name.
    pub name: String,
    /// The instance whose VIP it follows.
    pub instance: String,
    /// `TCP` or `UDP`.
    pub protocol: String,
    /// The VIP.
    pub vip: String,
    /// The port.
    pub port: u16,
    /// The scheduler (`rr`, `wrr`, `sh`, `dh`).
    pub scheduler: String,
    /// True while the service is active here (this node holds the instance's VIPs; vip-lb keeps its rules in the kernel).
    pub active: bool,
    /// True while the healthy weight reaches the quorum.
    pub quorum_up: bool,
    /// True while new connections go to the sorry server.
    pub sorry_active: bool,
    /// The sorry server, if any.
    pub sorry_server: Option<String>,
    /// The real servers, in config order.
    pub backends: Vec<LbBackend>,
}

/// One real server as `vipctl lb` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LbBackend {
    /// `addr:port`.
    pub addr: String,
    /// Its configured weight.
    pub configured_weight: u32,
    /// Its effective weight now, what vip-lb steers by (0 = no new connections).
    pub weight: u32,
    /// Whether its checks pass.
    pub healthy: bool,
    /// Established connections to it through the service (conntrack).
    pub active_connections: u64,
    /// Its other connections (conntrack), as ipvsadm's InActConn.
    pub inactive_connections: u64,
    /// Why its last check failed.
    pub last_error: Option<String>,
}

/// `2026-11-21T23:06:44.123Z`.
pub fn format_unix_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_unix_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_unix_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            format_unix_ms(1_795_302_404_123),
            "2026-11-21T23:06:44.123Z"
        );
    }

    #[test]
    fn wire_forms() {
        let r: Request = serde_json::from_str(r#"{"cmd":"reprobe","instance":"db"}"#).unwrap();
        assert_eq!(
            r,
            Request::Reprobe {
                instance: Some("db".into())
            }
        );
        let r: Request = serde_json::from_str(r#"{"cmd":"reprobe"}"#).unwrap();
        assert_eq!(r, Request::Reprobe { instance: None });
        assert_eq!(
            serde_json::to_string(&Request::Status).unwrap(),
            r#"{"cmd":"status"}"#
        );
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"explode"}"#).is_err());
    }
}
