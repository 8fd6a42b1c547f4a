//! The transport as vip-core's [`SteadyLoop`]: the idle work of every instance on a receive
//! path (a master's repeated adverts, a backup's absorbed ones) runs on that path's one
//! thread, without the async runtime.
//!
//! [`SteadyLoop::start`] posts the lease to the receive path's thread ([`super::Receiver`]),
//! which adopts it at its next turn. From then on the thread sends a master's advert at each
//! due time, and a datagram it reads for a leased instance is validated as always, then
//! absorbed by the lease (a backup's repeat of the reference advert) or ends it (anything
//! else). The thread waits with `ppoll` until the earliest deadline of all its leases, so N
//! idle instances cost one thread, one `ppoll` per advert sent or batch read, and no
//! wake-up of the async runtime. A lease ends at its [`LeaseControl::until`] unless the
//! instance pushes it out (a hung runtime stops the adverts), and a panic on the thread drops
//! every lease's report unreported, which the instance takes as a broken source (it releases).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use socket2::{SockAddr, Socket};
use vip_core::election::Advert;
use vip_core::runtime::steady::{
    Lease, LeaseControl, LeaseEnd, LeaseEndReason, LeaseReport, LeaseWork, SteadyLoop,
};

use super::endpoint::Endpoint;
use super::receiver::Core;
use super::{Received, Transport, TransportError};

impl SteadyLoop for Transport {
    fn start(&self, lease: Lease, control: Arc<LeaseControl>, report: LeaseReport) {
        let send = match lease.work {
            LeaseWork::Master { priority, .. } => self.one_datagram(priority),
            LeaseWork::Backup { .. } => None,
        };
        let core = self.receiver().core();
        core.posted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Posted {
                endpoint: Arc::clone(self.endpoint()),
                lease,
                control,
                report,
                send,
            });
        core.signal();
    }

    fn interrupt(&self) {
        self.receiver().core().signal();
    }
}

impl Transport {
    /// Whether its idle work can run as a [`SteadyLoop`]: adverts to one destination (the
    /// group, or a single unicast peer), which the receive path's thread sends as they are.
    pub fn supports_steady(&self) -> bool {
        self.destinations().len() == 1
    }
}

/// A master's advert as it goes out: one datagram to one destination.
#[derive(Debug)]
pub(super) struct Datagram {
    pub(super) sock: Arc<Socket>,
    pub(super) addr: SockAddr,
    pub(super) dst: IpAddr,
    pub(super) bytes: Arc<Vec<u8>>,
}

/// A lease handed to the receive path's thread, not adopted yet.
pub(super) struct Posted {
    endpoint: Arc<Endpoint>,
    lease: Lease,
    control: Arc<LeaseControl>,
    report: LeaseReport,
    /// Master: the advert, if the transport has it encoded at the lease's priority.
    send: Option<Datagram>,
}

impl std::fmt::Debug for Posted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Posted")
            .field("vrid", &self.endpoint.vrid)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// One running lease.
struct Running {
    endpoint: Arc<Endpoint>,
    lease: Lease,
    control: Arc<LeaseControl>,
    report: LeaseReport,
    send: Option<Datagram>,
    /// Master: the next advert's due time. Backup: when the work goes back.
    deadline: Instant,
    /// [`LeaseEnd::last`] so far.
    last: Option<Instant>,
    /// The time of its live entry in [`Leases::due`] (other entries for it are stale).
    queued: Instant,
}

/// The leases the receive path's thread runs, by endpoint, and when each needs a look: a
/// min-heap of check times, so that a wake-up costs the leases due, not all of them.
#[derive(Default)]
pub(super) struct Leases {
    running: HashMap<u64, Running>,
    due: BinaryHeap<Reverse<(Instant, u64)>>,
}

impl Leases {
    /// Takes the leases posted since the last turn. Adverts queued for the instance before its
    /// lease came (it reads no more once it has handed the work over) go to the lease first,
    /// in order.
    pub(super) fn adopt(&mut self, core: &Core) {
        let posted =
            std::mem::take(&mut *core.posted.lock().unwrap_or_else(PoisonError::into_inner));
        for p in posted {
            let deadline = match p.lease.work {
                LeaseWork::Master { first, .. } => first,
                LeaseWork::Backup { deadline, .. } => deadline,
            };
            let endpoint = Arc::clone(&p.endpoint);
            let queued = endpoint.drain();
            self.running.insert(
                endpoint.id,
                Running {
                    endpoint: p.endpoint,
                    lease: p.lease,
                    control: p.control,
                    report: p.report,
                    send: p.send,
                    deadline,
                    last: None,
                    queued: deadline,
                },
            );
            self.due.push(Reverse((deadline, endpoint.id)));
            // Once one of them ends the lease, the rest are queued again, in order.
            for (received, at) in queued {
                self.deliver(&endpoint, received, at);
            }
        }
    }

    /// A valid advert for `endpoint`, arrived `at`: to its lease, or queued for its instance.
    /// (A backup's absorbed advert moves its deadline later: its entry in the heap then comes
    /// early, and is pushed back when it does.)
    pub(super) fn deliver(&mut self, endpoint: &Arc<Endpoint>, received: Received, at: Instant) {
        let Some(run) = self.running.get_mut(&endpoint.id) else {
            return endpoint.push(received, at);
        };
        if let Some(reason) = run.classify(received.advert, at)
            && let Some(run) = self.running.remove(&endpoint.id)
        {
            run.finish(reason);
        }
    }

