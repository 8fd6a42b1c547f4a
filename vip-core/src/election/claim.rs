//! Fence-first claiming: advertise, probe, fence if needed, re-probe, and only then add.
//!
//! Decisions (see also `design.md`):
//! - **Claim lead.** A master-down claim starts `lead` = `in_use_probe_timeout` (at most one
//!   Master_Adver_Interval) before the Master_Down_Timer expires: the claiming advert and the
//!   in-use probe go out then, and the VIPs are added when the timer expires. A hard failover
//!   therefore still completes at 3 x Master_Adver_Interval + Skew_Time when the probe says
//!   Free in time, and two backups whose timers expire together (equal priorities, or
//!   priorities whose Skew_Time truncates to the same centisecond, such as 100 and 101 at 1 s)
//!   hear each other's claim before either adds: the lower one (RFC 9568 tie-break) returns to
//!   Backup. This is the one place where vip advertises before the RFC would (by `lead`).
//! - **Early probe at fast intervals.** When `in_use_probe_timeout` exceeds the lead (the
//!   lead is capped at one Master_Adver_Interval), a Backup starts the in-use probe on its own
//!   `min(in_use_probe_timeout, Master_Down_Interval - 1.5 x Master_Adver_Interval)` before
//!   the timer expires (so half an interval after the first missed advert at the soonest: a
//!   merely late advert sets off no probe), with that wait as its bound, and the claim that
//!   follows uses its answer: a free VIP is added at Master_Down_Interval, as at slow
//!   intervals. An advert from the master drops the probe as usual; only the shorter wait
//!   differs (at 1 cs: 15 ms instead of 50 ms).
//! - **Claim hold.** No claim adds before its claiming advert had `claim_hold` (and at least
//!   `lead`) on the wire; a hold up to `lead` costs a master-down takeover nothing. The
//!   claiming advert is repeated halfway through the hold, so that a single lost advert does
//!   not hide the claim. Two claimants that cannot hear each other at all (total loss ending
//!   inside the hold) can still both add: only fencing or the in-use probe can tell then.
//! - A probe result counts only if the probe started after the master was last heard: any
//!   advert accepted from the master (and any lower-priority advert a preempting backup
//!   discards) drops the outstanding probe. A probe error means "cannot be sure" and counts as
//!   "in use". A claimant whose Adver_Timer is overdue by more than the probe bound was stalled
//!   (SIGSTOP, overload) and probes again rather than act on an old answer.
//! - A priority-0 release sets the Master_Down_Timer to Skew_Time and drops any probe out;
//!   the probe starts with the claim, one claim lead before the timer (at once when Skew_Time is
//!   shorter than the lead), or as an early probe. Every backup hears the release at the same
//!   moment: one probing at once would send an RFC 5227 probe that the winning claimant's probe
//!   counts as another holder, so a lower backup probes only at its own (later) claim time, by
//!   which it has heard the higher one's claiming advert and follows it. That holds while the
//!   lower backup's claim time (Skew_Time, in whole centiseconds, minus the lead after the
//!   release; at the soonest at once) comes after the higher one's advert reaches it. At 10 cs
//!   with the 50 ms probe every backup above priority 102 claims at once, and two backups whose
//!   Skew_Time truncates to the same centisecond claim together: those still probe together,
//!   see each other's probe and back off. A priority-0 advert from a peer other than the master a backup follows is ignored (it
//!   cannot release what it does not hold); RFC 9568 does not check the sender.
//! - A preemption (the lower-priority master is alive and holds the VIPs), and an owner (255)
//!   starting up, probe only after the claiming advert had `lead` to make the current master
//!   step down; otherwise the probe would find that cooperating master and fence it.
//! - With `FencePolicy::Always`, a master-down takeover (also one that starts when the role
//!   becomes Primary after the timer expired) with a known last master fences it even when the
//!   probe says Free; a priority-0 release, a preemption or an owner start do not.
//! - After fencing, the VIPs are probed again; only a Free answer adds them. Failure raises an
//!   alarm and retries after a back-off that doubles from `claim_backoff_initial` to
//!   `claim_backoff_max`, shortened by up to a quarter by seeded jitter.

use std::time::Duration;

use crate::{Error, FenceOutcome, FenceRequest, FencingToken, InUse, MacAddr, PeerId, Timestamp};

