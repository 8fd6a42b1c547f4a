//! The steady loop: an idle master's adverts and an idle backup's receptions, kept off the async
//! runtime on the loop's own thread (the transport runs one per receive path, for every
//! instance on it).
//!
//! # Why
//!
//! An idle pair at 10 cs wakes ten times a second per node and instance, and with nothing else
//! to do, what one wake-up costs is the daemon's idle CPU. On the async runtime a wake-up runs the
//! reactor, the scheduler and the instance task, which touch far more (cold) memory than sending or
//! reading one datagram: measured per wake-up, that was about twice keepalived's user time. A
//! [`SteadyLoop`] does the same work in a plain loop (wait, send or read, compare), and the
//! async runtime sleeps meanwhile.
//!
//! # Protocol
//!
//! The instance task gives the loop a [`Lease`] only when the machine vouches for a steady
//! state ([`crate::election::Election::steady`]). The loop runs it on its thread until
//! something needs the machine, and reports a [`LeaseEnd`] into the instance's
//! inbox; the instance then feeds the machine one input that brings it up to date (see
//! `crate::election::Steady`) and goes on as usual. While a lease runs, the task does not
//! poll its [`super::AdvertSource`] (the loop owns the socket's reading) nor its timer.
//!
//! - **A master's lease is short unless extended.** It ends by itself at
//!   [`LeaseControl::until`], at most [`LEASE_MAX`] away, and the instance task pushes that
//!   out every [`LEASE_RENEW`] (one wake-up of the async runtime). If the async side hangs or
//!   dies, adverts stop within [`LEASE_MAX`] and the peer takes over, as they would without
//!   the loop. A backup's loop only reads, so a hung async side changes nothing through it
//!   (no takeover either way), and its lease is not extended: it ends at its deadline.
//! - **Anything else ends it.** A message in the instance's inbox (a command, a check or role
//!   result, a handle's advert) makes the task revoke the lease ([`LeaseControl`]); the loop returns
//!   promptly and the message is handled after the machine is brought up to date.
//! - **The loop decides nothing.** A master's loop sends the advert the machine would have sent,
//!   on the machine's schedule; a backup's loop absorbs only adverts equal to the last one the
//!   machine accepted and gives back everything else, and the deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::message::Message;

mod delegate;
use crate::election::Advert;
use crate::{Error, Priority};

/// How far ahead a lease's end lies when it starts or is extended: if the async side stops
/// extending it (hung, or gone), adverts stop within this (see the module documentation).
pub const LEASE_MAX: Duration = Duration::from_secs(2);

/// How often the instance task extends a running master's lease (by [`LEASE_MAX`] from then):
/// one wake-up of the async runtime per this, where handing the lease back and forth would cost
/// several. The margin to [`LEASE_MAX`] only has to cover a late wake-up of the runtime: a lease
/// that ends anyway is simply handed back and given again.
pub const LEASE_RENEW: Duration = Duration::from_millis(1750);

/// The work handed to a [`SteadyLoop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseWork {
    /// Send the advert at `priority` at `first`, then every `interval`.
    Master {
        /// The priority of every advert.
        priority: Priority,
        /// When the first advert is due.
        first: Instant,
        /// The advert interval.
        interval: Duration,
    },
    /// Absorb adverts equal to `reference`; give the work back once none came for `window`
    /// (the first time at `deadline`).
    Backup {
        /// The last advert the machine accepted from the master.
        reference: Advert,
        /// When the work goes back if no equal advert comes first.
        deadline: Instant,
        /// Each equal advert moves the deadline to its arrival plus this.
        window: Duration,
    },
}

/// One lease: the work, and when it ends unless extended ([`LeaseControl::until`] has the
/// current end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// What to do.
    pub work: LeaseWork,
    /// The end the lease started with.
    pub until: Instant,
}

/// How a lease ended, and what was done under it.
#[derive(Debug)]
pub struct LeaseEnd {
    /// Master: when the last advert sent under the lease was due (sends are on the machine's
    /// schedule). Backup: when the last absorbed advert arrived. `None` if there was none.
    pub last: Option<Instant>,
    /// Why it ended.
    pub reason: LeaseEndReason,
}

/// Why a lease ended.
#[derive(Debug)]
pub enum LeaseEndReason {
    /// It reached [`LeaseControl::until`] or was revoked.
    Stopped,
    /// Backup: no equal advert came by the deadline.
    Deadline,
    /// A valid advert that is not the reference arrived (any advert, for a master).
    Advert {
        /// The advert.
        advert: Advert,
        /// When it arrived.
        at: Instant,
    },
    /// Master: the advert due at [`LeaseEnd::last`] could not be sent there and then (a full
    /// socket buffer, say); the machine should send it the usual way.
    NotSent,
    /// Master: sending the advert due at [`LeaseEnd::last`] failed.
    SendFailed(Error),
    /// The socket is broken for good (as [`super::AdvertSource::poll_advert`]'s error).
    Broken(Error),
}

