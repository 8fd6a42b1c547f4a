//! The raw-socket VRRP transport: sends and receives the adverts of one instance on one
//! interface, IPv4 or IPv6, multicast or unicast, driven by tokio without blocking.
//!
//! - Build: [`TransportConfig`] (interface, version, VRID, interval, VIPs, v2 auth, v3/IPv4
//!   checksum form, [`Mode`], optional source) and [`Transport::new`], inside a tokio runtime
//!   with I/O enabled, on a thread in the interface's network namespace.
//! - Receive: [`Transport::recv`] returns only valid adverts ([`Received`]: the decoded
//!   [`crate::wire::Repr`], source, destination and the election's
//!   [`vip_core::election::Advert`]); everything else is dropped and counted by
//!   [`DropReason`]. [`Transport::forward`] loops `recv` into a runtime
//!   [`vip_core::runtime::InstanceHandle`].
//! - Send: [`Transport::send`] (our advert at a priority), [`Transport::send_repr`], and the
//!   [`vip_core::runtime::AdvertSink`] implementation the runtime uses.
//! - Count: [`Transport::stats`] gives an `Arc<`[`TransportStats`]`>`; its
//!   [`TransportStats::snapshot`] has sent, received, accepted, send errors, address and
//!   interval mismatches, and drops by reason (stable labels from [`DropReason::as_str`]).
//!
//! # One receive path per interface and family
//!
//! Transports share their receiving: every transport on the same interface and address family
//! (in the same network namespace) attaches to one [`Receiver`], which owns one raw socket and
//! one thread. The thread reads each VRRP packet once, validates it against the transport it
//! concerns (by VRID; among unicast transports of one VRID, by source) and queues it for that
//! transport's instance. So N instances on an interface cost one socket, one thread and one
//! validation per packet, where N sockets would each read every packet (N² work).
//!
//! For an embedder nothing changes: [`Transport::new`] opens the receive path of its
//! interface and family, or attaches to the open one; the path closes when its last transport
//! is dropped. Give the transport to the runtime as three roles, all the same `Arc`:
//!
//! - [`InstanceSpec::advert_source`](vip_core::runtime::InstanceSpec::advert_source): the
//!   instance reads its queue ([`Transport::poll_recv`]);
//! - the spec's advert sink ([`vip_core::runtime::AdvertSink`]);
//! - [`InstanceSpec::steady_loop`](vip_core::runtime::InstanceSpec::steady_loop), when
//!   [`Transport::supports_steady`]: an idle instance hands its adverts (a master's sends, a
//!   backup's receptions) to the receive path's thread under a lease
//!   ([`vip_core::runtime::steady`]), so every idle instance of the interface runs on that one
//!   thread and the async runtime sleeps.
//!
//! Counters: what concerns an instance (its accepted adverts and its drops: own packets, not a
//! peer, codec rejections, a full queue) is in [`Transport::stats`]; what concerns none (a
//! VRID no transport has, an unreadable IP header, receive errors) is in the receive path's
//! [`Receiver::stats`] ([`Transport::receiver`]). Add both to get every drop on an interface.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vip_vrrp::socket::TransportError> {
//! use vip_core::election::Version;
//! use vip_core::{Priority, Vip};
//! use vip_vrrp::socket::{Transport, TransportConfig};
//!
//! let vip = Vip::host("198.51.100.100".parse().unwrap(), "eth0");
//! let transport = Transport::new(TransportConfig::new("eth0", Version::V3, 51, vec![vip]))?;
//! transport.send(Priority::new(150)).await?;
//! let received = transport.recv().await?; // only valid adverts; drops are counted
//! println!("{} says {}", received.source, received.advert.priority);
//! println!("{:?}", transport.stats().snapshot());
//! # Ok(()) }
//! ```

mod config;
mod endpoint;
mod error;
mod ipv4;
mod local;
mod mismatch;
mod receiver;
mod sink;
mod stats;
mod steady;
mod sys;
mod transport;

pub use config::{Mode, TransportConfig};
pub use error::TransportError;
pub use receiver::Receiver;
pub use stats::{DropReason, StatsSnapshot, TransportStats};
pub use transport::{Received, Transport, VRRP_GROUP_V4, VRRP_GROUP_V6};
