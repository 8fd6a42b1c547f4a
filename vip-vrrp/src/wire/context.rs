//! What validation and emission need from the IP layer and the configuration.

use std::net::IpAddr;

use vip_core::election::Version;

use super::{Auth, VridSet};

/// How the v3 checksum over IPv4 is computed when sending.
///
/// Receiving accepts both forms. v2 always covers the message only and v3 over IPv6 always
/// includes the pseudo-header; this setting does not change those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChecksumMode {
    /// Include the IPv4 pseudo-header, as keepalived 2.2.7 does (the default, for interop).
    #[default]
    PseudoHeader,
    /// Cover the VRRP message only, as RFC 9568 section 5.2.8 specifies for IPv4.
    MessageOnly,
}

/// What [`crate::wire::Repr::parse`] checks a received packet against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxContext {
    /// The IP source address (pseudo-header; the sender's primary address).
    pub src: IpAddr,
    /// The IP destination address (pseudo-header).
    pub dst: IpAddr,
    /// The IPv4 TTL or IPv6 hop limit the packet arrived with; must be 255.
    pub ttl: u8,
    /// The VRRP version configured on the interface.
    pub version: Version,
    /// v2: the configured authentication (ignored for v3).
    pub auth: Auth,
    /// The VRIDs configured on the interface.
    pub vrids: VridSet,
}

impl RxContext {
    /// A context for `version` and `vrids`, with placeholder addresses (IPv4 unspecified), TTL
    /// 255 and no authentication. Set the per-packet fields with [`RxContext::packet`].
    pub const fn new(version: Version, vrids: VridSet) -> RxContext {
        RxContext {
            src: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            ttl: 255,
            version,
            auth: Auth::None,
            vrids,
        }
    }

    /// This context with the v2 authentication `auth`.
    pub const fn with_auth(mut self, auth: Auth) -> RxContext {
        self.auth = auth;
        self
    }

    /// This context with the per-packet IP facts: source, destination and TTL / hop limit.
    pub const fn packet(mut self, src: IpAddr, dst: IpAddr, ttl: u8) -> RxContext {
        self.src = src;
        self.dst = dst;
        self.ttl = ttl;
        self
    }
}

/// What [`crate::wire::Repr::emit`] needs to write the checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxContext {
    /// The IP source address the packet will be sent from.
    pub src: IpAddr,
    /// The IP destination address (multicast group or unicast peer).
    pub dst: IpAddr,
    /// The v3/IPv4 checksum form.
    pub checksum: ChecksumMode,
}

impl TxContext {
    /// A context from `src` to `dst` with the default checksum form (pseudo-header).
    pub const fn new(src: IpAddr, dst: IpAddr) -> TxContext {
        TxContext {
            src,
            dst,
            checksum: ChecksumMode::PseudoHeader,
        }
    }

    /// This context with the checksum form `mode`.
    pub const fn with_checksum(mut self, mode: ChecksumMode) -> TxContext {
        self.checksum = mode;
        self
    }
}
