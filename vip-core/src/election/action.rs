//! Actions the election machine asks its driver to carry out.

use std::time::Duration;

use crate::{FenceRequest, FencingToken, Priority, Timestamp, Vip};

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
        /// How long to wait for an answer: `in_use_probe_timeout`, or less for a probe that
        /// must answer by the Master_Down_Timer's expiry at fast intervals.
        timeout: Duration,
    },
    /// Fence the last known holder; report with `Input::Fenced { fence: id, .. }`.
    Fence {
        /// Correlation id.
        id: u64,
        /// Whom and what to fence.
        request: FenceRequest,
    },
    /// Ask the ownership arbiter for the grant; report with `Input::Acquired { id, .. }`.
    Acquire {
        /// Correlation id.
        id: u64,
    },
    /// End the grant of the holder with `token`, which a fence has just reported fenced;
    /// report with `Input::Revoked { id, .. }`.
    RevokeFenced {
        /// Correlation id.
        id: u64,
        /// The fenced holder's token.
        token: FencingToken,
    },
    /// Give the grant back; report with `Input::Released`. It goes through the same ordered
    /// lane as the address operations: after the `RemoveVips` before it (skipped, and reported
    /// as failed, when that removal failed) and before any advert after it.
    ReleaseArbiter,
    /// Have the kernel drop these VIPs by itself at `until` (its valid lifetime, whole seconds,
    /// rounded down), so that a wedged process cannot keep them past the grant's deadline (or,
    /// without an arbiter, past `ElectionConfig::vip_lifetime` after its last advert). In the
    /// ordered lane after the `AddVips` or advert before it; no result is reported.
    SetLifetime {
        /// The VIPs.
        vips: Vec<Vip>,
        /// The grant's deadline (or the end of the VRRP-only lifetime).
        until: Timestamp,
    },
    /// Something happened worth reporting (notify hooks, metrics, logs).
    Event(Event),
}