use super::machine::Election;
use super::phase::{Claim, Held, Phase};
use super::timers::centis;
use super::{Action, Reason, State};

/// Why a claim started (what a Backup's Master_Down_Timer expiry would mean).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Takeover {
    /// The master went silent.
    MasterDown,
    /// The master sent priority 0.
    Released(PeerId),
    /// We preempt a live lower-priority master.
    Preempt(PeerId),
    /// Address owner at start.
    Owner,
    /// Anything else (role gained, fault cleared, VIP removed externally).
    Other,
}

/// What an in-use probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ProbeResult {
    /// Nobody answered.
    Free,
    /// Somebody answered (holder MAC if known).
    Held(Option<MacAddr>),
    /// The probe failed: cannot be sure.
    Unsure(String),
}

/// One in-use probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Probe {
    pub(super) id: u64,
    pub(super) result: Option<ProbeResult>,
    /// When the probe was started (an answer older than its bound may be stale).
    pub(super) started: Timestamp,
}

impl Election {
    /// How long an early probe may wait: from half an interval after the first missed advert
    /// (so that a merely late advert does not set off a probe) to the Master_Down_Timer's
    /// expiry, at most `in_use_probe_timeout`.
    fn early_probe_window(&self) -> Duration {
        let interval = centis(self.master_adver_interval);
        let missed = interval + interval / 2;
        self.config
            .in_use_probe_timeout
            .min(self.master_down_interval().saturating_sub(missed))
    }

    /// Backup at fast intervals (the probe's bound exceeds the claim lead): when to start the
    /// in-use probe ahead of the claim, so that its answer is in when the Master_Down_Timer
    /// expires. None when the claim lead already covers the probe, while a probe is out, and
    /// whenever no claim is pending (see [`Election::pre_claim_deadline`]).
    pub(super) fn early_probe_deadline(&self) -> Option<Timestamp> {
        self.pre_claim_deadline()?;
        if self.probe.is_some() {
            return None;
        }
        let window = self.early_probe_window();
        if window <= self.claim_lead() {
            return None;
        }
        self.backup()?.master_down_timer.map(|t| t - window)
    }

    /// Starts the early probe (see [`Election::early_probe_deadline`]): it waits only until
    /// the Master_Down_Timer expires.
    pub(super) fn early_probe(&mut self, now: Timestamp) {
        let wait = self
            .backup()
            .and_then(|b| b.master_down_timer)
            .map_or(self.config.in_use_probe_timeout, |t| {
                t.saturating_since(now)
            })
            .min(self.config.in_use_probe_timeout);
        self.start_probe_for(now, wait);
    }
}

impl Election {
    pub(super) fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// The claim lead: how long before the Master_Down_Timer expires a claim starts, and how
    /// long a claiming advert is on the wire before the claim may add the VIPs. It is
    /// `in_use_probe_timeout`, but at most one Master_Adver_Interval, so that a backup never
    /// claims right after hearing the master.
    pub(super) fn claim_lead(&self) -> Duration {
        self.config
            .in_use_probe_timeout
            .min(centis(self.master_adver_interval))
    }

    /// Backup: when to start claiming ahead of the Master_Down_Timer. None while ineligible
    /// (an ineligible backup never claims) and while preempting (the live lower-priority master
    /// is handled when the timer itself fires).
    pub(super) fn pre_claim_deadline(&self) -> Option<Timestamp> {
        let follow = self.backup()?;
        if !self.may_claim() || matches!(follow.cause, Takeover::Preempt(_)) {
            return None;
        }
        follow.master_down_timer.map(|t| t - self.claim_lead())
    }

    /// Why a Backup takes over, from what its Master_Down_Timer stands for.
    pub(super) fn takeover_reason(&self) -> (Reason, Takeover) {
        let cause = self.backup().map_or(Takeover::MasterDown, |b| b.cause);
        match cause {
            Takeover::Released(peer) => (Reason::MasterReleased { peer }, cause),
            Takeover::Preempt(peer) => (Reason::Preempt { peer }, cause),
            _ => (Reason::MasterDown, Takeover::MasterDown),
        }
    }

