//! [`NodeConfig`]: every fact of one instance, stated once, and what each backend is told.

use std::net::IpAddr;
use std::time::Duration;

use vip_core::election::{ElectionConfig, FencePolicy, StopMode, Version};
use vip_core::{Interval, Priority, Vip, rules};
use vip_netlink::{AnnounceConfig, ManagerConfig};
use vip_vrrp::socket::{Mode, TransportConfig};
use vip_vrrp::wire::{Auth, ChecksumMode};

use crate::commands::notify::NotifyHook;

/// One VRRP instance on one interface: the facts an operator states, each once. The
/// transport, the election machine and the address manager are all told from here.
///
/// ```
/// use vip_node::NodeConfig;
///
/// let config = NodeConfig::new("db", "eth0", 51, vec!["198.51.100.10/24".parse().unwrap()])
///     .priority("150".parse().unwrap())
///     .advert_interval("100ms".parse().unwrap());
/// assert!(config.validate().is_ok());
/// // A VIP written without `dev` lives on the instance's interface.
/// assert_eq!(config.vips()[0].interface, "eth0");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    /// Unique name among the node's instances (logs, status, metrics).
    pub name: String,
    /// The interface adverts are sent and received on, and the VIPs' default interface.
    pub interface: String,
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// VRRP version (default 3).
    pub version: Version,
    /// Advertisement interval (default 1 s; v2: whole seconds).
    pub advert_interval: Interval,
    /// The VIPs, all of one address family.
    pub vips: Vec<Vip>,
    /// Base priority (default 100; 255 = address owner).
    pub priority: Priority,
    /// Preempt a lower-priority master (default true).
    pub preempt: bool,
    /// Delay after start before preempting.
    pub preempt_delay: Duration,
    /// Without an ownership arbiter: the kernel valid lifetime of a master's VIPs, refreshed
    /// with each advert (`ElectionConfig::vip_lifetime`); `None` = permanent.
    pub vip_lifetime: Option<Duration>,
    /// Source address of adverts; `None` = chosen by the transport (the interface's first IPv4
    /// address that is not a VIP, or its IPv6 link-local address).
    pub source: Option<IpAddr>,
    /// Unicast peers; empty = multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// VRRPv2 authentication (v3 has none).
    pub auth: Auth,
    /// VRRPv3-over-IPv4 checksum form sent (default: keepalived's pseudo-header form).
    pub checksum: ChecksumMode,
    /// Gratuitous ARP / unsolicited NA settings.
    pub announce: AnnounceConfig,
    /// When a claiming node runs its fencer.
    pub fence_policy: FencePolicy,
    /// What [`crate::NodeHandle::stop`] does by default with the VIPs.
    pub on_stop: StopMode,
    /// Commands run on each transition (see [`crate::commands::notify`]).
    pub notify: Vec<NotifyHook>,
}

/// A config the assembly refuses: the key at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct ConfigError {
    /// The [`NodeConfig`] field at fault (`vips[1]`, `advert_interval`, ...).
    pub key: String,
    /// What is wrong, with a hint.
    pub problem: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

impl From<vip_core::Error> for ConfigError {
    fn from(e: vip_core::Error) -> Self {
        match e {
            vip_core::Error::Config { key, problem } => ConfigError { key, problem },
            other => ConfigError::new("", other.to_string()),
        }
    }
}

impl NodeConfig {
    /// Instance `name`: VRID `vrid` on `interface` protecting `vips`, with the defaults
    /// (VRRPv3, 1 s, priority 100, preempt, multicast, release on stop). A VIP with an empty
    /// interface (parsed without `dev`) lives on `interface`.
    pub fn new(
        name: impl Into<String>,
        interface: impl Into<String>,
        vrid: u8,
        vips: Vec<Vip>,
    ) -> Self {
        NodeConfig {
            name: name.into(),
            interface: interface.into(),
            vrid,
            version: Version::V3,
            advert_interval: Interval::DEFAULT_ADVERT,
            vips,
            priority: Priority::DEFAULT,
            preempt: true,
            preempt_delay: Duration::ZERO,
            vip_lifetime: None,
            source: None,
            unicast_peers: Vec::new(),
            auth: Auth::None,
            checksum: ChecksumMode::default(),
            announce: AnnounceConfig::default(),
            fence_policy: FencePolicy::IfInUse,
            on_stop: StopMode::Release,
            notify: Vec::new(),
        }
    }

