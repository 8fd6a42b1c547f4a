//! [`TransportConfig`]: what one transport sends and accepts.

use std::net::IpAddr;

use vip_core::election::Version;
use vip_core::{Interval, Vip};

use super::TransportError;
use crate::wire::{AddressFamily, Auth, ChecksumMode};

/// How adverts travel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    /// To the VRRP group (224.0.0.18 or ff02::12), joined on the interface.
    #[default]
    Multicast,
    /// One copy to each peer; adverts from any other source are dropped and counted.
    Unicast {
        /// The peers' addresses (their advert source addresses).
        peers: Vec<IpAddr>,
    },
}

/// The configuration of one transport: one VRRP instance on one interface.
///
/// ```
/// use vip_core::election::Version;
/// use vip_core::{Interval, Vip};
/// use vip_vrrp::socket::TransportConfig;
/// use vip_vrrp::wire::Auth;
///
/// let vip = Vip::host("198.51.100.100".parse().unwrap(), "eth0");
/// let config = TransportConfig::new("eth0", Version::V2, 51, vec![vip])
///     .with_advert_interval(Interval::from_secs(1))
///     .with_auth(Auth::simple(b"1111").unwrap());
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// The interface adverts are sent and received on.
    pub interface: String,
    /// VRRP version. v2 runs over IPv4 only.
    pub version: Version,
    /// Virtual router id.
    pub vrid: u8,
    /// The advertisement interval sent (v2: whole seconds).
    pub advert_interval: Interval,
    /// The virtual addresses advertised, all of one family (which is the transport's family).
    pub addresses: Vec<Vip>,
    /// v2 authentication (`Auth::Simple` is keepalived's `auth_type PASS`); must be
    /// `Auth::None` for v3.
    pub auth: Auth,
    /// The v3/IPv4 checksum form sent (default: keepalived's pseudo-header form). Received
    /// adverts are accepted in either form.
    pub checksum: ChecksumMode,
    /// Multicast or unicast.
    pub mode: Mode,
    /// The source address of sent adverts. Default: the interface's first IPv4 address that is
    /// not a VIP, or its IPv6 link-local address.
    pub source: Option<IpAddr>,
}

impl TransportConfig {
    /// A multicast configuration with the default interval (1 s), no authentication and the
    /// pseudo-header checksum form.
    pub fn new(
        interface: impl Into<String>,
        version: Version,
        vrid: u8,
        addresses: Vec<Vip>,
    ) -> TransportConfig {
        TransportConfig {
            interface: interface.into(),
            version,
            vrid,
            advert_interval: Interval::DEFAULT_ADVERT,
            addresses,
            auth: Auth::None,
            checksum: ChecksumMode::default(),
            mode: Mode::Multicast,
            source: None,
        }
    }

    /// This configuration with advertisement interval `interval`.
    pub fn with_advert_interval(mut self, interval: Interval) -> Self {
        self.advert_interval = interval;
        self
    }

    /// This configuration with v2 authentication `auth`.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// This configuration with the v3/IPv4 checksum form `mode`.
    pub fn with_checksum(mut self, mode: ChecksumMode) -> Self {
        self.checksum = mode;
        self
    }

    /// This configuration in unicast mode with `peers`, sending from `source`.
    pub fn with_unicast(mut self, source: IpAddr, peers: Vec<IpAddr>) -> Self {
        self.mode = Mode::Unicast { peers };
        self.source = Some(source);
        self
    }

    /// This configuration sending from `source`.
    pub fn with_source(mut self, source: IpAddr) -> Self {
        self.source = Some(source);
        self
    }

    /// The address family of the transport (the family of its addresses).
    ///
    /// # Errors
    /// As [`TransportConfig::validate`].
    pub fn family(&self) -> Result<AddressFamily, TransportError> {
        let first = self
            .addresses
            .first()
            .ok_or_else(|| config_error("addresses", "at least one virtual address is needed"))?;
        Ok(AddressFamily::of(first.addr))
    }

