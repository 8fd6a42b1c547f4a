//! The ownership arbiter in the machine (see `crate::OwnershipArbiter` and docs/architecture.md
//! "Seam 1"): VRRP steers, the arbiter gates.
//!
//! Decisions:
//! - **Claiming.** Once the claim would add the VIPs (the probe found them free, the hold is
//!   over), an instance with an arbiter asks for the grant ([`Action::Acquire`]) and adds only
//!   after [`Input::Acquired`] brought one whose deadline is still ahead. `HeldElsewhere`
//!   with a fencer and the holder's token (and not a preemption, where the live master is
//!   stepping down anyway): fence that holder (the token is in the [`crate::FenceRequest`]),
//!   then [`Action::RevokeFenced`], then acquire again, once per claim round. Otherwise, and on
//!   `Unavailable` / `Refused`: no add, an alarm, and the claim backs off and tries again.
//! - **Master.** Each published [`ArbiterStanding::Held`] moves the deadline (and the kernel
//!   lifetime, [`Action::SetLifetime`]). At the deadline, or on `Lost` / `NotHeld`, the VIPs
//!   are removed at once, the grant is released (its client must stop renewing it: a node
//!   that no longer holds the VIPs must not keep others from the grant) and the instance steps
//!   back to Backup with a priority-0 advert.
//! - **Release.** Whenever the VIPs are removed while a grant is held, [`Action::ReleaseArbiter`]
//!   follows the `RemoveVips` (and precedes any priority-0 advert): the lane keeps that order,
//!   and skips the release when the removal before it failed. A grant that arrives when it is
//!   no longer wanted is released at once. A failed release is asked again after the next
//!   successful removal.

use std::time::Duration;

use crate::{ArbiterError, FencingToken, Timestamp};

use super::claim::Takeover;
use super::machine::Election;
use super::{Action, EventKind, Reason, State};

/// A grant as the machine sees it: the arbiter's [`crate::Grant`] with its deadline on the
/// machine's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArbiterGrant {
    /// The holding's fencing token.
    pub token: FencingToken,
    /// The VIPs must be off this node's interfaces by this instant.
    pub deadline: Timestamp,
}

impl ArbiterGrant {
    /// Time left until the deadline at `now` (zero once it has passed).
    pub fn time_left(&self, now: Timestamp) -> Duration {
        self.deadline.saturating_since(now)
    }
}

/// A published standing of this node with the arbiter (see [`crate::Standing`]), on the
/// machine's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArbiterStanding {
    /// Not held.
    NotHeld,
    /// Held until the grant's deadline (a renewal publishes a later one).
    Held(ArbiterGrant),
    /// Lost, or this node can no longer be sure it holds it.
    Lost {
        /// Why.
        reason: String,
    },
}

impl Election {
    /// The grant this instance holds (Master with an arbiter), if any.
    pub fn grant(&self) -> Option<ArbiterGrant> {
        self.grant
    }

    /// The claim would add the VIPs now: without an arbiter it does; with one it asks for the
    /// grant first (or uses the one in hand while its deadline is ahead).
    pub(super) fn acquire_or_become(&mut self, now: Timestamp) {
        if !self.config.arbiter {
            self.become_master(now);
            return;
        }
        match self.grant {
            Some(g) if g.deadline > now => self.become_master(now),
            _ => {
                self.grant = None;
                let id = self.next_id();
                self.acquire = Some(id);
                self.push(Action::Acquire { id });
            }
        }
    }

    /// True while the claim waits for the arbiter (an acquire or a revoke in flight).
    pub(super) fn waiting_for_arbiter(&self) -> bool {
        self.acquire.is_some() || self.revoke.is_some()
    }

    /// Gives a grant held outside Master back (a claim that ends without adding).
    pub(super) fn drop_grant(&mut self) {
        self.acquire = None;
        self.revoke = None;
        self.arbiter_fence = None;
        self.arbiter_fenced = false;
        if self.grant.take().is_some() {
            self.push(Action::ReleaseArbiter);
        }
    }

