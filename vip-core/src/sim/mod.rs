//! A deterministic multi-node simulator for the election machine (test support, feature `sim`).
//!
//! N nodes share a virtual LAN in virtual time. Each node is an [`crate::election::Election`]
//! plus a simulated interface (the VIPs its kernel holds), address manager, in-use probe,
//! fencer, role probe and tracked checks. One event queue, ordered by time and insertion,
//! drives everything; delays and losses come from a seeded generator, so a seed and a fault
//! schedule always give the same run. There are no threads, no clock and no tokio.
//!
//! The driver turns actions into events, with the runtime's ordering: address operations,
//! the arbiter's release and adverts of one node go through the shipped sans-IO lane
//! ([`crate::lane`]: operations one at a time, an advert only after the operations emitted
//! before it), while probes and fences run alongside.
//!
//! - `SendAdvert`: delivered to every other reachable node after the LAN delay, unless lost.
//! - `AddVips` / `RemoveVips` / `Announce`: change the interface after the address latency,
//!   then report `Input::Address`.
//! - `ProbeInUse`: `Held` if another node reachable from this one has the VIP on its interface
//!   (a crashed or paused daemon's kernel still answers; a partition or a powered-off host does
//!   not), else `Free` when the probe's timeout expires.
//! - `Fence`: STONITH: after the fence time the target is powered off (interface cleared,
//!   daemon gone) and boots again later; or ([`FenceKind::AddressOnly`]) only the target's
//!   VIPs are removed; fencing can be made to fail. A request with a fencing
//!   token fences the holder of that token.
//! - `Acquire` / `RevokeFenced` / `ReleaseArbiter`: requests to the [`ArbiterSpec`] lease
//!   service, whose client renews the lease and publishes each `Standing`;
//!   `SetLifetime`: the kernel drops the VIPs when their lifetime (whole seconds) runs out, and
//!   the daemon hears of it as a removal by someone else.
//!
//! [`Fault`]s are injected on a schedule. The [`Oracle`] records who holds the VIP at every
//! instant. Switch on [`SimConfig::trace`] to get a readable, time-stamped trace.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::Duration;
//! use vip_core::election::ElectionConfig;
//! use vip_core::sim::{NodeSpec, Sim, SimConfig};
//! use vip_core::{Role, Timestamp, Vip};
//!
//! let vip = Vip::host(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 100)), "eth0");
//! let nodes = (1..=2u8)
//!     .map(|i| NodeSpec {
//!         election: ElectionConfig::new(7, IpAddr::V4(Ipv4Addr::new(198, 51, 100, i)), vec![vip.clone()]),
//!         role: Role::Primary,
//!         mac: [2, 0, 0, 0, 0, i],
//!     })
//!     .collect();
//! let mut sim = Sim::new(SimConfig::new(nodes, 42));
//! sim.run_until(Timestamp::from_millis(10_000)).unwrap();
//! sim.finish();
//! // Who held the VIP, and whether two nodes ever held it at once:
//! let _holders = sim.oracle().holders();
//! let _worst = sim.oracle().worst_overlap();
//! ```

mod config;
mod fault;
mod node;
mod oracle;
mod queue;
mod rng;
mod world;

pub use config::{ArbiterSpec, FenceKind, NodeSpec, SimConfig};
pub use fault::{Fault, TimedFault, format_schedule};
pub use node::Daemon;
pub use oracle::{Oracle, Overlap, RoleHold};
pub use rng::SimRng;
pub use world::{Sim, SimError, SimStats};
