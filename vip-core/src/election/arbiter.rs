//! The ownership arbiter in the machine (see `crate::OwnershipArbiter` and docs/architecture.md
//! "Seam 1"): VRRP steers, the arbiter gates.
//!
//! Decisions:
//! - **Claiming.** Once the claim would add the VIPs (the probe found them free, the hold is
//!   over), an instance with an arbiter asks for the grant ([`Action::Acquire`]) and adds only
//!   after [`Input::Acquired`] brought one whose deadline is still ahead. `HeldElsewhere`
//!   with a fencer and the holder's token (and not a preemption, where the live master is
//!   stepping down anyway): fence that holder (the token is in the [`crate::FenceRequest`]),
//!   then [`Action::RevokeFenced`], then acquire again, once per claim round.
//!   Without a fencer (or after the fence), a takeover keeps claiming while the grant is
//!   held elsewhere for up to `claim_backoff_max`, asking again at the first back-off each
//!   time (a gone holder's lease ends within its TTL), alarming once.
//! - **Stepping back.** Any other refusal (`HeldElsewhere` past that patience or during a
//!   preemption, `Unavailable`, `Refused`, a grant that came too late) ends the claim: no add, an
//!   alarm, a priority-0 advert (backups that followed the claim take over after Skew_Time)
//!   and Backup. A claimant that cannot get the grant must not keep a node that can from
//!   claiming, which it would by advertising its priority. The refused instance neither
//!   claims nor preempts until it has the grant: it asks the arbiter quietly, without an
//!   advert ([`Action::Acquire`] from Backup), after a back-off: the first back-off each time
//!   while the grant is held elsewhere (a gone holder's lease ends within its TTL, the
//!   takeover follows that end closely), doubling up to `claim_backoff_max` while the
//!   arbiter cannot be asked. A grant in hand starts a claim with it (advert, probe, hold,
//!   add); a master that lost its grant (or saw its deadline pass) is refused the same way.
//!   So under one-way loss the node cut off from the arbiter falls silent and a node that can
//!   reach it takes over; after a Patroni failover the old leader does not preempt the new
//!   one. The cost: a refused node does not preempt a holder (it claims only once the grant
//!   is free), so after some faults a lower-priority node may keep the VIPs.
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
use super::phase::{Held, Phase};
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