    /// Looks at every lease now (after a wake-up through the eventfd: a revocation or a
    /// transport gone), then runs what is due. Returns when the next look is due.
    pub(super) fn tend_all(&mut self, core: &Core, now: Instant) -> Option<Instant> {
        let ids: Vec<u64> = self.running.keys().copied().collect();
        for id in ids {
            self.tend_one(core, id, now);
        }
        self.tend(core, now)
    }

    /// Runs the due work of the leases whose check time has come: a master's adverts, a
    /// backup's deadline, the lease's own end or revocation. Returns when the next is due.
    pub(super) fn tend(&mut self, core: &Core, now: Instant) -> Option<Instant> {
        while let Some(Reverse((at, id))) = self.due.peek().copied() {
            let Some(run) = self.running.get_mut(&id).filter(|run| run.queued == at) else {
                // Stale: the lease ended, or has a later entry.
                self.due.pop();
                continue;
            };
            if at > now {
                // A backup's absorbed adverts move its deadline later without touching the
                // heap: push its entry back now rather than wake up early for it.
                let next = run.next_check();
                if next <= at {
                    return Some(at);
                }
                self.due.pop();
                run.queued = next;
                self.due.push(Reverse((next, id)));
                continue;
            }
            self.due.pop();
            self.tend_one(core, id, now);
        }
        None
    }

    /// Runs one lease's due work and queues its next look (or ends it).
    fn tend_one(&mut self, core: &Core, id: u64, now: Instant) {
        let Some(run) = self.running.get_mut(&id) else {
            return;
        };
        match run.tend(core, now) {
            Ok(next) => {
                if next != run.queued {
                    run.queued = next;
                    self.due.push(Reverse((next, id)));
                }
            }
            Err(reason) => {
                if let Some(run) = self.running.remove(&id) {
                    run.finish(reason);
                }
            }
        }
    }

    /// Ends every lease (the receive path closes).
    pub(super) fn end_all(&mut self) {
        self.due.clear();
        for (_, run) in self.running.drain() {
            run.finish(LeaseEndReason::Stopped);
        }
    }
}

impl Running {
    /// The lease's due work at `now`: `Ok(next due time)`, or `Err(why it ended)`.
    fn tend(&mut self, core: &Core, now: Instant) -> Result<Instant, LeaseEndReason> {
        if self.control.revoked() || self.endpoint.detached.load(Ordering::Acquire) {
            return Err(LeaseEndReason::Stopped);
        }
        if now >= self.deadline {
            match self.lease.work {
                LeaseWork::Master { interval, .. } => {
                    self.last = Some(self.deadline);
                    self.send_advert(core)?;
                    self.deadline = next_slot(self.deadline, interval, now);
                }
                LeaseWork::Backup { .. } => return Err(LeaseEndReason::Deadline),
            }
        }
        if now >= self.control.until() {
            return Err(LeaseEndReason::Stopped);
        }
        Ok(self.next_check())
    }

    /// When it next needs a look: its deadline or its end, whichever comes first.
    fn next_check(&self) -> Instant {
        self.deadline.min(self.control.until())
    }

    /// Sends the master's advert in place, counted as the transport counts it.
    fn send_advert(&self, core: &Core) -> Result<(), LeaseEndReason> {
        let Some(d) = &self.send else {
            return Err(LeaseEndReason::NotSent);
        };
        match d.sock.send_to(&d.bytes, &d.addr) {
            Ok(_) => {
                self.endpoint.stats.count_sent();
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Err(LeaseEndReason::NotSent)
            }
            Err(e) => {
                self.endpoint.stats.count_send_error();
                tracing::warn!(dst = %d.dst, error = %e, "sending VRRP advert failed");
                let error = TransportError::Io {
                    operation: format!("sending a VRRP advert to {} on {}", d.dst, core.interface),
                    source: e,
                };
                Err(LeaseEndReason::SendFailed(error.into()))
            }
        }
    }

    /// A valid advert under the lease: a backup absorbs the reference (moving the deadline);
    /// anything else ends the lease.
    fn classify(&mut self, advert: Advert, at: Instant) -> Option<LeaseEndReason> {
        match self.lease.work {
            LeaseWork::Backup {
                reference, window, ..
            } if advert == reference => {
                self.last = Some(at);
                self.deadline = at + window;
                None
            }
            _ => Some(LeaseEndReason::Advert { advert, at }),
        }
    }

    fn finish(self, reason: LeaseEndReason) {
        self.report.end(LeaseEnd {
            last: self.last,
            reason,
        });
    }
}

/// The first advert slot after `now` on the grid `due + k * interval` (a late loop skips the
/// slots it missed rather than sending them in a burst).
fn next_slot(due: Instant, interval: Duration, now: Instant) -> Instant {
    let mut next = due + interval;
    if next <= now && !interval.is_zero() {
        let behind = now.saturating_duration_since(next).as_nanos() / interval.as_nanos();
        let skip = u32::try_from(behind).unwrap_or(u32::MAX).saturating_add(1);
        next += interval.saturating_mul(skip);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_slot_keeps_the_grid_and_skips_missed_slots() {
        let t0 = Instant::now();
        let iv = Duration::from_millis(100);
        assert_eq!(next_slot(t0, iv, t0 + Duration::from_millis(1)), t0 + iv);
        assert_eq!(
            next_slot(t0, iv, t0 + Duration::from_millis(350)),
            t0 + Duration::from_millis(400)
        );
        assert_eq!(
            next_slot(t0, iv, t0 + Duration::from_millis(100)),
            t0 + Duration::from_millis(200)
        );
        assert_eq!(next_slot(t0, Duration::ZERO, t0), t0);
    }
}
