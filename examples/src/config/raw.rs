//! The config file as serde reads it: permissive leaf types (integers as `i64`, addresses as
//! strings) so that range and format problems reach the validator, which names the key path.
//! Every table denies unknown keys.

use serde::Deserialize;

use super::values::{RawDuration, RawVip};

/// The whole file; sections are deserialized one by one so that one bad section does not hide
/// the errors of the others.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[global]`.
    pub global: Option<toml::Value>,
    /// `[[instance]]`.
    pub instance: Option<Vec<toml::Value>>,
    /// `[[virtual_server]]`.
    pub virtual_server: Option<Vec<toml::Value>>,
}

/// `[global]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGlobal {
    /// `human` or `json`.
    pub log_format: Option<String>,
    /// A tracing filter directive.
    pub log_level: Option<String>,
    /// `host:port` of the Prometheus endpoint.
    pub metrics_listen: Option<String>,
    /// Path of the control socket.
    pub control_socket: Option<String>,
    /// Whether to talk to systemd over `NOTIFY_SOCKET`.
    pub sd_notify: Option<bool>,
}

/// `[[instance]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstance {
    /// Unique name.
    pub name: Option<String>,
    /// Interface adverts go out on.
    pub interface: Option<String>,
    /// Virtual router id.
    pub vrid: Option<i64>,
    /// 2 or 3.
    pub version: Option<i64>,
    /// Base priority.
    pub priority: Option<i64>,
    /// Advertisement interval.
    pub advert_interval: Option<RawDuration>,
    /// Preempt mode.
    pub preempt: Option<bool>,
    /// keepalived-style inverse of `preempt`.
    pub nopreempt: Option<bool>,
    /// Delay before preempting after start.
    pub preempt_delay: Option<RawDuration>,
    /// Kernel lifetime of a master's VIPs (VRRP only).
    pub vip_lifetime: Option<RawDuration>,
    /// Source address of adverts.
    pub source: Option<String>,
    /// Unicast peers.
    pub unicast_peers: Option<Vec<String>>,
    /// v2 simple-text authentication.
    pub auth: Option<RawAuth>,
    /// v3 over IPv4 checksum form.
    pub v3_ipv4_checksum: Option<String>,
    /// VIPs.
    pub vips: Option<Vec<RawVip>>,
    /// Gratuitous ARP / unsolicited NA.
    pub garp: Option<RawGarp>,
    /// `release` or `keep`.
    pub on_stop: Option<String>,
    /// Tracked checks.
    pub check: Option<Vec<RawCheck>>,
    /// Role probe.
    pub role: Option<RawRole>,
    /// Fencer.
    pub fencer: Option<RawFencer>,
    /// Notify hooks.
    pub notify: Option<Vec<RawNotify>>,
    /// Ownership arbiter on etcd.
    pub etcd: Option<super::etcd::RawEtcd>,
}

/// `instance.auth`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// Only `pass`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The password, at most 8 characters.
    pub password: Option<String>,
}

/// `instance.garp`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGarp {
    /// `request`, `reply` or `both`.
    pub form: Option<String>,
    /// Messages per announcement.
    pub repeat: Option<i64>,
    /// Gap between messages.
    pub interval: Option<RawDuration>,
    /// Period of re-announcement while master (0 = off).
    pub refresh: Option<RawDuration>,
}

/// `[[instance.check]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    /// Name for logs and metrics.
    pub name: Option<String>,
    /// Command and arguments.
    pub argv: Option<Vec<String>>,
    /// Period.
    pub interval: Option<RawDuration>,
    /// Time bound of one run.
    pub timeout: Option<RawDuration>,
    /// Priority weight.
    pub weight: Option<i64>,
    /// Successes needed to pass.
    pub rise: Option<i64>,
    /// Failures needed to fail.
    pub fall: Option<i64>,
}

/// `instance.role`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    /// `postgres` or `repmgr`.
    pub kind: Option<String>,
    /// libpq connection string.
    pub conninfo: Option<String>,
    /// repmgr node name.
    pub node_name: Option<String>,
    /// repmgr node id.
    pub node_id: Option<i64>,
    /// Probe period.
    pub interval: Option<RawDuration>,
    /// Probe time bound.
    pub timeout: Option<RawDuration>,
}

/// `instance.fencer`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFencer {
    /// Command with placeholders.
    pub argv: Option<Vec<String>>,
    /// Time bound.
    pub timeout: Option<RawDuration>,
    /// `if_in_use` or `always`.
    pub policy: Option<String>,
}

/// `[[instance.notify]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// Command and arguments.
    pub argv: Option<Vec<String>>,
    /// Time bound.
    pub timeout: Option<RawDuration>,
    /// Only for transitions into these states.
    pub on: Option<Vec<String>>,
}

/// `[[virtual_server]]` as read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVirtualServer {
    /// Unique name.
    pub name: Option<String>,
    /// The instance whose VIP it follows.
    pub instance: Option<String>,
    /// The VIP.
    pub address: Option<String>,
    /// Port.
    pub port: Option<i64>,
    /// `tcp` or `udp`.
    pub protocol: Option<String>,
    /// Scheduler.
    pub lb_algo: Option<String>,
    /// Check period.
    pub delay_loop: Option<RawDuration>,
    /// Failed retries after a first failure before a real server leaves.
    pub retry: Option<i64>,
    /// Gap between checks after a failure.
    pub delay_before_retry: Option<RawDuration>,
    /// Weight 0 instead of removal.
    pub inhibit_on_failure: Option<bool>,
    /// Healthy weight needed.
    pub quorum: Option<i64>,
    /// Quorum hysteresis.
    pub hysteresis: Option<i64>,
    /// `addr:port` used when the quorum is lost.
    pub sorry_server: Option<String>,
    /// The real servers.
    pub real_server: Option<Vec<RawRealServer>>,
}

/// `[[virtual_server.real_server]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRealServer {
    /// Address.
    pub address: Option<String>,
    /// Port (default: the virtual server's).
    pub port: Option<i64>,
    /// Weight.
    pub weight: Option<i64>,
    /// keepalived's TCP_CHECK.
    pub tcp_check: Option<RawTcpCheck>,
    /// keepalived's MISC_CHECK.
    pub misc_check: Option<RawMiscCheck>,
    /// PostgreSQL role and replication lag.
    pub pg_check: Option<RawPgCheck>,
}

/// `real_server.tcp_check`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTcpCheck {
    /// Port to connect to (default: the real server's).
    pub connect_port: Option<i64>,
    /// Bound of one connect.
    pub connect_timeout: Option<RawDuration>,
}

/// `real_server.misc_check`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMiscCheck {
    /// The command and its arguments (run without a shell).
    pub misc_path: Option<Vec<String>>,
    /// Bound of one run (default: delay_loop).
    pub misc_timeout: Option<RawDuration>,
    /// Exit codes 2..=255 set the weight to code - 2.
    pub misc_dynamic: Option<bool>,
}

/// `real_server.pg_check`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPgCheck {
    /// libpq connection string.
    pub conninfo: Option<String>,
    /// `standby`, `primary` or `any`.
    pub role: Option<String>,
    /// Largest replay lag of a standby, in bytes of WAL received but not replayed.
    pub max_lag_bytes: Option<i64>,
    /// Bound of one check.
    pub timeout: Option<RawDuration>,
}