/// An instance the arbiter refused (see "Stepping back" above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Refusal {
    /// When to ask quietly (None while asking).
    retry_at: Option<Timestamp>,
    /// The outstanding quiet acquire.
    acquire: Option<u64>,
    /// The back-off that scheduled it (doubles while the arbiter cannot be asked).
    backoff: Duration,
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
    /// The grant this instance holds (Master with an arbiter, or a claim that just acquired
    /// it), if any.
    pub fn grant(&self) -> Option<ArbiterGrant> {
        match &self.phase {
            Phase::Claiming(claim) => claim.grant,
            Phase::Master(held) => held.grant,
            _ => None,
        }
    }

    /// The claim would add the VIPs now: without an arbiter it does; with one it asks for the
    /// grant first (or uses the one in hand while its deadline is ahead).
    pub(super) fn acquire_or_become(&mut self, now: Timestamp) {
        if !self.config.arbiter {
            self.become_master(now);
            return;
        }
        match self.grant() {
            Some(g) if g.deadline > now => self.become_master(now),
            _ => {
                let id = self.next_id();
                if let Some(claim) = self.claim_mut() {
                    claim.grant = None;
                    claim.acquire = Some(id);
                }
                self.push(Action::Acquire { id });
            }
        }
    }

    /// True while the claim waits for the arbiter (an acquire or a revoke in flight).
    pub(super) fn waiting_for_arbiter(&self) -> bool {
        self.claim()
            .is_some_and(|c| c.acquire.is_some() || c.revoke.is_some())
    }

    /// A claim that backs off gives its grant back and forgets its arbiter calls.
    pub(super) fn drop_grant(&mut self) {
        let Some(claim) = self.claim_mut() else {
            return;
        };
        claim.acquire = None;
        claim.revoke = None;
        claim.arbiter_fence = None;
        claim.arbiter_fenced = false;
        if claim.grant.take().is_some() {
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
        if self.on_quiet_acquired(now, id, &result) {
            return;
        }
        let Some(claim) = self.claim_mut().filter(|c| c.acquire == Some(id)) else {
            // Not (or no longer) wanted: hand a grant straight back.
            let acquiring = self.claim().is_some_and(|c| c.acquire.is_some());
            if result.is_ok() && self.grant().is_none() && !acquiring {
                self.push(Action::ReleaseArbiter);
            }
            return;
        };
        claim.acquire = None;
        let (takeover, arbiter_fenced) = (claim.takeover, claim.arbiter_fenced);
        match result {
            Ok(grant) if grant.deadline > now => {
                claim.grant = Some(grant);
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
                // The claim's own grant goes back with the claim (`transition`).
                claim.grant = Some(grant);
                let detail = format!("grant {} arrived after its deadline", grant.token);
                self.step_back(now, Reason::ArbiterUnavailable { detail }, false);
            }
            Err(ArbiterError::HeldElsewhere { holder, token }) => {
                let fence = token.filter(|_| {
                    self.config.fencing
                        && !arbiter_fenced
                        && !matches!(takeover, Takeover::Preempt(_))
                });
                match fence {
                    Some(token) => {
                        if let Some(claim) = self.claim_mut() {
                            claim.arbiter_fence = Some(token);
                        }
                        self.start_fence(None, Some(token));
                    }
                    None => {
                        let reason = Reason::ArbiterHeldElsewhere { holder, token };
                        self.held_elsewhere(now, takeover, reason);
                    }
                }
            }
            Err(e) => {
                let detail = e.to_string();
                self.step_back(now, Reason::ArbiterUnavailable { detail }, false);
            }
        }
    }

    /// The grant is held elsewhere and there is no fencing. A takeover (the master went
    /// silent or released) keeps claiming for up to `claim_backoff_max`, asking again at the
    /// first back-off each time (not doubling), alarming once: a gone holder's lease ends
    /// within its TTL and the takeover follows that end closely, and the backups keep
    /// following this claimant (highest priority first). Past that, and at once for a
    /// preemption (the holder did not give the grant up when it heard us), it steps back.
    fn held_elsewhere(&mut self, now: Timestamp, takeover: Takeover, reason: Reason) {
        let patience = self.config.claim_backoff_max;
        let initial = self.config.claim_backoff_initial;
        let Some(claim) = self.claim_mut() else {
            return;
        };
        let since = *claim.held_since.get_or_insert(now);
        let first = since == now;
        if matches!(takeover, Takeover::Preempt(_)) || now.saturating_since(since) >= patience {
            self.step_back(now, reason, true);
            return;
        }
        claim.backoff = initial;
        if first {
            self.alarm(now, reason);
        }
        self.back_off(now);
    }

    /// May this instance claim (or preempt) now: eligible, not in maintenance, and not refused
    /// by the arbiter.
    pub(super) fn may_claim(&self) -> bool {
        self.may_hold() && self.refused.is_none()
    }

    /// The arbiter refused the claim: alarm, release (a priority-0 advert, so that the
    /// backups that followed this claim take over after Skew_Time) and become a refused
    /// Backup that asks quietly before claiming again.
    fn step_back(&mut self, now: Timestamp, reason: Reason, held_elsewhere: bool) {
        self.alarm(now, reason.clone());
        self.release(now, State::Backup, reason);
        self.refuse(now, held_elsewhere);
    }

    /// Marks the instance refused and schedules the quiet acquire: the first back-off while
    /// the grant is held elsewhere, otherwise doubling from it up to `claim_backoff_max`.
    fn refuse(&mut self, now: Timestamp, held_elsewhere: bool) {
        let initial = self.config.claim_backoff_initial;
        let backoff = match self.refused {
            Some(r) if !held_elsewhere => (r.backoff * 2).min(self.config.claim_backoff_max),
            _ => initial,
        };
        let retry_at = now + self.jitter.shorten(backoff);
        self.refused = Some(Refusal {
            retry_at: Some(retry_at),
            acquire: None,
            backoff,
        });
    }

    /// A refused Backup: when to ask the arbiter quietly (while eligible and not asking).
    pub(super) fn refusal_retry(&self) -> Option<Timestamp> {
        let refusal = self.refused?;
        if !self.eligible || refusal.acquire.is_some() {
            return None;
        }
        refusal.retry_at
    }

    /// A refused Backup asks the arbiter for the grant without advertising.
    pub(super) fn ask_quietly(&mut self) {
        let id = self.next_id();
        if let Some(refusal) = self.refused.as_mut() {
            refusal.retry_at = None;
            refusal.acquire = Some(id);
            self.push(Action::Acquire { id });
        }
    }

    /// The arbiter answered a quiet acquire. True if `id` was one.
    fn on_quiet_acquired(
        &mut self,
        now: Timestamp,
        id: u64,
        result: &Result<ArbiterGrant, ArbiterError>,
    ) -> bool {
        if self.refused.is_none_or(|r| r.acquire != Some(id)) {
            return false;
        }
        let wanted = self.state() == State::Backup && self.eligible;
        match result {
            Ok(grant) if grant.deadline > now && wanted => {
                // The grant is free and ours: claim with it in hand.
                let grant = *grant;
                self.refused = None;
                self.probe = None;
                self.enter_claiming(now, Reason::ArbiterGranted, Takeover::Other, None);
                if let Some(claim) = self.claim_mut() {
                    claim.grant = Some(grant);
                }
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
            Ok(_) => {
                self.push(Action::ReleaseArbiter);
                self.refuse(now, false);
            }
            Err(ArbiterError::HeldElsewhere { .. }) => self.refuse(now, true),
            Err(_) => self.refuse(now, false),
        }
        true
    }

    /// The holder with `token` was fenced: end its grant.
    pub(super) fn revoke_fenced(&mut self, token: FencingToken) {
        let id = self.next_id();
        if let Some(claim) = self.claim_mut() {
            claim.arbiter_fenced = true;
            claim.revoke = Some(id);
        }
        self.push(Action::RevokeFenced { id, token });
    }

    /// The arbiter answered an [`Action::RevokeFenced`].
    pub(super) fn on_revoked(&mut self, now: Timestamp, id: u64, result: Result<(), ArbiterError>) {
        let Some(claim) = self.claim_mut().filter(|c| c.revoke == Some(id)) else {
            return;
        };
        claim.revoke = None;
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
        if self.release_failed && self.grant().is_none() && !self.holding {
            self.release_failed = false;
            self.push(Action::ReleaseArbiter);
        }
    }

    /// The arbiter published a standing.
    pub(super) fn on_standing(&mut self, now: Timestamp, standing: ArbiterStanding) {
        let Phase::Master(Held {
            grant: Some(held), ..
        }) = &mut self.phase
        else {
            return;
        };
        match standing {
            ArbiterStanding::Held(grant) => {
                if grant.deadline <= now {
                    self.expire(now);
                    return;
                }
                *held = grant;
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
    /// It is refused until a quiet acquire brings the grant back.
    fn lose(&mut self, now: Timestamp, detail: String) {
        self.release(now, State::Backup, Reason::ArbiterLost { detail });
        self.refuse(now, false);
    }

    /// Master: the grant's deadline has come without a renewal. As for a loss.
    pub(super) fn expire(&mut self, now: Timestamp) {
        if let Some(grant) = self.grant() {
            self.release(
                now,
                State::Backup,
                Reason::ArbiterExpired { token: grant.token },
            );
            self.refuse(now, false);
        }
    }

    /// Master with an arbiter: the deadline to watch.
    pub(super) fn grant_deadline(&self) -> Option<Timestamp> {
        match &self.phase {
            Phase::Master(held) => held.grant.map(|g| g.deadline),
            _ => None,
        }
    }
}
