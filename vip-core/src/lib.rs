//! vip-core: the domain types, the backend traits and the election machine of vip, which keeps a
//! floating virtual IP on exactly one healthy node.
//!
//! - Types: [`Vip`], [`Priority`], [`Interval`], [`Role`], [`PeerId`], [`Timestamp`].
//! - Backend traits: [`AddressManager`], [`RoleProbe`], [`Fencer`] (mockall mocks behind the
//!   `mock` feature).
//! - [`election`]: the sans-IO VRRP election machine (no tokio, no sockets, no clock).
//! - `runtime` (default feature): the tokio runtime that drives instances through the traits.
//! - `sim` (feature): a deterministic multi-node simulator for tests.

mod address;
pub mod election;
mod error;
mod fence;
mod interval;
#[cfg(feature = "lab")]
pub mod lab;
mod peer;
mod priority;
mod role;
#[cfg(feature = "runtime")]
pub mod runtime;
#[cfg(feature = "sim")]
pub mod sim;
mod time;
mod vip;

pub use address::{AddressManager, InUse, MacAddr};
pub use error::Error;
pub use fence::{FenceOutcome, FenceRequest, Fencer};
pub use interval::Interval;
pub use peer::PeerId;
pub use priority::Priority;
pub use role::{RecordedPrimary, Role, RoleProbe, RoleReport};
pub use time::Timestamp;
pub use vip::Vip;

#[cfg(feature = "mock")]
pub use address::MockAddressManager;
#[cfg(feature = "mock")]
pub use fence::MockFencer;
#[cfg(feature = "mock")]
pub use role::MockRoleProbe;
