//! The instance task's side of the steady loop (see the module above): when to hand the idle
//! work to the steady loop, and how to bring the machine up to date when it comes back. It is
//! an `impl` block of the instance task, kept here so that a reader of the runtime's main path
//! (`instance.rs`) can skip it.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use crate::Timestamp;
use crate::election::{Action, Advert, Input, Steady};
use crate::runtime::instance::Instance;
use crate::runtime::message::Message;
use crate::runtime::steady::{LEASE_MAX, LEASE_RENEW, Lease, LeaseEnd, LeaseEndReason, LeaseWork};
use crate::runtime::timer::DeadlineTimer;

/// A backup's lease: long, since its loop only reads (see `lease`); its deadline or any other
/// advert ends it much sooner.
const BACKUP_LEASE: Duration = Duration::from_secs(3600);

/// A deadline nearer than this is not worth a lease: handing the work over and back costs two
/// thread wake-ups.
const MIN_LEAD: Duration = Duration::from_millis(2);

impl Instance {
    /// The lease to give the steady loop now, if there is one and the machine is steady.
    pub(in crate::runtime) fn lease(&self) -> Option<Lease> {
        if self.steady.is_none() || self.stopping || self.outstanding > 0 {
            return None;
        }
        let now = self.clock.now();
        let work = match self.machine.steady()? {
            Steady::Master {
                priority,
                next_advert,
                interval,
            } => {
                if next_advert.saturating_since(now) < MIN_LEAD {
                    return None;
                }
                LeaseWork::Master {
                    priority,
                    first: self.std_instant(next_advert),
                    interval,
                }
            }
            Steady::Backup {
                master,
                priority,
                deadline,
                window,
            } => {
                // The deadline must come from the last advert fed (the one the loop repeats).
                let (reference, at) = self.last_advert?;
                if reference.from != master
                    || reference.priority != priority
                    || at + window != deadline
                    || deadline.saturating_since(now) < MIN_LEAD
                {
                    return None;
                }
                LeaseWork::Backup {
                    reference,
                    deadline: self.std_instant(deadline),
                    window,
                }
            }
        };
        // A backup's loop only reads: if this task hangs, the loop changes nothing the task
        // would not (no takeover either way), so its lease needs no extending. A master's loop
        // sends: it must stop soon after this task does.
        let until = match work {
            LeaseWork::Master { .. } => now + LEASE_MAX,
            LeaseWork::Backup { .. } => now + BACKUP_LEASE,
        };
        Some(Lease {
            work,
            until: self.std_instant(until),
        })
    }

    /// Runs `lease` on the steady loop until it ends, revoking it as soon as anything else
    /// arrives in the inbox; then brings the machine up to date and handles what arrived
    /// meanwhile, in order.
    /// The task's `timer` extends a master's lease every [`LEASE_RENEW`] meanwhile.
    pub(in crate::runtime) async fn delegate(
        &mut self,
        lease: Lease,
        inbox: &mut UnboundedReceiver<Message>,
        timer: &mut DeadlineTimer,
    ) {
        let Some(steady) = &self.steady else {
            return;
        };
        steady.start(lease);
        let master = matches!(lease.work, LeaseWork::Master { .. });
        if master {
            timer.reset(Instant::now() + LEASE_RENEW);
        }
        let mut arrived = Vec::new();
        let end = loop {
            tokio::select! {
                biased;
                got = inbox.recv() => match got {
                    Some(Message::Steady(end)) => break end,
                    Some(message) => {
                        if arrived.is_empty()
                            && let Some(steady) = &self.steady
                        {
                            steady.revoke();
                        }
                        arrived.push(message);
                    }
                    // The instance holds a sender itself: the inbox cannot close.
                    None => return,
                },
                () = timer.wait(), if master && arrived.is_empty() => {
                    // Alive: push the lease's end out (the loop reads it when it next wakes).
                    let now = Instant::now();
                    if let Some(steady) = &self.steady {
                        steady.extend((now + LEASE_MAX).into_std());
                    }
                    timer.reset(now + LEASE_RENEW);
                }
            }
        };
        self.finish_lease(lease, end);
        for message in arrived {
            self.receive(message);
        }
    }

    /// Brings the machine up to date with what the lease did, then handles why it ended.
    fn finish_lease(&mut self, lease: Lease, end: LeaseEnd) {
        let last = end.last.map(|at| self.timestamp(at));
        match lease.work {
            LeaseWork::Master { priority, .. } => {
                if let Some(at) = last {
                    // The Timer of the last advert due, as if the machine had run for each.
                    // Its SendAdvert is that advert, already sent, unless the loop could not.
                    let sent = !matches!(end.reason, LeaseEndReason::NotSent);
                    self.replay_advert_timer(at, sent);
                }
                if let LeaseEndReason::SendFailed(e) = end.reason {
                    self.advert_result(priority, Err(e));
                    return;
                }
            }
            LeaseWork::Backup { reference, .. } => {
                if let Some(at) = last {
                    self.feed_advert_at(reference, at);
                }
            }
        }
        match end.reason {
            LeaseEndReason::Advert { advert, at } => {
                let at = self.timestamp(at);
                self.feed_advert_at(advert, at);
            }
            LeaseEndReason::Broken(e) => self.source_failed(&e),
            // The deadline is the machine's own: the loop's next turn fires it.
            LeaseEndReason::Stopped
            | LeaseEndReason::Deadline
            | LeaseEndReason::NotSent
            | LeaseEndReason::SendFailed(_) => {}
        }
    }

    /// Feeds the Adver_Timer of an advert due at `at`; its SendAdvert is dropped when the loop
    /// already `sent` it.
    fn replay_advert_timer(&mut self, at: Timestamp, sent: bool) {
        self.machine.handle(at, Input::Timer);
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::SendAdvert { .. } if sent => {}
                other => self.dispatch(other),
            }
        }
    }

    /// Feeds `advert`, received at `at`, and remembers it.
    pub(in crate::runtime) fn feed_advert_at(&mut self, advert: Advert, at: Timestamp) {
        self.last_advert = Some((advert, at));
        self.feed_at(at, Input::Advert(advert));
    }

    fn std_instant(&self, at: Timestamp) -> std::time::Instant {
        self.clock.instant(at).into_std()
    }

    fn timestamp(&self, at: std::time::Instant) -> Timestamp {
        self.clock.timestamp(tokio::time::Instant::from_std(at))
    }
}