    /// With base priority `priority`.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// With advertisement interval `interval`.
    pub fn advert_interval(mut self, interval: Interval) -> Self {
        self.advert_interval = interval;
        self
    }

    /// With VRRP version `version`.
    pub fn version(mut self, version: Version) -> Self {
        self.version = version;
        self
    }

    /// Unicast to `peers` instead of multicast.
    pub fn unicast(mut self, peers: Vec<IpAddr>) -> Self {
        self.unicast_peers = peers;
        self
    }

    /// The VIPs, each with its interface (the instance's where the VIP names none).
    pub fn vips(&self) -> Vec<Vip> {
        self.vips
            .iter()
            .map(|v| {
                let mut v = v.clone();
                if v.interface.is_empty() {
                    v.interface.clone_from(&self.interface);
                }
                v
            })
            .collect()
    }

    /// True when the VIPs are IPv6 (an instance advertises one family).
    pub fn is_ipv6(&self) -> bool {
        self.vips.first().is_some_and(|v| !v.is_ipv4())
    }

    /// Checks every protocol rule that needs no I/O.
    ///
    /// # Errors
    /// The first problem found, naming its field: an empty name or interface, VRID 0, no VIPs,
    /// or one of [`NodeConfig::protocol_problems`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let missing = if self.name.trim().is_empty() {
            Some(ConfigError::new("name", "is empty"))
        } else if self.interface.is_empty() {
            Some(ConfigError::new("interface", "is empty"))
        } else if self.vrid == 0 {
            Some(ConfigError::new("vrid", "must be 1..=255"))
        } else if self.vips.is_empty() {
            Some(ConfigError::new("vips", "at least one VIP is needed"))
        } else {
            None
        };
        match missing.or_else(|| self.protocol_problems().into_iter().next()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every way the facts break the protocol's rules, each naming its field (for a config
    /// file's validator, which reports them all): VIPs of two families, IPv6 with VRRPv2, an
    /// interval the version cannot carry ([`vip_core::rules::advert_interval`]),
    /// authentication with v3, a source or unicast peer of the other family, a peer listed
    /// twice or equal to the source.
    pub fn protocol_problems(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        let ipv6 = self.is_ipv6();
        if let Some(first) = self.vips.first() {
            for (i, v) in self.vips.iter().enumerate() {
                let key = format!("vips[{i}]");
                if v.is_ipv4() != first.is_ipv4() {
                    out.push(ConfigError::new(
                        key,
                        format!(
                            "{} is not of the same family as {}; an instance advertises one \
                             address family (use a second instance)",
                            v.addr, first.addr
                        ),
                    ));
                } else if self.version == Version::V2 && !v.is_ipv4() {
                    out.push(ConfigError::new(
                        key,
                        format!(
                            "{} is IPv6, but VRRPv2 carries IPv4 only (use version = 3)",
                            v.addr
                        ),
                    ));
                }
            }
        }
        if let Err(e) = rules::check_advert_interval(self.version, self.advert_interval) {
            out.push(e.into());
        }
        if self.version == Version::V3 && self.auth != Auth::None {
            out.push(ConfigError::new("auth", "VRRPv3 has no authentication"));
        }
        if let Some(s) = self.source
            && s.is_ipv6() != ipv6
        {
            out.push(ConfigError::new(
                "source",
                format!("{s} is not of the VIPs' address family"),
            ));
        }
        for (i, p) in self.unicast_peers.iter().enumerate() {
            let key = format!("unicast_peers[{i}]");
            if p.is_ipv6() != ipv6 {
                out.push(ConfigError::new(
                    key,
                    format!("{p} is not of the VIPs' address family"),
                ));
            } else if Some(*p) == self.source {
                out.push(ConfigError::new(
                    key,
                    format!("{p} is this node's own source address"),
                ));
            } else if self.unicast_peers.get(..i).is_some_and(|s| s.contains(p)) {
                out.push(ConfigError::new(key, format!("{p} is listed twice")));
            }
        }
        out
    }

    /// What the VRRP transport is told.
    pub fn transport_config(&self) -> TransportConfig {
        let mut c =
            TransportConfig::new(self.interface.clone(), self.version, self.vrid, self.vips())
                .with_advert_interval(self.advert_interval)
                .with_checksum(self.checksum)
                .with_auth(self.auth);
        if !self.unicast_peers.is_empty() {
            c.mode = Mode::Unicast {
                peers: self.unicast_peers.clone(),
            };
        }
        c.source = self.source;
        c
    }

    /// What the address manager is told.
    pub fn manager_config(&self) -> ManagerConfig {
        ManagerConfig {
            announce: self.announce.clone(),
            ..ManagerConfig::default()
        }
    }

    /// What the election machine is told; `local_addr` is the adverts' source, which the
    /// transport chose. Fencing, role gating and checks are set by the backends attached
    /// (`vip_core::runtime::InstanceSpec`).
    pub fn election_config(&self, local_addr: IpAddr) -> ElectionConfig {
        let mut c = ElectionConfig::new(self.vrid, local_addr, self.vips());
        c.version = self.version;
        c.priority = self.priority;
        c.advert_interval = self.advert_interval;
        c.preempt = self.preempt;
        c.preempt_delay = self.preempt_delay;
        c.vip_lifetime = self.vip_lifetime;
        c.fence_policy = self.fence_policy;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> NodeConfig {
        NodeConfig::new("db", "eth0", 51, vec!["198.51.100.10/24".parse().unwrap()])
    }

    fn key(c: &NodeConfig) -> String {
        c.validate().map_or_else(|e| e.key, |()| "ok".into())
    }

    #[test]
    fn each_fact_reaches_every_backend() {
        let c = base()
            .advert_interval(Interval::from_centis(10))
            .unicast(vec!["198.51.100.2".parse().unwrap()]);
        assert_eq!(key(&c), "ok");
        let t = c.transport_config();
        assert_eq!(t.advert_interval, Interval::from_centis(10));
        assert_eq!(t.addresses, c.vips());
        assert!(t.validate().is_ok());
        let e = c.election_config("198.51.100.1".parse().unwrap());
        assert_eq!(e.advert_interval, Interval::from_centis(10));
        assert_eq!(e.vips, c.vips());
        assert_eq!(e.vrid, 51);
    }

    #[test]
    fn refusals_name_the_key() {
        assert_eq!(key(&NodeConfig { vrid: 0, ..base() }), "vrid");
        assert_eq!(
            key(&NodeConfig {
                vips: vec![],
                ..base()
            }),
            "vips"
        );
        let mut c = base();
        c.vips.push("2001:db8::1".parse().unwrap());
        assert_eq!(key(&c), "vips[1]");
        assert_eq!(
            key(&base().advert_interval(Interval::from_centis(5000))),
            "advert_interval"
        );
        assert_eq!(
            key(&base()
                .version(Version::V2)
                .advert_interval(Interval::from_centis(50))),
            "advert_interval"
        );
        assert_eq!(
            key(&base().unicast(vec!["2001:db8::2".parse().unwrap()])),
            "unicast_peers[0]"
        );
        let mut c = base().unicast(vec!["198.51.100.2".parse().unwrap()]);
        c.source = Some("198.51.100.2".parse().unwrap());
        assert_eq!(key(&c), "unicast_peers[0]");
    }
}
