//! The validated configuration: typed, every value in range, ready for the builders.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vip_core::election::Version;
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
    pub virtual_servers: Vec<super::VirtualServerConfig>,
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
