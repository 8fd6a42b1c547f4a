//! Effective priority (tracked checks), role gating, fault, and address results.

use std::time::Duration;

use crate::{Error, Priority, Role, Timestamp};

use super::claim::Takeover;
use super::machine::Election;
use super::phase::Phase;
use super::{AddressOp, CheckStatus, EventKind, Reason, State};

impl Election {
    /// Base priority plus the weights that apply (keepalived semantics): a positive weight
    /// while its check passes, a negative weight while its check fails. Weight-0 checks only
    /// cause Fault. Clamped to 1..=254; an owner stays 255.
    pub(super) fn compute_priority(&self) -> Priority {
        let sum: i32 = self
            .config
            .checks
            .iter()
            .zip(&self.checks)
            .map(|(spec, status)| match (spec.weight, status) {
                (w, CheckStatus::Passing) if w > 0 => w,
                (w, CheckStatus::Failing) if w < 0 => w,
                _ => 0,
            })
            .fold(0i32, i32::saturating_add);
        self.base_priority().with_weight(sum)
    }

    /// The configured priority, or the role-derived one while role-gated and set.
    fn base_priority(&self) -> Priority {
        if let Some(p) = self.takeover_priority() {
            return p;
        }
        match self.role_priority {
            Some(p) if self.config.role_gated && !self.config.priority.is_owner() => p,
            _ => self.config.priority,
        }
    }

    /// A new role-derived priority: recompute the effective priority, and as Master tell the
    /// backups at once (a now-higher claimant preempts, a now-lower master steps down).
    pub(super) fn on_role_priority(&mut self, now: Timestamp, priority: Priority) {
        let priority = Some(Priority::new(priority.get().clamp(1, 254)));
        if priority == self.role_priority {
            return;
        }
        self.role_priority = priority;
        if self.refresh_priority(now, Reason::RolePriority)
            && matches!(self.state(), State::Master | State::Claiming)
        {
            self.send_advert(now, self.effective);
        }
    }

    /// Recomputes the effective priority. When it changed: reports it (once started) with
    /// `reason` and returns true.
    pub(super) fn refresh_priority(&mut self, now: Timestamp, reason: Reason) -> bool {
        let priority = self.compute_priority();
        if priority == self.effective {
            return false;
        }
        self.effective = priority;
        if self.started.is_some() {
            self.event(now, EventKind::PriorityChanged { priority }, reason);
        }
        true
    }

    /// The reason the instance must be in Fault, if any.
    pub(super) fn fault_reason(&self) -> Option<Reason> {
        if !self.link_up {
            return Some(Reason::LinkDown);
        }
        if self.address_fault {
            return Some(Reason::AddressError {
                detail: "a permanent address error is not cleared yet".to_string(),
            });
        }
        self.config
            .checks
            .iter()
            .zip(&self.checks)
            .position(|(spec, status)| spec.weight == 0 && *status == CheckStatus::Failing)
            .map(|index| Reason::CheckFault { index })
    }

    /// Leaves Master or Claiming for `to`: removes held VIPs and, while the link is up, sends
    /// a priority-0 advert so that a backup takes over after Skew_Time.
    pub(super) fn release(&mut self, now: Timestamp, to: State, reason: Reason) {
        let was_active = matches!(self.state(), State::Master | State::Claiming);
        if self.holding {
            self.remove_vips();
        }
        // A claim's grant goes back before the priority-0 advert too.
        self.drop_grant();
        if was_active && self.link_up {
            self.send_advert(now, Priority::RELEASE);
        }
        if to == State::Backup {
            self.enter_backup(now, reason);
        } else {
            // Out of the election (Fault; Initialize is left through Stop).
            self.probe = None;
            let phase = match to {
                State::Initialize => Phase::Initialize,
                _ => Phase::Fault,
            };
            self.transition(now, phase, reason);
        }
    }

