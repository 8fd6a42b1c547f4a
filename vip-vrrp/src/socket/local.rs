//! Our own addresses: the interface's index and source address, and the namespace's addresses
//! (to ignore our own packets), refreshed at most once a second.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use vip_core::Vip;

use super::{TransportError, sys};
use crate::wire::AddressFamily;

/// How long a snapshot of the local addresses is trusted.
const REFRESH: Duration = Duration::from_secs(1);

/// The index of `interface`, or [`TransportError::InterfaceNotFound`].
pub(crate) fn if_index(interface: &str) -> Result<u32, TransportError> {
    sys::if_index(interface).map_err(|e| match e.raw_os_error() {
        Some(libc::ENODEV) | Some(libc::ENXIO) => TransportError::InterfaceNotFound {
            interface: interface.to_string(),
        },
        _ if e.kind() == std::io::ErrorKind::InvalidInput => TransportError::InterfaceNotFound {
            interface: interface.to_string(),
        },
        _ => TransportError::io(format!("looking up interface {interface}"))(e),
    })
}

/// The default source address of `interface`: its first IPv4 address that is not one of
/// `vips`, or its IPv6 link-local address.
pub(crate) fn default_source(
    interface: &str,
    family: AddressFamily,
    vips: &[Vip],
) -> Result<IpAddr, TransportError> {
    let addrs =
        sys::interface_addresses().map_err(TransportError::io("listing interface addresses"))?;
    let mut on_if = addrs
        .iter()
        .filter(|(n, _)| n == interface)
        .map(|(_, a)| *a);
    let found = match family {
        AddressFamily::Ipv4 => on_if.find(|a| a.is_ipv4() && !vips.iter().any(|v| v.addr == *a)),
        AddressFamily::Ipv6 => on_if.find(|a| matches!(a, IpAddr::V6(v6) if is_link_local(v6))),
    };
    found.ok_or_else(|| TransportError::NoSourceAddress {
        interface: interface.to_string(),
        what: match family {
            AddressFamily::Ipv4 => "IPv4",
            AddressFamily::Ipv6 => "IPv6 link-local",
        },
    })
}

/// Checks that `source` is an address of this host (of any interface).
pub(crate) fn check_source(source: IpAddr) -> Result<(), TransportError> {
    let addrs =
        sys::interface_addresses().map_err(TransportError::io("listing interface addresses"))?;
    if addrs.iter().any(|(_, a)| *a == source) {
        Ok(())
    } else {
        Err(TransportError::Config {
            key: "source",
            problem: format!(
                "{source} is not an address of this host (hint: add it first, or fix the \
                 source address)"
            ),
        })
    }
}

/// fe80::/10.
pub(crate) fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// A cached list of every address of the namespace the transport was created in.
///
/// The list is read with `getifaddrs` in the calling thread's namespace, so the transport must
/// be polled from a thread in the same namespace as its sockets (the normal case).
#[derive(Debug)]
pub(crate) struct LocalAddresses {
    inner: Mutex<Snapshot>,
}

#[derive(Debug)]
struct Snapshot {
    addrs: Vec<IpAddr>,
    taken: Option<Instant>,
}

impl LocalAddresses {
    pub(crate) fn new(initial: Vec<IpAddr>) -> Self {
        LocalAddresses {
            inner: Mutex::new(Snapshot {
                addrs: initial,
                taken: None,
            }),
        }
    }

    /// True if `addr` is one of our addresses (refreshing a stale snapshot first). If the list
    /// cannot be read, the last one is used.
    pub(crate) fn contains(&self, addr: IpAddr) -> bool {
        let mut snap = match self.inner.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if snap.taken.is_none_or(|t| t.elapsed() >= REFRESH) {
            if let Ok(list) = sys::interface_addresses() {
                snap.addrs = list.into_iter().map(|(_, a)| a).collect();
            }
            snap.taken = Some(Instant::now());
        }
        snap.addrs.contains(&addr)
    }
}
