//! Our own addresses: the interface's index and source address, and the namespace's addresses
//! (to ignore our own packets), refreshed at most once a second, and for a steady peer at most
//! once a minute.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use vip_core::Vip;

use super::{TransportError, sys};
use crate::wire::AddressFamily;

/// How long a snapshot of the local addresses is trusted.
const REFRESH: Duration = Duration::from_secs(1);
/// How long a source found not to be ours is trusted to stay foreign. A backup hears the same
/// master ten times a second at 10 cs; re-reading every address of the namespace (a netlink
/// dump) for each of its adverts would cost more than the rest of the receive path.
const FOREIGN_TRUST: Duration = Duration::from_secs(60);

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
    /// The last source found not to be ours, and when the snapshot that said so was taken.
    foreign: Option<(IpAddr, Instant)>,
}

impl LocalAddresses {
    pub(crate) fn new(initial: Vec<IpAddr>) -> Self {
        LocalAddresses {
            inner: Mutex::new(Snapshot {
                addrs: initial,
                taken: None,
                foreign: None,
            }),
        }
    }

    /// True if `addr` is one of our addresses (refreshing a stale snapshot first). If the list
    /// cannot be read, the last one is used.
    pub(crate) fn contains(&self, addr: IpAddr) -> bool {
        self.contains_at(addr, Instant::now(), || {
            sys::interface_addresses()
                .ok()
                .map(|list| list.into_iter().map(|(_, a)| a).collect())
        })
    }

    /// [`LocalAddresses::contains`] at `now`, reading the addresses with `list` when the
    /// snapshot is stale (`None`: keep the last one).
    fn contains_at(
        &self,
        addr: IpAddr,
        now: Instant,
        list: impl FnOnce() -> Option<Vec<IpAddr>>,
    ) -> bool {
        let mut snap = match self.inner.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((known, at)) = snap.foreign
            && known == addr
            && now.saturating_duration_since(at) < FOREIGN_TRUST
        {
            return false;
        }
        let taken = match snap.taken {
            Some(t) if now.saturating_duration_since(t) < REFRESH => t,
            _ => {
                if let Some(addrs) = list() {
                    snap.addrs = addrs;
                }
                snap.taken = Some(now);
                now
            }
        };
        let ours = snap.addrs.contains(&addr);
        if !ours {
            snap.foreign = Some((addr, taken));
        }
        ours
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::cell::Cell;

    use super::*;

    const OURS: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));
    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 2));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 3));

    /// Asks `local` about `addr` at `t0 + ms`, counting the address dumps in `dumps`, with
    /// `addrs` as the namespace's addresses.
    fn ask(
        local: &LocalAddresses,
        t0: Instant,
        ms: u64,
        addr: IpAddr,
        addrs: &[IpAddr],
        dumps: &Cell<u32>,
    ) -> bool {
        local.contains_at(addr, t0 + Duration::from_millis(ms), || {
            dumps.set(dumps.get() + 1);
            Some(addrs.to_vec())
        })
    }

    #[test]
    fn a_steady_peer_costs_one_address_dump_a_minute() {
        let (local, t0, dumps) = (
            LocalAddresses::new(vec![OURS]),
            Instant::now(),
            Cell::new(0),
        );
        // 10 cs adverts from the same peer for 59.9 s: one dump.
        for i in 0..600 {
            assert!(!ask(&local, t0, i * 100, PEER, &[OURS], &dumps));
        }
        assert_eq!(dumps.get(), 1);
        // After a minute the peer is checked again (it could have become ours).
        assert!(ask(&local, t0, 60_000, PEER, &[OURS, PEER], &dumps));
        assert_eq!(dumps.get(), 2);
    }

    #[test]
    fn a_new_source_is_checked_against_a_snapshot_at_most_a_second_old() {
        let (local, t0, dumps) = (
            LocalAddresses::new(vec![OURS]),
            Instant::now(),
            Cell::new(0),
        );
        assert!(!ask(&local, t0, 0, PEER, &[OURS], &dumps));
        // Another source within the second: the same snapshot answers.
        assert!(!ask(&local, t0, 500, OTHER, &[OURS, OTHER], &dumps));
        assert_eq!(dumps.get(), 1);
        // Our own address is ours; once the snapshot is stale, a source other than the last
        // foreign one brings a new dump.
        assert!(ask(&local, t0, 600, OURS, &[OURS, OTHER], &dumps));
        assert!(ask(&local, t0, 1_600, PEER, &[OURS, PEER], &dumps));
        assert_eq!(dumps.get(), 2);
    }

    #[test]
    fn an_unreadable_list_keeps_the_last_one() {
        let local = LocalAddresses::new(vec![OURS]);
        let t0 = Instant::now();
        assert!(local.contains_at(OURS, t0, || None));
        assert!(!local.contains_at(PEER, t0, || None));
    }

    #[test]
    fn the_namespace_loopback_address_is_ours() {
        let local = LocalAddresses::new(Vec::new());
        assert!(local.contains(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)));
        assert!(!local.contains(IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 77))));
    }
}
