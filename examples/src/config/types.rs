//! The validated configuration: typed, every value in range, ready for the builders.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vip_core::election::Version;
use vip_lb::{Protocol, Scheduler};
use vip_node::NodeConfig;

/// The default control socket path.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/vipd/vipd.sock";

/// A whole, validated config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `[global]`.
    pub global: GlobalConfig,
    /// `[[instance]]`, in file order.
    pub instances: Vec<InstanceConfig>,
    /// `[[virtual_server]]`, in file order.
    pub virtual_servers: Vec<VirtualServerConfig>,
}

impl Config {
    /// The instance with this name.
    pub fn instance(&self, name: &str) -> Option<&InstanceConfig> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// A one-line summary for `check-config`.
    pub fn summary(&self) -> String {
        let list: Vec<String> = self
            .instances
            .iter()
            .map(|i| {
                format!(
                    "{} (vrid {} v{} on {}, {} VIP{})",
                    i.name,
                    i.vrid,
                    match i.version {
                        Version::V2 => 2,
                        Version::V3 => 3,
                    },
                    i.interface,
                    i.vips.len(),
                    if i.vips.len() == 1 { "" } else { "s" }
                )
            })
            .collect();
        let mut line = format!(
            "config ok: {} instance{}: {}",
            self.instances.len(),
            if self.instances.len() == 1 { "" } else { "s" },
            list.join(", ")
        );
        if !self.virtual_servers.is_empty() {
            let vs: Vec<String> = self
                .virtual_servers
                .iter()
                .map(|v| {
                    format!(
                        "{} ({}:{} on {}, {} real server{})",
                        v.name,
                        v.address,
                        v.port,
                        v.instance,
                        v.real_servers.len(),
                        if v.real_servers.len() == 1 { "" } else { "s" }
                    )
                })
                .collect();
            line.push_str(&format!(
                "; {} virtual server{}: {}",
                vs.len(),
                if vs.len() == 1 { "" } else { "s" },
                vs.join(", ")
            ));
        }
        line
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
    /// Structured records straight to the systemd journal (tracing-journald), with the event's
    /// fields as journal fields.
    Journald,
}

/// `[global]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalConfig {
    /// Log output format.
    pub log_format: LogFormat,
    /// tracing filter directive (for example `info` or `info,vip_core=debug`).
    pub log_level: String,
    /// Where the Prometheus endpoint listens; `None` disables it.
    pub metrics_listen: Option<SocketAddr>,
    /// Path of the control socket.
    pub control_socket: PathBuf,
    /// Whether to send sd_notify messages when `NOTIFY_SOCKET` is set.
    pub sd_notify: bool,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            log_format: LogFormat::Human,
            log_level: "info".into(),
            metrics_listen: None,
            control_socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
            sd_notify: true,
        }
    }
}

/// The checksum form of VRRPv3 over IPv4 adverts (`v3_ipv4_checksum`): the codec's own type.
pub use vip_vrrp::wire::ChecksumMode;

/// Gratuitous ARP / unsolicited NA settings (`[instance.garp]`): vip-netlink's own type.
pub use vip_netlink::{AnnounceConfig, GarpForm};

/// A tracked check: a command run without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    /// Name for logs and metrics.
    pub name: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Run period.
    pub interval: Duration,
    /// Time bound of one run; the child is killed after it.
    pub timeout: Duration,
    /// keepalived weight semantics (see [`vip_core::election::CheckSpec`]).
    pub weight: i32,
    /// Consecutive successes to turn passing.
    pub rise: u32,
    /// Consecutive failures to turn failing.
    pub fall: u32,
}

/// Which role probe gates the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleKind {
    /// `pg_is_in_recovery()`.
    Postgres,
    /// repmgr metadata cross-checked with recovery state.
    Repmgr {
        /// This node in `repmgr.nodes`.
        node: RepmgrNode,
    },
}

/// How a repmgr node is identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepmgrNode {
    /// By `node_name`.
    Name(String),
    /// By `node_id`.
    Id(i64),
}

/// The role section: the instance is eligible only while the probe says Primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleConfig {
    /// Probe kind.
    pub kind: RoleKind,
    /// libpq connection string (may hold a password: never log it).
    pub conninfo: String,
    /// Probe period.
    pub interval: Duration,
    /// Probe time bound.
    pub timeout: Duration,
}

/// The command fencer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencerConfig {
    /// Program and arguments with placeholders (see [`vip_node::commands::fence::PLACEHOLDERS`]).
    pub argv: Vec<String>,
    /// Time bound; the child is killed after it and fencing counts as failed. (When to
    /// fence is the instance's `fence_policy`.)
    pub timeout: Duration,
}

