//! The virtual IP address type.

use std::fmt;
use std::net::IpAddr;

/// A virtual IP address: an address with its prefix length, the interface it lives on, and an
/// optional label (IPv4 only, as the kernel supports labels only there).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vip {
    /// The address itself.
    pub addr: IpAddr,
    /// Prefix length; /32 and /128 are the usual choices for a floating address.
    pub prefix_len: u8,
    /// Name of the interface that carries the address.
    pub interface: String,
    /// Optional IPv4 address label (for example `eth0:vip`).
    pub label: Option<String>,
}

impl Vip {
    /// A host VIP (/32 or /128) on `interface`, without a label.
    pub fn host(addr: IpAddr, interface: impl Into<String>) -> Self {
        let prefix_len = if addr.is_ipv4() { 32 } else { 128 };
        Vip {
            addr,
            prefix_len,
            interface: interface.into(),
            label: None,
        }
    }

    /// A VIP with an explicit prefix length.
    pub fn with_prefix(addr: IpAddr, prefix_len: u8, interface: impl Into<String>) -> Self {
        Vip {
            addr,
            prefix_len,
            interface: interface.into(),
            label: None,
        }
    }

    /// The largest prefix length valid for this address family.
    pub fn max_prefix_len(&self) -> u8 {
        if self.addr.is_ipv4() { 32 } else { 128 }
    }

    /// True if the address is IPv4.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} dev {}",
            self.addr, self.prefix_len, self.interface
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_prefix_follows_family() {
        assert_eq!(
            Vip::host("198.51.100.10".parse().unwrap(), "eth0").prefix_len,
            32
        );
        assert_eq!(
            Vip::host("2001:db8::10".parse().unwrap(), "eth0").prefix_len,
            128
        );
        assert_eq!(
            Vip::host("198.51.100.10".parse().unwrap(), "eth0").to_string(),
            "198.51.100.10/32 dev eth0"
        );
    }
}