    /// The arbiter answered an [`Action::Acquire`].
    pub(super) fn on_acquired(
        &mut self,
        now: Timestamp,
        id: u64,
        result: Result<ArbiterGrant, ArbiterError>,
    ) {
        if self.acquire != Some(id) || self.state != State::Claiming {
            // Not (or no longer) wanted: hand a grant straight back.
            if result.is_ok() && self.grant.is_none() && self.acquire.is_none() {
                self.push(Action::ReleaseArbiter);
            }
            return;
        }
        self.acquire = None;
        match result {
            Ok(grant) if grant.deadline > now => {
                self.grant = Some(grant);
                self.event(
                    now,
                    EventKind::Granted {
                        token: grant.token,
                        deadline: grant.deadline,
                    },
                    Reason::ArbiterGranted,
                );
                self.claim_step(now);
            }
            Ok(grant) => {
                self.push(Action::ReleaseArbiter);
                self.alarm(
                    now,
                    Reason::ArbiterUnavailable {
                        detail: format!("grant {} arrived after its deadline", grant.token),
                    },
                );
                self.back_off(now);
            }
            Err(ArbiterError::HeldElsewhere { holder, token }) => {
                let fence = token.filter(|_| {
                    self.config.fencing
                        && !self.arbiter_fenced
                        && !matches!(self.takeover, Takeover::Preempt(_))
                });
                match fence {
                    Some(token) => {
                        self.arbiter_fence = Some(token);
                        self.start_fence(None, Some(token));
                    }
                    None => {
                        self.alarm(now, Reason::ArbiterHeldElsewhere { holder, token });
                        self.back_off(now);
                    }
                }
            }
            Err(e) => {
                self.alarm(
                    now,
                    Reason::ArbiterUnavailable {
                        detail: e.to_string(),
                    },
                );
                self.back_off(now);
            }
        }
    }

    /// The holder with `token` was fenced: end its grant.
    pub(super) fn revoke_fenced(&mut self, token: FencingToken) {
        self.arbiter_fenced = true;
        let id = self.next_id();
        self.revoke = Some(id);
        self.push(Action::RevokeFenced { id, token });
    }

    /// The arbiter answered an [`Action::RevokeFenced`].
    pub(super) fn on_revoked(&mut self, now: Timestamp, id: u64, result: Result<(), ArbiterError>) {
        if self.revoke != Some(id) || self.state != State::Claiming {
            return;
        }
        self.revoke = None;
        match result {
            Ok(()) => self.claim_step(now),
            Err(e) => {
                self.alarm(
                    now,
                    Reason::ArbiterUnavailable {
                        detail: format!("revoking the fenced holder's grant: {e}"),
                    },
                );
                self.back_off(now);
            }
        }
    }

    /// The arbiter answered an [`Action::ReleaseArbiter`].
    pub(super) fn on_released(&mut self, now: Timestamp, result: Result<(), ArbiterError>) {
        match result {
            Ok(()) => self.release_failed = false,
            Err(e) => {
                self.release_failed = true;
                self.alarm(
                    now,
                    Reason::ArbiterUnavailable {
                        detail: format!("releasing the grant: {e}"),
                    },
                );
            }
        }
    }

    /// A removal succeeded: a release that failed earlier is asked again.
    pub(super) fn retry_release(&mut self) {
        if self.release_failed && self.grant.is_none() && !self.holding {
            self.release_failed = false;
            self.push(Action::ReleaseArbiter);
        }
    }

    /// The arbiter published a standing.
    pub(super) fn on_standing(&mut self, now: Timestamp, standing: ArbiterStanding) {
        if self.state != State::Master || self.grant.is_none() {
            return;
        }
        match standing {
            ArbiterStanding::Held(grant) => {
                if grant.deadline <= now {
                    self.expire(now);
                    return;
                }
                self.grant = Some(grant);
                self.push(Action::SetLifetime {
                    vips: self.config.vips.clone(),
                    until: grant.deadline,
                });
            }
            ArbiterStanding::NotHeld => self.lose(now, "not held".to_owned()),
            ArbiterStanding::Lost { reason } => self.lose(now, reason),
        }
    }

    /// Master: the grant is gone. Remove the VIPs at once and step back (the arbiter is
    /// told too, after the removal, so that its client stops renewing).
    fn lose(&mut self, now: Timestamp, detail: String) {
        self.release(now, State::Backup, Reason::ArbiterLost { detail });
    }

    /// Master: the grant's deadline has come without a renewal. As for a loss.
    pub(super) fn expire(&mut self, now: Timestamp) {
        if let Some(grant) = self.grant {
            self.release(
                now,
                State::Backup,
                Reason::ArbiterExpired { token: grant.token },
            );
        }
    }

    /// Master with an arbiter: the deadline to watch.
    pub(super) fn grant_deadline(&self) -> Option<Timestamp> {
        self.grant
            .filter(|_| self.state == State::Master)
            .map(|g| g.deadline)
    }
}
