//! The [`OwnershipArbiter`] trait: an outside authority that says who *may* hold the VIPs.
//!
//! VRRP steers: priorities, preemption and priority-0 releases decide, fast, which node
//! *should* hold the VIPs. An arbiter gates: a node adds VIPs only while it holds the
//! arbiter's grant, and must have removed them by the grant's deadline. With an arbiter that
//! is a quorum (etcd), nodes that cannot hear each other still never both hold the VIPs.
//!
//! The contract an implementation keeps:
//! - [`OwnershipArbiter::acquire`] grants at most one node at a time. A grant carries a
//!   deadline: the instant by which this node must have removed the VIPs, whatever happens to
//!   the arbiter, the network or this process (the implementation subtracts its clock-drift
//!   allowance and a removal margin before reporting it).
//! - Renewals move the deadline forward and are published through
//!   [`OwnershipArbiter::watch`]; so is a loss. A node that cannot be sure it still holds the
//!   grant reports [`Standing::Lost`].
//! - [`OwnershipArbiter::release`] is called only after the VIPs are removed.
//! - [`OwnershipArbiter::revoke_fenced`] is called only after a fencer reported the holder
//!   named by a refusal fenced; it lets the claimant take over without waiting for the old
//!   grant to time out.
//! - Every grant carries a [`FencingToken`] that grows with each new holder.

use std::fmt;
use std::time::Instant;

use async_trait::async_trait;

/// A number that grows with each new holder of the grant (etcd: the revision that created the
/// holder's key). Fencers and hooks receive it, so that a stale holder's requests can be told
/// apart from the current one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FencingToken(pub u64);

impl fmt::Display for FencingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The right to hold the VIPs, until a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// This holding's fencing token.
    pub token: FencingToken,
    /// The VIPs must be off this node's interfaces by this instant (already reduced by the
    /// arbiter's drift allowance and removal margin).
    pub deadline: Instant,
}

/// What the arbiter currently says about this node's right to hold the VIPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Not held: never acquired, or released.
    NotHeld,
    /// Held until the grant's deadline; a renewal publishes a later deadline.
    Held(Grant),
    /// The grant is gone, or this node can no longer be sure it holds it.
    Lost {
        /// Why (for logs and the status).
        reason: String,
    },
}

/// Why the arbiter did not grant, or could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArbiterError {
    /// Another node holds the grant.
    #[error("held by {holder}{}", token.map(|t| format!(" (fencing token {t})")).unwrap_or_default())]
    HeldElsewhere {
        /// Who holds it, as the arbiter names it (etcd: the value of the key).
        holder: String,
        /// The holder's fencing token, when known: pass it to
        /// [`OwnershipArbiter::revoke_fenced`] once the holder is fenced.
        token: Option<FencingToken>,
    },
    /// The arbiter could not be reached or did not answer in time; nothing is granted.
    #[error("{backend} unavailable: {reason} (hint: {hint})")]
    Unavailable {
        /// The backend (for instance "etcd").
        backend: String,
        /// What went wrong.
        reason: String,
        /// What to check.
        hint: String,
    },
    /// The arbiter refused the request itself (bad credentials, TLS, a key under a foreign
    /// value, a permission error): retrying will not help until the configuration changes.
    #[error("{backend} refused: {reason} (hint: {hint})")]
    Refused {
        /// The backend (for instance "etcd").
        backend: String,
        /// What went wrong.
        reason: String,
        /// What to check.
        hint: String,
    },
}

/// An outside authority that grants at most one node at a time the right to hold the VIPs
/// (see the module documentation for the contract).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait OwnershipArbiter: Send + Sync {
    /// A short name for logs and metrics (for instance "etcd").
    fn name(&self) -> &str;

    /// Asks for the grant. Returns the grant when this node holds it (also when it already
    /// did), or why not.
    async fn acquire(&self) -> Result<Grant, ArbiterError>;

    /// Gives the grant up. Called only once the VIPs are removed.
    async fn release(&self) -> Result<(), ArbiterError>;

    /// Ends the grant of the holder with `token`, which a fencer has just reported fenced.
    async fn revoke_fenced(&self, token: FencingToken) -> Result<(), ArbiterError>;

    /// Waits until the standing's generation is above `seen`, then returns the new generation
    /// and standing. `watch(0)` returns the current standing at once (generations start at 1).
    async fn watch(&self, seen: u64) -> (u64, Standing);
}