    /// Checks the configuration and returns its address family.
    ///
    /// # Errors
    /// [`TransportError::Config`] naming the key at fault: no or mixed-family addresses, v2
    /// over IPv6, authentication with v3, a zero or unrepresentable interval, a unicast mode
    /// without peers, or a peer or source of the other family.
    pub fn validate(&self) -> Result<AddressFamily, TransportError> {
        if self.interface.is_empty() {
            return Err(config_error("interface", "empty interface name"));
        }
        let family = self.family()?;
        if let Some(vip) = self
            .addresses
            .iter()
            .find(|v| AddressFamily::of(v.addr) != family)
        {
            return Err(config_error(
                "addresses",
                format!(
                    "{} is not of the same family as the first address",
                    vip.addr
                ),
            ));
        }
        if self.addresses.len() > 255 {
            return Err(config_error("addresses", "at most 255 addresses"));
        }
        match self.version {
            Version::V2 if family != AddressFamily::Ipv4 => {
                return Err(config_error("version", "VRRPv2 runs over IPv4 only"));
            }
            Version::V3 if self.auth != Auth::None => {
                return Err(config_error("auth", "VRRPv3 has no authentication"));
            }
            _ => {}
        }
        // The interval each version can carry is a protocol rule stated once, in vip-core.
        if let Err(e) = vip_core::rules::check_advert_interval(self.version, self.advert_interval) {
            let problem = match e {
                vip_core::Error::Config { problem, .. } => problem,
                other => other.to_string(),
            };
            return Err(config_error("advert_interval", problem));
        }
        if let Mode::Unicast { peers } = &self.mode {
            if peers.is_empty() {
                return Err(config_error(
                    "peers",
                    "unicast mode needs at least one peer",
                ));
            }
            if let Some(p) = peers.iter().find(|p| AddressFamily::of(**p) != family) {
                return Err(config_error(
                    "peers",
                    format!("peer {p} is not of the addresses' family"),
                ));
            }
        }
        if let Some(src) = self.source
            && AddressFamily::of(src) != family
        {
            return Err(config_error(
                "source",
                format!("{src} is not of the addresses' family"),
            ));
        }
        Ok(family)
    }
}

fn config_error(key: &'static str, problem: impl Into<String>) -> TransportError {
    TransportError::Config {
        key,
        problem: problem.into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vip(s: &str) -> Vip {
        Vip::host(s.parse().unwrap(), "eth0")
    }

    #[test]
    fn rejects_inconsistent_configs() {
        let v4 = TransportConfig::new("eth0", Version::V3, 1, vec![vip("198.51.100.1")]);
        assert_eq!(v4.validate().unwrap(), AddressFamily::Ipv4);
        let key = |c: TransportConfig| match c.validate() {
            Err(TransportError::Config { key, .. }) => key,
            other => panic!("expected a config error, got {other:?}"),
        };
        assert_eq!(
            key(TransportConfig::new("eth0", Version::V3, 1, vec![])),
            "addresses"
        );
        assert_eq!(
            key(TransportConfig::new(
                "eth0",
                Version::V3,
                1,
                vec![vip("198.51.100.1"), vip("2001:db8::1")]
            )),
            "addresses"
        );
        assert_eq!(
            key(TransportConfig::new(
                "eth0",
                Version::V2,
                1,
                vec![vip("2001:db8::1")]
            )),
            "version"
        );
        assert_eq!(
            key(v4.clone().with_advert_interval(Interval::from_centis(0))),
            "advert_interval"
        );
        assert_eq!(
            key(
                TransportConfig::new("eth0", Version::V2, 1, vec![vip("198.51.100.1")])
                    .with_advert_interval(Interval::from_centis(150))
            ),
            "advert_interval"
        );
        assert_eq!(
            key(v4.clone().with_auth(Auth::simple(b"x").unwrap())),
            "auth"
        );
        assert_eq!(
            key(v4
                .clone()
                .with_unicast("198.51.100.2".parse().unwrap(), vec![])),
            "peers"
        );
        assert_eq!(
            key(v4.clone().with_unicast(
                "198.51.100.2".parse().unwrap(),
                vec!["2001:db8::2".parse().unwrap()]
            )),
            "peers"
        );
        assert_eq!(
            key(v4.with_source("2001:db8::2".parse().unwrap())),
            "source"
        );
    }
}
