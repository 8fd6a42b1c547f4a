//! Planned moves of the VIPs: maintenance (this node stays out) and switchover (hand the VIPs
//! over, or take them over on request). Both speak only VRRP to the peers, so keepalived peers
//! take part unchanged:
//!
//! - **Maintenance on** releases like a stop (remove the VIPs, give the arbiter's grant back,
//!   priority-0 advert) and keeps the instance a silent Backup that never claims or preempts.
//!   Off: the instance claims at once only if nobody is master (its Master_Down_Timer ran out
//!   meanwhile) or it is the address owner; otherwise the ordinary rules apply.
//! - **Hand over** (on the holder): the same release, then the instance does not preempt the
//!   master that takes over (the backups' own priorities choose it, after Skew_Time) for as
//!   long as that master lives; if nobody takes over within Master_Down_Interval it claims
//!   again as after any master loss.
//! - **Take over** (on the target): the instance advertises at priority 254 (plus its checks'
//!   weights) and claims as a preemption: the master, vipd or keepalived, hears a higher
//!   priority and steps down (RFC 9568 section 6.4.3, whatever its preempt setting), and the
//!   claim adds the VIPs one claim lead later. The raised priority lasts while this node is
//!   master; an address owner (255) or a master at 254 with a higher address does not step
//!   down, and the claim then ends as Backup.

use crate::{PeerId, Priority, Timestamp};

use super::claim::Takeover;
use super::machine::Election;
use super::{Reason, State};

/// The priority a planned takeover advertises (the highest a non-owner may use).
pub const TAKEOVER_PRIORITY: Priority = Priority::new(254);

/// A planned switchover, as asked of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switchover {
    /// On the holder: release the VIPs to the best backup and do not take them back while it
    /// is master.
    HandOver,
    /// On the target: take the VIPs over from the current master.
    TakeOver,
}

/// A switchover under way on this instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Planned {
    /// Handed the VIPs over; no master heard since.
    HandedOver,
    /// Handed over, and `PeerId` took over: it is not preempted.
    Following(PeerId),
    /// Taking over (or holding after a takeover) at [`TAKEOVER_PRIORITY`].
    TakingOver,
}

impl Election {
    /// True while the instance is in maintenance (it does not take the VIPs).
    pub fn maintenance(&self) -> bool {
        self.maintenance
    }

    /// True while this node may hold the VIPs: its role allows it and it is not in maintenance.
    pub(super) fn may_hold(&self) -> bool {
        self.eligible && !self.maintenance
    }

    /// True while a handover keeps this backup from preempting the master that took over.
    pub(super) fn handed_over(&self) -> bool {
        matches!(
            self.planned,
            Some(Planned::HandedOver | Planned::Following(_))
        )
    }

    /// The base priority while a takeover is planned, if one is.
    pub(super) fn takeover_priority(&self) -> Option<Priority> {
        (self.planned == Some(Planned::TakingOver) && !self.config.priority.is_owner())
            .then_some(TAKEOVER_PRIORITY)
    }

    pub(super) fn on_maintenance(&mut self, now: Timestamp, on: bool) {
        if self.maintenance == on {
            return;
        }
        self.maintenance = on;
        self.set_planned(now, None, Reason::Maintenance { on });
        if on {
            match self.state() {
                State::Master | State::Claiming => {
                    self.release(now, State::Backup, Reason::Maintenance { on })
                }
                State::Backup => self.probe = None,
                State::Initialize | State::Fault => {}
            }
            return;
        }
        self.rejoin(now, Reason::Maintenance { on });
    }

    pub(super) fn on_switchover(&mut self, now: Timestamp, switchover: Switchover) {
        if !self.may_hold() || self.started.is_none() {
            return;
        }
        match (switchover, self.state()) {
            (Switchover::HandOver, State::Master | State::Claiming) => {
                self.set_planned(now, Some(Planned::HandedOver), Reason::Switchover);
                self.release(now, State::Backup, Reason::Switchover);
            }
            (Switchover::TakeOver, State::Backup) => {
                let master = self.backup().and_then(|b| b.master).map(|(peer, _)| peer);
                self.set_planned(now, Some(Planned::TakingOver), Reason::Takeover);
                let takeover = master.map_or(Takeover::Other, Takeover::Preempt);
                self.enter_claiming(now, Reason::Takeover, takeover, None);
            }
            _ => {}
        }
    }

    /// A backup heard a live master: a handover now follows it (and only it).
    pub(super) fn planned_master_heard(&mut self, peer: PeerId) {
        match self.planned {
            Some(Planned::HandedOver) => self.planned = Some(Planned::Following(peer)),
            Some(Planned::Following(p)) if p != peer => self.planned = None,
            _ => {}
        }
    }

    /// The machine entered `to` for `reason`: a claim ends a handover (the master it followed
    /// is gone), and leaving Claiming and Master ends a takeover (its priority goes back, for
    /// the same reason).
    pub(super) fn planned_after_transition(&mut self, now: Timestamp, to: State, reason: Reason) {
        let ends = match self.planned {
            Some(Planned::TakingOver) => !matches!(to, State::Claiming | State::Master),
            Some(Planned::HandedOver | Planned::Following(_)) => to != State::Backup,
            None => false,
        };
        if ends {
            self.set_planned(now, None, reason);
        }
    }

    /// Sets the planned move and recomputes the effective priority (a takeover raises it),
    /// reporting a change with `reason`.
    fn set_planned(&mut self, now: Timestamp, planned: Option<Planned>, reason: Reason) {
        self.planned = planned;
        self.refresh_priority(now, reason);
    }

    /// Maintenance ended: claim at once when nobody is master (the Master_Down_Timer ran out
    /// meanwhile) or as the address owner; otherwise wait as any backup does.
    fn rejoin(&mut self, now: Timestamp, reason: Reason) {
        if self.state() != State::Backup || !self.may_hold() {
            return;
        }
        if self.effective.is_owner() {
            self.enter_claiming(now, reason, Takeover::Owner, None);
        } else if self.backup().is_some_and(|b| b.master_down_timer.is_none()) {
            self.enter_claiming(now, reason, Takeover::MasterDown, None);
        }
    }
}
