//! [`Election::steady`]: the states a runtime may keep going without running the machine on
//! every advert.
//!
//! An idle pair spends nearly all its CPU on one thing: the master sends the same advert every
//! interval, and the backup receives it and pushes its Master_Down_Timer out again. Neither
//! changes anything else in the machine. A runtime may hand that repetition to a small loop of
//! its own (vip's runtime does, on a thread of its own, see `runtime::steady`) as long as the
//! machine vouches that nothing else is pending, and then bring the machine up to date with one
//! input when the loop gives the work back:
//!
//! - a master's loop sent adverts at `next_advert`, `next_advert + interval`, ...; feeding
//!   [`super::Input::Timer`] at the last of those instants leaves the machine exactly where it
//!   would be had it run for each (its [`super::Action::SendAdvert`] is the advert the loop
//!   already sent);
//! - a backup's loop absorbed adverts equal to the last one the machine accepted from the
//!   master; feeding that advert again at the arrival of the last one moves the deadline where
//!   running the machine for each would have moved it.
//!
//! Anything else (another advert, a check or role change, a command, the deadline itself)
//! goes to the machine as usual.

use std::time::Duration;

use super::claim::Takeover;
use super::machine::{Election, advertisement_interval};
use super::state::State;
use super::timers::centis;
use crate::{PeerId, Priority, Timestamp};

/// A steady state of the machine (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steady {
    /// Master: the only pending deadline is the Adver_Timer, at `next_advert`; each expiry
    /// sends an advert at `priority` and sets the next one `interval` later.
    Master {
        /// The priority of every advert.
        priority: Priority,
        /// When the next advert is due.
        next_advert: Timestamp,
        /// The Advertisement_Interval.
        interval: Duration,
    },
    /// Backup following `master`, which advertises at `priority`: the only pending deadline is
    /// `deadline`, `window` after the master's last advert, and every further advert from it
    /// that equals that one moves the deadline to its arrival plus `window`.
    Backup {
        /// The master followed.
        master: PeerId,
        /// Its advertised priority (at least ours: its adverts never lead to a preemption).
        priority: Priority,
        /// The machine's next deadline (Master_Down_Timer, or the claim's lead time before it).
        deadline: Timestamp,
        /// How long after an advert from the master the deadline falls.
        window: Duration,
    },
}

impl Election {
    /// The steady state the machine is in, if any: a master with nothing pending but its next
    /// advert, or a backup with nothing pending but the deadline that the current master's
    /// adverts keep pushing out (no preempt_delay, no removal retry, no probe, no claim).
    pub fn steady(&self) -> Option<Steady> {
        // A master under a grant has a second deadline (and renewals to take): not steady.
        if self.remove_retry_at.is_some() || self.started.is_none() || self.grant().is_some() {
            return None;
        }
        // Nor is one whose adverts refresh its VIPs' kernel lifetime (`lifetime.rs`).
        if self.state() == State::Master && self.refreshes_lifetime() {
            return None;
        }
        match self.state() {
            State::Master => Some(Steady::Master {
                priority: self.effective,
                next_advert: self.adver_timer()?,
                interval: centis(advertisement_interval(&self.config)),
            }),
            State::Backup => {
                let follow = self.backup()?;
                let (master, priority) = follow.master?;
                if priority < self.effective
                    || self.preempt_at.is_some()
                    || self.probe.is_some()
                    || follow.cause != Takeover::MasterDown
                {
                    return None;
                }
                let master_down = follow.master_down_timer?;
                let deadline = self.poll_timeout()?;
                let last_advert = master_down - self.master_down_interval();
                Some(Steady::Backup {
                    master,
                    priority,
                    deadline,
                    window: deadline.saturating_since(last_advert),
                })
            }
            State::Initialize | State::Claiming | State::Fault => None,
        }
    }
}