/// The instance task's hold on the running lease: its revocation flag, and when it ends at
/// the latest (pushed out while the instance is alive, see [`LEASE_RENEW`]).
#[derive(Debug)]
pub struct LeaseControl {
    revoked: AtomicBool,
    /// [`LeaseControl::until`], in nanoseconds after `base`.
    until: AtomicU64,
    base: Instant,
}

impl Default for LeaseControl {
    fn default() -> Self {
        LeaseControl {
            revoked: AtomicBool::new(false),
            until: AtomicU64::new(0),
            base: Instant::now(),
        }
    }
}

impl LeaseControl {
    /// Whether the current lease was revoked.
    pub fn revoked(&self) -> bool {
        self.revoked.load(Ordering::Acquire)
    }

    /// When the current lease ends unless the instance extends it first.
    pub fn until(&self) -> Instant {
        self.base + Duration::from_nanos(self.until.load(Ordering::Acquire))
    }

    fn set_revoked(&self, raised: bool) {
        self.revoked.store(raised, Ordering::Release);
    }

    fn set_until(&self, until: Instant) {
        let nanos = until.saturating_duration_since(self.base).as_nanos();
        self.until
            .store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Release);
    }
}

/// Runs leases (see the module documentation). The transport (vip-vrrp) implements it: one
/// thread per receive path runs the leases of every instance on it.
pub trait SteadyLoop: Send + Sync {
    /// Starts `lease` and returns at once; the implementation runs it on a thread of its own
    /// (shared by any number of instances) until it ends: [`LeaseControl::until`] (re-read at
    /// every wake-up: the instance pushes it out while alive), the work's own end, or
    /// [`LeaseControl::revoked`] after [`SteadyLoop::interrupt`]. It then hands the end to
    /// [`LeaseReport::end`], exactly once. A report dropped without an end (the loop panicked,
    /// or gave up the lease) counts as [`LeaseEndReason::Broken`]: the instance releases.
    fn start(&self, lease: Lease, control: Arc<LeaseControl>, report: LeaseReport);

    /// Wakes the loop so that it sees the revocation of a running lease (called from another
    /// thread; harmless when nothing runs).
    fn interrupt(&self);
}

/// Where a [`SteadyLoop`] reports the end of one lease (into the instance's inbox).
#[derive(Debug)]
pub struct LeaseReport {
    inbox: Option<UnboundedSender<Message>>,
}

impl LeaseReport {
    /// Reports how the lease ended (the instance task brings its machine up to date).
    pub fn end(mut self, end: LeaseEnd) {
        if let Some(inbox) = self.inbox.take() {
            let _ = inbox.send(Message::Steady(end));
        }
    }
}

impl Drop for LeaseReport {
    /// Dropped unreported (a panic on the loop's thread, say): the lease is broken, so the
    /// instance releases rather than trusting adverts nobody sends.
    fn drop(&mut self) {
        if let Some(inbox) = self.inbox.take() {
            let _ = inbox.send(Message::Steady(LeaseEnd {
                last: None,
                reason: LeaseEndReason::Broken(Error::Other {
                    operation: "steady loop".into(),
                    message: "the steady loop dropped its lease (it panicked or stopped)".into(),
                    transient: false,
                }),
            }));
        }
    }
}

/// The instance's hold on its steady loop: starts, extends and revokes its leases, one at a
/// time; each end comes back through the instance's inbox.
pub(crate) struct SteadyHandle {
    steady: Arc<dyn SteadyLoop>,
    inbox: UnboundedSender<Message>,
    control: Arc<LeaseControl>,
}

impl SteadyHandle {
    /// The handle of `steady` for the instance whose inbox is `inbox`.
    pub(crate) fn new(steady: Arc<dyn SteadyLoop>, inbox: UnboundedSender<Message>) -> Self {
        SteadyHandle {
            steady,
            inbox,
            control: Arc::new(LeaseControl::default()),
        }
    }

    /// Starts `lease` (the previous one has ended).
    pub(crate) fn start(&self, lease: Lease) {
        self.control.set_revoked(false);
        self.control.set_until(lease.until);
        let report = LeaseReport {
            inbox: Some(self.inbox.clone()),
        };
        self.steady.start(lease, Arc::clone(&self.control), report);
    }

    /// Pushes the running lease's end out to `until` (no wake-up: the loop reads it when it
    /// next wakes, which is before the old end).
    pub(crate) fn extend(&self, until: Instant) {
        self.control.set_until(until);
    }

    /// Revokes the running lease; its end still comes through the inbox.
    pub(crate) fn revoke(&self) {
        self.control.set_revoked(true);
        self.steady.interrupt();
    }
}

impl Drop for SteadyHandle {
    /// The instance is gone: end any running lease now.
    fn drop(&mut self) {
        self.revoke();
    }
}
