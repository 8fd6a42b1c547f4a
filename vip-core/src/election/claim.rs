//! Fence-first claiming: advertise, probe, fence if needed, re-probe, and only then add.
//!
//! Decisions (see also `design.md`):
//! - The in-use probe starts `in_use_probe_timeout` before the Master_Down_Timer expires, so a
//!   hard failover still completes at 3 x Master_Adver_Interval + Skew_Time when the probe says
//!   Free in time. Any advert accepted from the master (and any lower-priority advert a
//!   preempting backup discards) invalidates the outstanding probe: a result counts only if the
//!   probe started after the master was last heard.
//! - A priority-0 release starts the probe at once (the Master_Down_Timer is only Skew_Time).
//! - A preemption (the lower-priority master is alive and holds the VIPs) probes only after the
//!   claiming advert had `in_use_probe_timeout` to make the master step down.
//! - A probe error means "cannot be sure" and is treated like "in use".
//! - With `FencePolicy::Always`, a Master_Down takeover with a known last master fences it even
//!   when the probe says Free; a priority-0 release, a preemption or an owner start do not.
//! - After fencing, the VIPs are probed again; only a Free answer adds them. Failure raises an
//!   alarm and retries after a back-off that doubles from `claim_backoff_initial` to
//!   `claim_backoff_max`, shortened by up to a quarter by seeded jitter.

use crate::{Error, FenceOutcome, FenceRequest, InUse, MacAddr, PeerId, Timestamp};

use super::machine::Election;
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
    /// When the probe was started (an answer older than its bound is stale).
    pub(super) started: Timestamp,
}

impl Election {
    pub(super) fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// Forgets every claim-related thing (probe, fence, back-off, scheduled probe).
    pub(super) fn reset_claim(&mut self) {
        self.probe = None;
        self.probe_at = None;
        self.fence = None;
        self.fenced = false;
        self.backoff = self.config.claim_backoff_initial;
    }

    /// Backup: when to start the probe ahead of the Master_Down_Timer.
    pub(super) fn early_probe_deadline(&self) -> Option<Timestamp> {
        if self.state != State::Backup
            || !self.eligible
            || self.probe.is_some()
            || matches!(self.cause, Takeover::Preempt(_))
        {
            return None;
        }
        self.master_down_timer
            .map(|t| t - self.config.in_use_probe_timeout)
    }

    pub(super) fn start_probe(&mut self, now: Timestamp) {
        let id = self.next_id();
        self.probe = Some(Probe {
            id,
            result: None,
            started: now,
        });
        self.push(Action::ProbeInUse {
            id,
            vips: self.config.vips.clone(),
        });
    }

    fn start_fence(&mut self, holder_mac: Option<MacAddr>) {
        let id = self.next_id();
        self.fence = Some(id);
        let request = FenceRequest {
            peer: self.last_master,
            holder_mac,
            vips: self.config.vips.clone(),
        };
        self.push(Action::Fence { id, request });
    }

    /// Enters Claiming: advertise at the effective priority, then make sure the VIPs are free.
    pub(super) fn enter_claiming(&mut self, now: Timestamp, reason: Reason, takeover: Takeover) {
        self.master_down_timer = None;
        self.master = None;
        self.fence = None;
        self.fenced = false;
        self.probe_at = None;
        self.backoff = self.config.claim_backoff_initial;
        self.takeover = takeover;
        // Another backup may claim at the same instant (equal or close priorities): with a
        // claim hold, wait until its claiming advert has arrived before adding.
        self.claim_hold = match takeover {
            Takeover::Owner => None,
            _ if self.config.claim_hold.is_zero() => None,
            _ => Some(now + self.config.claim_hold),
        };
        self.transition(now, State::Claiming, reason);
        self.send_advert(now, self.effective);
        match takeover {
            Takeover::Preempt(_) => {
                // The lower master still holds the VIPs: give it time to step down.
                self.probe = None;
                self.probe_at = Some(now + self.config.in_use_probe_timeout);
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
        if self.state == State::Claiming {
            self.claim_step(now);
        }
    }

    /// A fence answered.
    pub(super) fn on_fenced(&mut self, now: Timestamp, id: u64, outcome: FenceOutcome) {
        if self.state != State::Claiming || self.fence != Some(id) {
            return;
        }
        self.fence = None;
        match outcome {
            FenceOutcome::Fenced => {
                self.fenced = true;
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
        if self.state != State::Claiming || self.fence.is_some() {
            return;
        }
        let Some(result) = self.probe.as_ref().and_then(|p| p.result.clone()) else {
            return;
        };
        // Stall: the Adver_Timer is overdue by more than the probe's bound, so the daemon was
        // stopped (SIGSTOP, overload) and the answer in hand describes the segment as it was
        // before the stall. Probe again rather than act on it.
        if self
            .adver_timer
            .is_some_and(|t| now > t + self.config.in_use_probe_timeout)
            && self
                .probe
                .as_ref()
                .is_some_and(|p| now.saturating_since(p.started) > self.config.in_use_probe_timeout)
        {
            self.start_probe(now);
            return;
        }
        match result {
            ProbeResult::Free => {
                let always = self.config.fencing
                    && self.config.fence_policy == super::FencePolicy::Always
                    && self.takeover == Takeover::MasterDown
                    && self.last_master.is_some();
                if always && !self.fenced {
                    self.probe = None;
                    self.start_fence(None);
                } else if self.claim_hold.is_some_and(|t| now < t) {
                    // Wait for the hold to pass (the timer calls claim_step again).
                } else {
                    self.become_master(now);
                }
            }
            ProbeResult::Held(_) | ProbeResult::Unsure(_) => {
                let holder = match &result {
                    ProbeResult::Held(mac) => *mac,
                    _ => None,
                };
                if self.fenced {
                    self.alarm(
                        now,
                        Reason::FenceFailed {
                            detail: "the VIP still answers after fencing".to_string(),
                        },
                    );
                    self.back_off(now);
                } else if self.config.fencing {
                    self.probe = None;
                    self.start_fence(holder);
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

    fn become_master(&mut self, now: Timestamp) {
        let reason = if self.fenced {
            Reason::Fenced
        } else {
            Reason::VipFree
        };
        self.probe = None;
        self.fenced = false;
        self.claim_hold = None;
        self.backoff = self.config.claim_backoff_initial;
        self.holding = true;
        self.push(Action::AddVips(self.config.vips.clone()));
        self.push(Action::Announce(self.config.vips.clone()));
        self.transition(now, State::Master, reason);
    }

    /// Waits before the next claim attempt (which starts with a fresh probe).
    fn back_off(&mut self, now: Timestamp) {
        let delay = self.jitter.shorten(self.backoff);
        self.backoff = (self.backoff * 2).min(self.config.claim_backoff_max);
        self.probe = None;
        self.fenced = false;
        self.probe_at = Some(now + delay);
    }

    /// Someone removed one of our VIPs while we were master: do not re-add blindly.
    pub(super) fn on_vip_removed(&mut self, now: Timestamp) {
        if self.state != State::Master {
            return;
        }
        self.alarm(now, Reason::VipRemovedExternally);
        self.remove_vips();
        self.probe = None;
        self.enter_claiming(now, Reason::VipRemovedExternally, Takeover::Other);
    }
}
