//! The transport as vip-core's [`SteadyLoop`]: an idle master's adverts and an idle backup's
//! receptions, on the instance's steady thread, without the async runtime.
//!
//! While a lease runs, the socket is taken off the tokio reactor (otherwise every datagram
//! would wake the runtime thread too) and the loop waits on it and on its eventfd with
//! `ppoll`, whose nanosecond timeout is the next deadline. Per idle advert that is one `ppoll`
//! and one `sendto` for a master, one `ppoll` and one `recvmmsg` for a backup. Every datagram
//! goes through the same validation and counters as [`Transport::poll_recv`]. IPv4 only
//! ([`Transport::supports_steady`]); the reactor registration is restored before the lease's
//! end is reported.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use vip_core::runtime::{Lease, LeaseControl, LeaseEnd, LeaseEndReason, LeaseWork, SteadyLoop};

use super::transport::{is_fatal, register};
use super::{DropReason, Transport, TransportError, sys};
use crate::wire::AddressFamily;

impl SteadyLoop for Transport {
    fn run(&self, lease: &Lease, control: &LeaseControl) -> LeaseEnd {
        let mut at = Progress {
            deadline: match lease.work {
                LeaseWork::Master { first, .. } => first,
                LeaseWork::Backup { deadline, .. } => deadline,
            },
            last: None,
        };
        if self.family() != AddressFamily::Ipv4 {
            return LeaseEnd {
                last: None,
                reason: LeaseEndReason::Stopped,
            };
        }
        // Dropping the registration cannot fail.
        let _ = self.set_registered(false);
        let reason = self.keep(lease, control, &mut at);
        let reason = match self.set_registered(true) {
            Ok(()) => reason,
            Err(e) => LeaseEndReason::Broken(e.into()),
        };
        sys::eventfd_drain(&self.wake);
        LeaseEnd {
            last: at.last,
            reason,
        }
    }

    fn interrupt(&self) {
        sys::eventfd_signal(&self.wake);
    }
}

impl Transport {
    /// Whether [`SteadyLoop::run`] can keep this transport's idle work: IPv4 adverts to one
    /// destination (the group, or a single unicast peer), which go out in place
    /// ([`Transport::try_send`]).
    pub fn supports_steady(&self) -> bool {
        self.family() == AddressFamily::Ipv4 && self.destinations().len() == 1
    }

    /// Takes the socket off the reactor, or puts it back. Putting it back reports data already
    /// queued (epoll checks readiness when a descriptor is added).
    fn set_registered(&self, on: bool) -> Result<(), TransportError> {
        let mut rx = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        match (on, rx.reg.is_some()) {
            (true, false) => rx.reg = Some(register(&self.sock)?),
            (false, true) => rx.reg = None,
            _ => {}
        }
        Ok(())
    }

    /// The lease's loop; `at` is kept up to date.
    fn keep(&self, lease: &Lease, control: &LeaseControl, at: &mut Progress) -> LeaseEndReason {
        loop {
            if control.revoked() {
                return LeaseEndReason::Stopped;
            }
            // A datagram read with the previous one is handled before waiting again.
            if let Some(end) = self.take_pending(lease, at) {
                return end;
            }
            let now = Instant::now();
            if now >= at.deadline {
                match lease.work {
                    LeaseWork::Master {
                        priority, interval, ..
                    } => {
                        at.last = Some(at.deadline);
                        match self.try_send(priority) {
                            Some(Ok(())) => {}
                            Some(Err(e)) => return LeaseEndReason::SendFailed(e.into()),
                            None => return LeaseEndReason::NotSent,
                        }
                        at.deadline = next_slot(at.deadline, interval, now);
                        continue;
                    }
                    LeaseWork::Backup { .. } => return LeaseEndReason::Deadline,
                }
            }
            let until = control.until();
            if now >= until {
                return LeaseEndReason::Stopped;
            }
            let wait = at.deadline.min(until).saturating_duration_since(now);
            match sys::wait_two(&*self.sock, &self.wake, wait) {
                Ok((readable, woken)) => {
                    if readable && let Some(end) = self.read_ready(lease, at) {
                        return end;
                    }
                    if woken {
                        // The loop's top sees the revocation (a stale signal from an earlier
                        // lease is harmless: it only costs this turn).
                        sys::eventfd_drain(&self.wake);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return LeaseEndReason::Broken(self.receive_failed(e).into()),
            }
        }
    }

    /// Reads what the socket has (up to two datagrams per call, as `poll_recv`); returns an end
    /// if one of them needs the machine.
    fn read_ready(&self, lease: &Lease, at: &mut Progress) -> Option<LeaseEndReason> {
        let mut guard = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let rx = &mut *guard;
        match sys::recv_two(&*self.sock, &mut rx.first, &mut rx.second) {
            Ok([first, second]) => {
                rx.pending = second;
                let first = first.and_then(|len| self.take_v4(&rx.first, len))?;
                at.classify(lease, first.advert)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
            Err(e) if is_fatal(&e) => Some(LeaseEndReason::Broken(self.receive_failed(e).into())),
            Err(_) => {
                self.stats.count_drop(DropReason::Io);
                None
            }
        }
    }

    /// Handles the datagram stashed by the last read, if any.
    fn take_pending(&self, lease: &Lease, at: &mut Progress) -> Option<LeaseEndReason> {
        let mut guard = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let rx = &mut *guard;
        let len = rx.pending.take()?;
        let received = self.take_v4(&rx.second, len)?;
        at.classify(lease, received.advert)
    }
}

/// Where a lease's loop stands: its next deadline, and [`LeaseEnd::last`] so far.
struct Progress {
    deadline: Instant,
    last: Option<Instant>,
}

impl Progress {
    /// A valid advert under `lease`: a backup absorbs the reference (moving the deadline);
    /// anything else ends the lease.
    fn classify(
        &mut self,
        lease: &Lease,
        advert: vip_core::election::Advert,
    ) -> Option<LeaseEndReason> {
        let at = Instant::now();
        match lease.work {
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
