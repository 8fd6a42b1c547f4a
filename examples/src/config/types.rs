//! The validated configuration: typed, every value in range, ready for the builders.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use vip_core::election::{CheckSpec, ElectionConfig, FencePolicy, State, StopMode, Version};
use vip_core::{Interval, Priority, Vip};

/// The default control socket path.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/vipd/vipd.sock";

/// A whole, validated config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `[global]`.
    pub global: GlobalConfig,
    /// `[[instance]]`, in file order.
    pub instances: Vec<InstanceConfig>,
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
        format!(
            "config ok: {} instance{}: {}",
            self.instances.len(),
            if self.instances.len() == 1 { "" } else { "s" },
            list.join(", ")
        )
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

/// The checksum form of VRRPv3 over IPv4 adverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// With the IPv4 pseudo-header, as keepalived 2.2.7 sends (the default).
    #[default]
    Keepalived,
    /// Over the VRRP message only, as RFC 9568 section 5.2.8 says.
    Rfc,
}

/// Which gratuitous ARP form is sent for IPv4 VIPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GarpFormConfig {
    /// ARP request, sender = target = VIP (what keepalived sends; the default).
    #[default]
    Request,
    /// ARP reply (what `arping -A` sends).
    Reply,
    /// Both, request first.
    Both,
}

/// Gratuitous ARP / unsolicited NA settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpConfig {
    /// IPv4 gratuitous ARP form.
    pub form: GarpFormConfig,
    /// Messages sent per announcement (keepalived `vrrp_garp_master_repeat`, default 5).
    pub repeat: u32,
    /// Gap between the messages of one announcement (default 0).
    pub interval: Duration,
    /// Re-announce this often while master; `None` = never (the default).
    pub refresh: Option<Duration>,
}

impl Default for GarpConfig {
    fn default() -> Self {
        GarpConfig {
            form: GarpFormConfig::Request,
            repeat: 5,
            interval: Duration::ZERO,
            refresh: None,
        }
    }
}

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
    /// keepalived weight semantics (see [`CheckSpec`]).
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
    /// Program and arguments with placeholders (see [`crate::commands::fence::PLACEHOLDERS`]).
    pub argv: Vec<String>,
    /// Time bound; the child is killed after it and fencing counts as failed.
    pub timeout: Duration,
    /// When to fence.
    pub policy: FencePolicy,
}

/// A notify hook: a command run on transitions, awaited with a timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyHook {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Time bound; the child is killed after it.
    pub timeout: Duration,
    /// Run only for transitions into these states; empty = every transition.
    pub on: Vec<State>,
}

/// One `[[instance]]`: a VRID on an interface with its VIPs.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceConfig {
    /// Unique name.
    pub name: String,
    /// Interface adverts are sent and received on.
    pub interface: String,
    /// Virtual router id.
    pub vrid: u8,
    /// VRRP version.
    pub version: Version,
    /// Base priority (255 = address owner).
    pub priority: Priority,
    /// Advertisement interval.
    pub advert_interval: Interval,
    /// Preempt mode.
    pub preempt: bool,
    /// Delay after start before preempting.
    pub preempt_delay: Duration,
    /// Source address of adverts; `None` = the interface's primary address of the VIPs' family.
    pub source: Option<IpAddr>,
    /// Unicast peers; empty = multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// VRRPv2 simple-text password.
    pub auth: Option<String>,
    /// VRRPv3-over-IPv4 checksum form.
    pub checksum: ChecksumMode,
    /// The VIPs.
    pub vips: Vec<Vip>,
    /// Announcement settings.
    pub garp: GarpConfig,
    /// What a graceful stop does with the VIPs.
    pub on_stop: StopMode,
    /// Tracked checks.
    pub checks: Vec<CheckConfig>,
    /// Role probe.
    pub role: Option<RoleConfig>,
    /// Fencer.
    pub fencer: Option<FencerConfig>,
    /// Notify hooks, run in order.
    pub notify: Vec<NotifyHook>,
}

impl InstanceConfig {
    /// True when the VIPs are IPv6 (an instance advertises one family).
    pub fn is_ipv6(&self) -> bool {
        self.vips.first().is_some_and(|v| !v.is_ipv4())
    }

    /// The address adverts are sent from: `source` if configured, else the first address of
    /// the VIPs' family among `interface_addrs` (for IPv6, the link-local one first, as
    /// RFC 9568 section 5.1.2.1 requires).
    pub fn resolve_source(&self, interface_addrs: &[IpAddr]) -> Option<IpAddr> {
        if let Some(s) = self.source {
            return Some(s);
        }
        if self.is_ipv6() {
            let v6 = || interface_addrs.iter().filter(|a| a.is_ipv6());
            v6().find(|a| is_link_local_v6(a))
                .or_else(|| v6().next())
                .copied()
        } else {
            interface_addrs.iter().find(|a| a.is_ipv4()).copied()
        }
    }

    /// The election machine's config. `local_addr` is the adverts' source address (see
    /// [`InstanceConfig::resolve_source`]).
    pub fn to_election_config(&self, local_addr: IpAddr) -> ElectionConfig {
        let mut c = ElectionConfig::new(self.vrid, local_addr, self.vips.clone());
        c.version = self.version;
        c.priority = self.priority;
        c.advert_interval = self.advert_interval;
        c.preempt = self.preempt;
        c.preempt_delay = self.preempt_delay;
        c.role_gated = self.role.is_some();
        c.checks = self
            .checks
            .iter()
            .map(|k| CheckSpec { weight: k.weight })
            .collect();
        c.fencing = self.fencer.is_some();
        c.fence_policy = self
            .fencer
            .as_ref()
            .map(|f| f.policy)
            .unwrap_or(FencePolicy::IfInUse);
        c
    }
}

fn is_link_local_v6(a: &IpAddr) -> bool {
    match a {
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
        IpAddr::V4(_) => false,
    }
}
