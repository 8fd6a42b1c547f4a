//! vip-core: the domain types, the backend traits and the election machine of vip, which keeps a
//! floating virtual IP on exactly one healthy node.
//!
//! - Types: [`Vip`], [`Priority`], [`Interval`], [`Role`], [`PeerId`], [`Timestamp`].
//! - Backend traits: [`AddressManager`], [`RoleProbe`], [`Fencer`], and the optional
//!   [`OwnershipArbiter`] (mockall mocks behind the `mock` feature).
//! - [`election`]: the sans-IO VRRP election machine (no tokio, no sockets, no clock).
//! - `runtime` (default feature): the tokio runtime that drives instances through the traits.
//! - `sim` (feature): a deterministic multi-node simulator for tests.
//!
//! # Driving the election machine yourself
//!
//! The machine never reads a clock nor touches the network: you pass the time in, carry out the
//! actions it returns, and feed their results back. This is what the `runtime` feature does with
//! tokio; any other event loop can do the same.
//!
//! ```
//! use std::net::IpAddr;
//! use vip_core::election::{Action, Election, ElectionConfig, EventKind, Input, State};
//! use vip_core::{InUse, Timestamp, Vip};
//!
//! let local: IpAddr = "198.51.100.10".parse().unwrap();
//! let vip = Vip::host("198.51.100.100".parse().unwrap(), "eth0");
//! let config = ElectionConfig::new(51, local, vec![vip.clone()]);
//! let mut election = Election::new(config, 0x5eed);
//!
//! // Start at t = 0: no master is heard, so the node waits Master_Down_Interval
//! // (3 x 1 s + Skew_Time 0.6 s = 3.6 s at priority 100) as a Backup.
//! election.handle(Timestamp::ZERO, Input::Start);
//! assert_eq!(election.state(), State::Backup);
//!
//! // A tiny driver: fire timers when due and answer the machine's requests. Here the in-use
//! // probe always finds the VIP free and every address operation succeeds.
//! let mut held = Vec::new();
//! while let Some(deadline) = election.poll_timeout() {
//!     if deadline > Timestamp::from_millis(10_000) {
//!         break;
//!     }
//!     let now = deadline; // time passes: nobody advertises
//!     election.handle(now, Input::Timer);
//!     while let Some(action) = election.poll_action() {
//!         match action {
//!             Action::ProbeInUse { id, .. } => {
//!                 // A real driver asks the AddressManager (ARP probe / IPv6 NS).
//!                 election.handle(now, Input::InUse { probe: id, result: Ok(InUse::Free) });
//!             }
//!             Action::AddVips(vips) => held.extend(vips),
//!             Action::RemoveVips(vips) => held.retain(|v| !vips.contains(v)),
//!             Action::SendAdvert { priority } => println!("{now}: advert at priority {priority}"),
//!             Action::Event(event) => {
//!                 if let EventKind::Transition { to: State::Master, .. } = event.kind {
//!                     // The claim (advert and probe) started 50 ms early, so the takeover
//!                     // lands exactly on Master_Down_Interval. (At intervals below the
//!                     // probe's 50 ms the probe starts after the first missed advert
//!                     // instead: at 1 cs the takeover lands on 30 ms all the same.)
//!                     assert_eq!(event.at, Timestamp::from_millis(3600));
//!                 }
//!                 println!("{event}");
//!             }
//!             // Announce, fence and (with an ownership arbiter) its requests.
//!             _ => {}
//!         }
//!     }
//! }
//! assert_eq!(election.state(), State::Master);
//! assert!(election.holds_vips());
//! assert_eq!(held, vec![vip]);
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod address;
mod arbiter;
pub mod election;
mod error;
mod fence;
mod interval;
#[cfg(feature = "lab")]
#[cfg_attr(docsrs, doc(cfg(feature = "lab")))]
pub mod lab;
pub mod lane;
mod parse;
mod peer;
mod priority;
pub mod reconcile;
mod role;
pub mod rules;
#[cfg(feature = "runtime")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
pub mod runtime;
#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;
mod time;
mod vip;

pub use address::{AddressManager, InUse, MacAddr};
pub use arbiter::{ArbiterError, FencingToken, Grant, OwnershipArbiter, Standing};
pub use error::Error;
pub use fence::{FenceOutcome, FenceRequest, Fencer};
pub use interval::Interval;
pub use parse::ParseError;
pub use peer::PeerId;
pub use priority::Priority;
pub use role::{RecordedPrimary, Role, RoleProbe, RoleReport};
pub use time::Timestamp;
pub use vip::Vip;

/// The `async_trait` attribute the backend traits are declared with, re-exported so that an
/// implementation of [`RoleProbe`], [`Fencer`] or [`AddressManager`] needs no dependency of its
/// own: `#[vip_core::async_trait]`.
pub use async_trait::async_trait;

#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use address::MockAddressManager;
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use arbiter::MockOwnershipArbiter;
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use fence::MockFencer;
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use role::MockRoleProbe;