    /// Starts claiming `claim_lead` before the Master_Down_Timer expires: the claiming advert
    /// and the in-use probe go out now, the VIPs are added when the timer would have fired.
    pub(super) fn pre_claim(&mut self, now: Timestamp) {
        let expiry = self.backup_mut().and_then(|b| b.master_down_timer.take());
        let (reason, takeover) = self.takeover_reason();
        self.enter_claiming(now, reason, takeover, expiry);
    }

    pub(super) fn start_probe(&mut self, now: Timestamp) {
        self.start_probe_for(now, self.config.in_use_probe_timeout);
    }

    fn start_probe_for(&mut self, now: Timestamp, timeout: Duration) {
        let id = self.next_id();
        self.probe = Some(Probe {
            id,
            result: None,
            started: now,
        });
        self.push(Action::ProbeInUse {
            id,
            vips: self.config.vips.clone(),
            timeout,
        });
    }

    pub(super) fn start_fence(&mut self, holder_mac: Option<MacAddr>, token: Option<FencingToken>) {
        let id = self.next_id();
        if let Some(claim) = self.claim_mut() {
            claim.fence = Some(id);
        }
        let request = FenceRequest {
            peer: self.last_master,
            holder_mac,
            token,
            vips: self.config.vips.clone(),
        };
        self.push(Action::Fence { id, request });
    }

    /// Enters Claiming: advertise at the effective priority, then make sure the VIPs are free.
    /// Nothing is added or fenced before `claim_at` (default: `claim_lead` from now).
    pub(super) fn enter_claiming(
        &mut self,
        now: Timestamp,
        reason: Reason,
        takeover: Takeover,
        claim_at: Option<Timestamp>,
    ) {
        let lead = self.claim_lead();
        // Our claiming advert goes out now; nothing is added before a competing claimant's
        // advert had `claim_hold` (at least the claim lead) to reach us.
        let not_before = now + lead.max(self.config.claim_hold);
        let not_before = match claim_at {
            // A pre-claim: the advert is `lead` early, the VIPs come at the timer's expiry.
            Some(expiry) => expiry.max(now + self.config.claim_hold),
            None => not_before,
        };
        let claim = Claim::new(takeover, not_before, self.config.claim_backoff_initial);
        self.transition(now, Phase::Claiming(claim), reason);
        self.send_advert(now, self.effective);
        // Repeat the claiming advert halfway through the hold, so that one lost advert does not
        // hide this claim from a competing claimant.
        let half = not_before.saturating_since(now) / 2;
        if !half.is_zero() {
            self.advert_by(now + half);
        }
        match takeover {
            Takeover::Preempt(_) | Takeover::Owner => {
                // A live lower-priority master may still hold the VIPs: give it time to hear
                // our advert and step down before probing.
                self.probe = None;
                if let Some(claim) = self.claim_mut() {
                    claim.probe_at = Some(now + lead);
                }
            }
            _ => {
                if self.probe.is_none() {
                    self.start_probe(now);
                }
                self.claim_step(now);
            }
        }
    }

    /// An in-use probe answered.
    pub(super) fn on_in_use(&mut self, now: Timestamp, id: u64, result: Result<InUse, Error>) {
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        if probe.id != id || probe.result.is_some() {
            return;
        }
        probe.result = Some(match result {
            Ok(InUse::Free) => ProbeResult::Free,
            Ok(InUse::Held { holder, .. }) => ProbeResult::Held(holder),
            Err(e) => ProbeResult::Unsure(e.to_string()),
        });
        if self.state() == State::Claiming {
            self.claim_step(now);
        }
    }

    /// A fence answered.
    pub(super) fn on_fenced(&mut self, now: Timestamp, id: u64, outcome: FenceOutcome) {
        let Some(claim) = self.claim_mut().filter(|c| c.fence == Some(id)) else {
            return;
        };
        claim.fence = None;
        match outcome {
            FenceOutcome::Fenced => {
                if let Some(token) = claim.arbiter_fence.take() {
                    // The grant holder is fenced: end its grant, then acquire again.
                    self.revoke_fenced(token);
                    return;
                }
                claim.fenced = true;
                self.start_probe(now);
            }
            FenceOutcome::Failed { reason } => {
                self.alarm(now, Reason::FenceFailed { detail: reason });
                self.back_off(now);
            }
        }
    }

