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

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use socket2::{SockAddr, Socket};
use vip_core::election::Advert;
use vip_core::runtime::{
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
}

/// The leases the receive path's thread runs, by endpoint.
#[derive(Default)]
pub(super) struct Leases {
    running: HashMap<u64, Running>,
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
                },
            );
            // Once one of them ends the lease, the rest are queued again, in order.
            for (received, at) in queued {
                self.deliver(&endpoint, received, at);
            }
        }
    }

    /// A valid advert for `endpoint`, arrived `at`: to its lease, or queued for its instance.
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

    /// Runs every lease's due work at `now`: revocations, a master's adverts, a backup's
    /// deadline, the lease's own end. Returns when the next one is due.
    pub(super) fn tend(&mut self, core: &Core, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut ended = Vec::new();
        for (id, run) in &mut self.running {
            match run.tend(core, now) {
                Ok(at) => next = Some(next.map_or(at, |n| n.min(at))),
                Err(reason) => ended.push((*id, reason)),
            }
        }
        for (id, reason) in ended {
            if let Some(run) = self.running.remove(&id) {
                run.finish(reason);
            }
        }
        next
    }

    /// Ends every lease (the receive path closes).
    pub(super) fn end_all(&mut self) {
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
        let until = self.control.until();
        if now >= until {
            return Err(LeaseEndReason::Stopped);
        }
        Ok(self.deadline.min(until))
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
