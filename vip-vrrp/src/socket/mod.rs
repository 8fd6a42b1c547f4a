//! The raw-socket VRRP transport: sends and receives the adverts of one instance on one
//! interface, IPv4 or IPv6, multicast or unicast, driven by tokio without blocking.
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
mod error;
mod ipv4;
mod local;
mod mismatch;
#[cfg(feature = "runtime")]
mod runtime;
mod stats;
mod sys;
mod transport;

pub use config::{Mode, TransportConfig};
pub use error::TransportError;
pub use stats::{DropReason, StatsSnapshot, TransportStats};
pub use transport::{Received, Transport, VRRP_GROUP_V4, VRRP_GROUP_V6};