/// A notify hook: a command run on transitions, awaited with a timeout (vip-node's type).
pub use vip_node::commands::notify::NotifyHook;

/// One `[[instance]]`: a VRID on an interface with its VIPs.
///
/// The facts vip-node runs (name, interface, VRID, version, interval, VIPs, priority, preempt,
/// source, unicast peers, v2 authentication, checksum form, announcements as `garp`, fence
/// policy, `on_stop`, notify hooks) are stated once, in [`InstanceConfig::node`], and read
/// through it (`inst.vrid` is `inst.node.vrid`); the daemon's own sections sit beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceConfig {
    /// The instance as vip-node runs it (shared with the running node, not copied).
    pub node: Arc<NodeConfig>,
    /// Tracked checks.
    pub checks: Vec<CheckConfig>,
    /// Role probe.
    pub role: Option<RoleConfig>,
    /// Fencer.
    pub fencer: Option<FencerConfig>,
    /// `[instance.etcd]`: the ownership arbiter gating the VIPs, if any.
    pub arbiter: Option<super::ArbiterConfig>,
}

impl std::ops::Deref for InstanceConfig {
    type Target = NodeConfig;

    fn deref(&self) -> &NodeConfig {
        &self.node
    }
}

/// A validated `[[virtual_server]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerConfig {
    /// Unique name.
    pub name: String,
    /// The instance whose VIP it follows.
    pub instance: String,
    /// The VIP.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Scheduler (`lb_algo`).
    pub lb_algo: Scheduler,
    /// Check period.
    pub delay_loop: Duration,
    /// keepalived's `retry`: failed retries after a first failure before a real server leaves
    /// (it leaves at failure number `retry + 1`).
    pub retry: u32,
    /// Gap between checks after a failure.
    pub delay_before_retry: Duration,
    /// Weight 0 instead of removal.
    pub inhibit_on_failure: bool,
    /// Healthy weight needed.
    pub quorum: u32,
    /// Quorum hysteresis.
    pub hysteresis: u32,
    /// Used when the quorum is lost.
    pub sorry_server: Option<SocketAddr>,
    /// The real servers, in file order.
    pub real_servers: Vec<RealServerConfig>,
}

/// A validated real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerConfig {
    /// Address and port.
    pub addr: SocketAddr,
    /// Weight (0 = drained).
    pub weight: u32,
    /// Its checks; all must pass (none: always up, as in keepalived).
    pub checks: Vec<RealCheckConfig>,
}

/// One check of a real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RealCheckConfig {
    /// TCP connect.
    Tcp {
        /// Where to connect.
        addr: SocketAddr,
        /// Bound of one connect.
        timeout: Duration,
    },
    /// A command, keepalived's MISC_CHECK semantics.
    Misc {
        /// Program and arguments.
        argv: Vec<String>,
        /// Bound of one run; the child is killed after it.
        timeout: Duration,
        /// `misc_dynamic`.
        dynamic: bool,
    },
    /// PostgreSQL role and replication lag (vip-pg).
    Postgres(PgCheckConfig),
}

impl RealCheckConfig {
    /// The check's time bound.
    pub fn timeout(&self) -> Duration {
        match self {
            RealCheckConfig::Tcp { timeout, .. } | RealCheckConfig::Misc { timeout, .. } => {
                *timeout
            }
            RealCheckConfig::Postgres(p) => p.timeout,
        }
    }
}

/// Which PostgreSQL role a real server must have to be in the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgRole {
    /// A standby (in recovery) within the lag bound: the read VIP.
    Standby,
    /// The primary: the write VIP.
    Primary,
    /// Either, as long as it answers (and, in recovery, is within the lag bound).
    Any,
}

/// A validated `pg_check` (its `Debug` hides a password in the conninfo).
#[derive(Clone, PartialEq, Eq)]
pub struct PgCheckConfig {
    /// libpq connection string (may hold a password: never logged).
    pub conninfo: String,
    /// The role required.
    pub role: PgRole,
    /// Largest WAL received but not yet replayed, in bytes, for a standby to stay in.
    pub max_lag_bytes: Option<u64>,
    /// Bound of one check.
    pub timeout: Duration,
}

impl std::fmt::Debug for PgCheckConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCheckConfig")
            .field("conninfo", &vip_pg::redact::redact(&self.conninfo, None))
            .field("role", &self.role)
            .field("max_lag_bytes", &self.max_lag_bytes)
            .field("timeout", &self.timeout)
            .finish()
    }
}
