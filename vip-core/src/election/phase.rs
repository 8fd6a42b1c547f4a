//! Per-state data (quinn-proto's connection states are the model): what only a backup, a
//! claiming or a master instance has lives in its state, so it is gone (not cleared by hand)
//! when the state ends, and a claim's back-off cannot be read by a master. What outlives a
//! state stays on [`super::Election`]: the effective priority and its inputs, the VIPs' holding
//! and removal retry, the last master (whom to fence), the in-use probe (a backup's early or
//! release probe is the claim's first probe) and preempt_delay.

use std::time::Duration;

use crate::{FencingToken, PeerId, Priority, Timestamp};

use super::State;
use super::arbiter::ArbiterGrant;
use super::claim::Takeover;

/// The machine's state with the data that belongs to it.
#[derive(Debug)]
pub(super) enum Phase {
    Initialize,
    Backup(Follow),
    Claiming(Claim),
    Master(Held),
    Fault,
}

impl Phase {
    /// The public state.
    pub(super) fn state(&self) -> State {
        match self {
            Phase::Initialize => State::Initialize,
            Phase::Backup(_) => State::Backup,
            Phase::Claiming(_) => State::Claiming,
            Phase::Master(_) => State::Master,
            Phase::Fault => State::Fault,
        }
    }
}

/// A backup's data.
#[derive(Debug)]
pub(super) struct Follow {
    /// The master whose adverts it accepts, with its priority.
    pub(super) master: Option<(PeerId, Priority)>,
    /// What the Master_Down_Timer's expiry would mean.
    pub(super) cause: Takeover,
    /// Master_Down_Timer (None: it expired while the instance was ineligible).
    pub(super) master_down_timer: Option<Timestamp>,
}

/// A claim in progress.
#[derive(Debug)]
pub(super) struct Claim {
    /// Why it started.
    pub(super) takeover: Takeover,
    /// The claiming advert's repeat (Adver_Timer).
    pub(super) adver_timer: Option<Timestamp>,
    /// When to start the next probe (settle time or back-off).
    pub(super) probe_at: Option<Timestamp>,
    /// No VIP is added (and nobody fenced) before this instant, so that our claiming advert
    /// reaches a competing claimant first.
    pub(super) claim_at: Option<Timestamp>,
    /// The outstanding fence id.
    pub(super) fence: Option<u64>,
    /// Whether this claim round fenced already.
    pub(super) fenced: bool,
    /// The next back-off (before jitter).
    pub(super) backoff: Duration,
    /// The arbiter's grant, once acquired (the claim becomes master with it).
    pub(super) grant: Option<ArbiterGrant>,
    /// The outstanding acquire id.
    pub(super) acquire: Option<u64>,
    /// The outstanding revoke id.
    pub(super) revoke: Option<u64>,
    /// The fence in flight is against the grant holder with this token.
    pub(super) arbiter_fence: Option<FencingToken>,
    /// Whether this claim round fenced a grant holder already.
    pub(super) arbiter_fenced: bool,
    /// When the arbiter first said the grant is held elsewhere during this claim.
    pub(super) held_since: Option<Timestamp>,
}

impl Claim {
    pub(super) fn new(takeover: Takeover, claim_at: Timestamp, backoff: Duration) -> Self {
        Claim {
            takeover,
            adver_timer: None,
            probe_at: None,
            claim_at: Some(claim_at),
            fence: None,
            fenced: false,
            backoff,
            grant: None,
            acquire: None,
            revoke: None,
            arbiter_fence: None,
            arbiter_fenced: false,
            held_since: None,
        }
    }
}

/// A master's data.
#[derive(Debug)]
pub(super) struct Held {
    /// Adver_Timer.
    pub(super) adver_timer: Option<Timestamp>,
    /// The arbiter's grant the VIPs are held under, if an arbiter gates them.
    pub(super) grant: Option<ArbiterGrant>,
}
