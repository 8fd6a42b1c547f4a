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
//! ```no_run
//! # async fn demo() -> Result<(), vip_vrrp::socket::TransportError> {
//! use vip_core::election::Version;
//! use vip_core::{Priority, Vip};
//! use vip_vrrp::socket::{Transport, TransportConfig};
//!
//! let vip = Vip::host("192.0.2.100".parse().unwrap(), "eth0");
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
