//! vip-netlink: the Linux backend of vip.
//!
//! - [`NetlinkAddressManager`] implements [`vip_core::AddressManager`]: it adds, removes and
//!   lists VIPs over rtnetlink (no `ip` command), announces them (gratuitous ARP, unsolicited
//!   neighbour advertisements) and probes whether another host holds them, over AF_PACKET.
//! - [`Watcher`] (from [`NetlinkAddressManager::watch`]) reports link up/down and the removal of
//!   our VIPs by someone else as [`WatchEvent`]s.
//!
//! # Namespaces and runtime
//!
//! Netlink and packet sockets belong to the network namespace of the thread that creates them.
//! Create the manager (and its watchers) inside a tokio runtime, on a thread in the namespace
//! whose interfaces it manages; it keeps working there whatever thread polls it later.
//!
//! # Our addresses and the administrator's
//!
//! Every address the manager adds carries a [`Tag`]: `IFA_PROTO` = [`VIP_IFA_PROTO`] (0x76) on
//! kernels 6.0 and later, `IFA_RT_PRIORITY` = [`VIP_IFA_RT_PRIORITY`] before. `list` returns
//! tagged addresses only; `remove` deletes tagged addresses only; `add` of an address that an
//! administrator already configured succeeds and leaves it untouched (and untagged).
//!
//! `add` and `remove` are idempotent (EEXIST and EADDRNOTAVAIL/ENOENT are success; removing from
//! a missing interface is success, as the address cannot be there). IPv6 VIPs get `nodad`;
//! `noprefixroute` is [`ManagerConfig::noprefixroute`]; labels (IPv4) come from [`vip_core::Vip`].
//!
//! Errors: ENODEV gives [`vip_core::Error::InterfaceNotFound`] (the name-to-index cache is
//! invalidated and the call retried once first); EPERM/EACCES give
//! [`vip_core::Error::PermissionDenied`] with a hint naming CAP_NET_ADMIN (netlink) or
//! CAP_NET_RAW (packet sockets); EADDRNOTAVAIL on add gives
//! [`vip_core::Error::AddressNotAvailable`]; anything else [`vip_core::Error::Os`] with the errno.
//!
//! # Least privilege
//!
//! Everything works with two capabilities and no other root power: CAP_NET_ADMIN (adding and
//! removing addresses over netlink) and CAP_NET_RAW (the AF_PACKET sockets of the announcer and
//! the probe). Reading link state and subscribing to notifications needs neither. Under systemd:
//!
//! ```text
//! [Service]
//! User=vip
//! AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW
//! CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW
//! NoNewPrivileges=yes
//! ```
//!
//! # Neighbours that learn the new holder
//!
//! Linux updates an existing neighbour entry from a gratuitous ARP whatever `arp_accept` says
//! (`arp_accept` only decides whether unsolicited ARP may *create* an entry): the kernel
//! overrides the entry's MAC when the ARP is gratuitous (sender IP = target IP, and for a reply
//! also target MAC = sender MAC, which is why the reply form is sent that way) or when the entry
//! is older than `locktime` (1 s by default). Clients that never talked to the VIP have no entry
//! and need none. An IPv6
//! unsolicited NA with the Override flag replaces the link-layer address of an existing entry
//! (RFC 4861 7.2.5) and never creates one.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod announce;
mod config;
mod eager;
mod errno;
#[cfg(feature = "runtime")]
mod feed;
mod held;
mod links;
mod manager;
mod packet_socket;
mod probe;
mod shared;
mod tag;
mod watcher;
mod wire;

pub use config::{AnnounceConfig, GarpForm, ManagerConfig, ProbeConfig};
pub use manager::NetlinkAddressManager;
pub use tag::{Tag, VIP_IFA_PROTO, VIP_IFA_RT_PRIORITY};
pub use watcher::{WatchEvent, Watcher};