    /// Enters or leaves Fault after a link, check or address change.
    fn update_fault(&mut self, now: Timestamp, reason: Reason) {
        if self.started.is_none() {
            return;
        }
        let fault = self.fault_reason().is_some();
        if fault && self.state() != State::Fault {
            self.release(now, State::Fault, reason);
        } else if !fault && self.state() == State::Fault {
            self.enter_backup(now, Reason::FaultCleared);
            if self.effective.is_owner() && self.may_claim() {
                self.enter_claiming(now, Reason::Owner, Takeover::Owner, None);
            }
        }
    }

    pub(super) fn on_role(&mut self, now: Timestamp, role: Role) {
        if !self.config.role_gated {
            return;
        }
        let eligible = role.is_primary();
        if eligible == self.eligible {
            return;
        }
        self.eligible = eligible;
        if !eligible {
            match self.state() {
                // Self-fencing: release at once.
                State::Master | State::Claiming => {
                    self.release(now, State::Backup, Reason::RoleLost { role });
                }
                State::Backup => self.probe = None,
                State::Initialize | State::Fault => {}
            }
            return;
        }
        if self.state() != State::Backup || !self.may_claim() {
            return;
        }
        if self.effective.is_owner() {
            self.enter_claiming(now, Reason::Owner, Takeover::Owner, None);
        } else if self.backup().is_some_and(|b| b.master_down_timer.is_none()) {
            // The Master_Down_Timer expired while we were ineligible: nobody is master. That
            // is a master-down takeover (a released master keeps its release): with
            // FencePolicy::Always the silent last master is fenced.
            let cause = self.backup().map_or(Takeover::MasterDown, |b| b.cause);
            let takeover = match cause {
                Takeover::Released(peer) => Takeover::Released(peer),
                _ => Takeover::MasterDown,
            };
            self.enter_claiming(now, Reason::RoleGained, takeover, None);
        }
    }

    pub(super) fn on_check(&mut self, now: Timestamp, index: usize, status: CheckStatus) {
        let Some(slot) = self.checks.get_mut(index) else {
            return;
        };
        if *slot == status {
            return;
        }
        *slot = status;
        if self.refresh_priority(now, Reason::CheckChanged { index })
            && self.state() == State::Master
        {
            // Tell the backups at once, so a now-higher backup preempts promptly.
            self.send_advert(now, self.effective);
        }
        let is_fault_check = self.config.checks.get(index).is_some_and(|c| c.weight == 0);
        if is_fault_check {
            self.update_fault(now, Reason::CheckFault { index });
        }
    }

    pub(super) fn on_link(&mut self, now: Timestamp, up: bool) {
        if self.link_up == up {
            return;
        }
        self.link_up = up;
        if up {
            self.address_fault = false;
        }
        self.update_fault(now, Reason::LinkDown);
    }

    pub(super) fn on_address(&mut self, now: Timestamp, op: AddressOp, result: Result<(), Error>) {
        let error = match result {
            Ok(()) => {
                if op == AddressOp::Remove && !self.holding {
                    self.remove_retry_at = None;
                    self.remove_retry_wait = Duration::ZERO;
                    self.retry_release();
                }
                return;
            }
            Err(error) => error,
        };
        let reason = Reason::AddressError {
            detail: error.to_string(),
        };
        self.alarm(now, reason.clone());
        if op == AddressOp::Remove
            && !self.holding
            && self.started.is_some()
            && error.is_transient()
        {
            // The VIPs may still be on the interface although this node let them go: ask again
            // (backing off) until a removal succeeds or the VIPs are wanted again. A permanent
            // error (no such interface, no permission) only alarms: retrying cannot help.
            self.retry_remove(now);
        }
        if op != AddressOp::Add || self.state() != State::Master {
            return;
        }
        // We cannot be sure we hold the VIPs: remove them and step back.
        if error.is_transient() {
            self.release(now, State::Backup, reason);
        } else {
            self.address_fault = true;
            self.release(now, State::Fault, reason);
        }
    }
}