    /// Decides what the claim does next from the probe result in hand.
    pub(super) fn claim_step(&mut self, now: Timestamp) {
        let waiting = self.waiting_for_arbiter();
        let Some(claim) = self.claim_mut() else {
            return;
        };
        if claim.fence.is_some() || waiting || claim.claim_at.is_some_and(|t| now < t) {
            return;
        }
        claim.claim_at = None;
        let (takeover, fenced) = (claim.takeover, claim.fenced);
        let Some(result) = self.probe.as_ref().and_then(|p| p.result.clone()) else {
            return;
        };
        if self.stalled(now) {
            // The daemon was stopped (SIGSTOP, overload) long enough that the answer in hand
            // describes the segment as it was before the stall: probe again.
            self.start_probe(now);
            return;
        }
        match result {
            ProbeResult::Free => {
                let always = self.config.fencing
                    && self.config.fence_policy == super::FencePolicy::Always
                    && takeover == Takeover::MasterDown
                    && self.last_master.is_some();
                if always && !fenced {
                    self.probe = None;
                    self.start_fence(None, None);
                } else {
                    self.acquire_or_become(now);
                }
            }
            ProbeResult::Held(_) | ProbeResult::Unsure(_) => {
                let holder = match &result {
                    ProbeResult::Held(mac) => *mac,
                    _ => None,
                };
                if fenced {
                    self.alarm(
                        now,
                        Reason::FenceFailed {
                            detail: "the VIP still answers after fencing".to_string(),
                        },
                    );
                    self.back_off(now);
                } else if self.config.fencing {
                    self.probe = None;
                    self.start_fence(holder, None);
                } else {
                    let reason = match result {
                        ProbeResult::Unsure(detail) => Reason::ProbeFailed { detail },
                        _ => Reason::VipInUse,
                    };
                    self.alarm(now, reason);
                    self.back_off(now);
                }
            }
        }
    }

    /// True when the Adver_Timer is overdue by more than the probe's bound and the probe
    /// answer in hand is older than that bound: the machine was not run for a while.
    pub(super) fn stalled(&self, now: Timestamp) -> bool {
        let bound = self.config.in_use_probe_timeout;
        self.adver_timer().is_some_and(|t| now > t + bound)
            && self
                .probe
                .as_ref()
                .is_some_and(|p| now.saturating_since(p.started) > bound)
    }

    pub(super) fn become_master(&mut self, now: Timestamp) {
        let Some(claim) = self.claim() else {
            return;
        };
        let reason = if claim.fenced {
            Reason::Fenced
        } else {
            Reason::VipFree
        };
        let held = Held {
            adver_timer: claim.adver_timer,
            grant: claim.grant,
        };
        self.probe = None;
        self.holding = true;
        // Wanted again: a removal still being retried is moot.
        self.remove_retry_at = None;
        self.remove_retry_wait = Duration::ZERO;
        self.push(Action::AddVips(self.config.vips.clone()));
        if let Some(grant) = held.grant {
            self.push(Action::SetLifetime {
                vips: self.config.vips.clone(),
                until: grant.deadline,
            });
        } else {
            self.refresh_lifetime(now);
        }
        self.push(Action::Announce(self.config.vips.clone()));
        self.transition(now, Phase::Master(held), reason);
    }

    /// Waits before the next claim attempt (which starts with a fresh probe).
    pub(super) fn back_off(&mut self, now: Timestamp) {
        self.drop_grant();
        self.probe = None;
        let max = self.config.claim_backoff_max;
        let Some(backoff) = self.claim().map(|c| c.backoff) else {
            return;
        };
        let delay = self.jitter.shorten(backoff);
        if let Some(claim) = self.claim_mut() {
            claim.backoff = (backoff * 2).min(max);
            claim.fenced = false;
            claim.probe_at = Some(now + delay);
        }
    }

    /// Someone removed one of our VIPs while we were master: do not re-add blindly.
    pub(super) fn on_vip_removed(&mut self, now: Timestamp) {
        if self.state() != State::Master {
            return;
        }
        self.alarm(now, Reason::VipRemovedExternally);
        self.remove_vips();
        self.probe = None;
        self.enter_claiming(now, Reason::VipRemovedExternally, Takeover::Other, None);
    }
}
