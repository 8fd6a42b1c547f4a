//! Peer identity.

use std::fmt;
use std::net::IpAddr;

/// A VRRP peer, identified by the primary IP address it sends adverts from (RFC 9568 uses this
/// address to break priority ties).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub IpAddr);

impl PeerId {
    /// The peer's primary address.
    pub fn addr(self) -> IpAddr {
        self.0
    }
}

impl From<IpAddr> for PeerId {
    fn from(addr: IpAddr) -> Self {
        PeerId(addr)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
