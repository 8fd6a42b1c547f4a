//! Inputs to the election machine.

use crate::{ArbiterError, Error, FenceOutcome, InUse, Interval, PeerId, Priority, Role};

use super::{ArbiterGrant, ArbiterStanding, Switchover};

/// How a stopping instance leaves its VIPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StopMode {
    /// Remove the VIPs, then send a priority-0 advert (RFC 9568 section 6.4.3 shutdown).
    #[default]
    Release,
    /// Leave the VIPs on the interface and send nothing (for restarts of the daemon only).
    Keep,
}

/// A received, already validated advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    /// The sender's primary address.
    pub from: PeerId,
    /// The advertised priority (0 = the master is releasing).
    pub priority: Priority,
    /// The sender's Max Advertise Interval.
    pub max_advert_interval: Interval,
    /// True when the advert's address list differs from ours. The machine still honours the
    /// advert but reports the mismatch loudly, since keepalived drops such adverts.
    pub address_mismatch: bool,
}

/// An address operation whose result is being reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressOp {
    /// Adding the VIPs.
    Add,
    /// Removing the VIPs.
    Remove,
    /// Announcing the VIPs.
    Announce,
}

/// A tracked check's current (already rise/fall-debounced) status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// The check passes.
    Passing,
    /// The check fails.
    Failing,
}

/// Everything that can happen to an election instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Start the instance (RFC 9568 Startup event).
    Start,
    /// Stop the instance (RFC 9568 Shutdown event).
    Stop(StopMode),
    /// The time returned by `poll_timeout` has come.
    Timer,
    /// An advert for our VRID arrived.
    Advert(Advert),
    /// The role probe answered.
    Role(Role),
    /// The role probe's derived priority ([`crate::RoleReport::priority`], when it has one):
    /// while role-gated, it replaces the configured base priority from now on (clamped to
    /// 1..=254; an owner keeps 255). Feed it before the [`Input::Role`] of the same report.
    RolePriority(Priority),
    /// A tracked check changed status (index into `ElectionConfig::checks`).
    Check {
        /// Index of the check.
        index: usize,
        /// Its debounced status.
        status: CheckStatus,
    },
    /// The in-use probe with this id finished.
    InUse {
        /// The id from [`crate::election::Action::ProbeInUse`].
        probe: u64,
        /// What it found.
        result: Result<InUse, Error>,
    },
    /// The fence with this id finished.
    Fenced {
        /// The id from [`crate::election::Action::Fence`].
        fence: u64,
        /// Its outcome.
        outcome: FenceOutcome,
    },
    /// An address operation finished.
    Address {
        /// Which operation.
        op: AddressOp,
        /// Its result.
        result: Result<(), Error>,
    },
    /// The ownership arbiter answered [`crate::election::Action::Acquire`].
    Acquired {
        /// The id from the action.
        id: u64,
        /// The grant (deadline on the machine's clock), or why not.
        result: Result<ArbiterGrant, ArbiterError>,
    },
    /// The ownership arbiter answered [`crate::election::Action::RevokeFenced`].
    Revoked {
        /// The id from the action.
        id: u64,
        /// Its result.
        result: Result<(), ArbiterError>,
    },
    /// The ownership arbiter answered [`crate::election::Action::ReleaseArbiter`].
    Released(Result<(), ArbiterError>),
    /// The ownership arbiter published a new standing of this node (feed each one).
    Standing(ArbiterStanding),
    /// The interface went up (`true`) or down (`false`).
    Link(bool),
    /// Someone else removed one of our VIPs from the interface.
    VipRemovedExternally,
    /// Maintenance on (release the VIPs if held, then never claim) or off (see `planned.rs`).
    Maintenance(bool),
    /// A planned switchover: hand the VIPs over (on the holder) or take them over (on the
    /// target); ignored in any other state, in maintenance and while ineligible.
    Switchover(Switchover),
}
