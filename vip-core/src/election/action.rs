//! Actions the election machine asks its driver to carry out.

use crate::{FenceRequest, Priority, Vip};

use super::Event;

/// One thing for the driver to do. Results come back as [`super::Input`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send an advert at this priority (the transport fills in VRID, interval and addresses).
    SendAdvert {
        /// The priority to advertise (0 when releasing).
        priority: Priority,
    },
    /// Add these VIPs; report with `Input::Address { op: Add, .. }`.
    AddVips(Vec<Vip>),
    /// Remove these VIPs; report with `Input::Address { op: Remove, .. }`.
    RemoveVips(Vec<Vip>),
    /// Announce these VIPs (gratuitous ARP / unsolicited NA).
    Announce(Vec<Vip>),
    /// Probe whether these VIPs answer elsewhere; report with `Input::InUse { probe: id, .. }`.
    ProbeInUse {
        /// Correlation id.
        id: u64,
        /// VIPs to probe.
        vips: Vec<Vip>,
    },
    /// Fence the last known holder; report with `Input::Fenced { fence: id, .. }`.
    Fence {
        /// Correlation id.
        id: u64,
        /// Whom and what to fence.
        request: FenceRequest,
    },
    /// Something happened worth reporting (notify hooks, metrics, logs).
    Event(Event),
}
