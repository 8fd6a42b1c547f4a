//! The steady loop: an idle master's adverts and an idle backup's receptions, kept on a thread
//! of the instance's own instead of the async runtime.
//!
//! # Why
//!
//! An idle pair at 10 cs wakes ten times a second per node, and with nothing else to do, what
//! one wake-up costs is the daemon's idle CPU. On the async runtime a wake-up runs the reactor,
//! the scheduler and the instance task, which touch far more (cold) memory than sending or
//! reading one datagram: measured per wake-up, that was about twice keepalived's user time. A
//! [`SteadyLoop`] does the same work in a plain loop (wait, send or read, compare), and the
//! async runtime sleeps meanwhile.
//!
//! # Protocol
//!
//! The instance task gives the loop a [`Lease`] only when the machine vouches for a steady
//! state ([`crate::election::Election::steady`]). The loop runs it on the instance's steady
//! thread until something needs the machine, and reports a [`LeaseEnd`] into the instance's
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
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::message::Message;
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

/// Runs leases (see the module documentation). The transport (vip-vrrp) implements it.
pub trait SteadyLoop: Send + Sync {
    /// Runs `lease` on the calling thread (the instance's steady thread, inside the tokio
    /// runtime's context) until it ends: [`LeaseControl::until`] (re-read at every wake-up:
    /// the instance pushes it out while alive), the work's own end, or
    /// [`LeaseControl::revoked`] after [`SteadyLoop::interrupt`]. Blocking is expected here.
    fn run(&self, lease: &Lease, control: &LeaseControl) -> LeaseEnd;

    /// Wakes a running [`SteadyLoop::run`] so that it sees the revocation (called from
    /// another thread; harmless when nothing runs).
    fn interrupt(&self);
}

/// The instance's steady thread: runs the leases it is given, one at a time, and reports each
/// end into the instance's inbox.
pub(crate) struct SteadyThread {
    steady: Arc<dyn SteadyLoop>,
    leases: mpsc::Sender<Lease>,
    control: Arc<LeaseControl>,
}

impl SteadyThread {
    /// Starts the thread (inside the current tokio runtime's context), or `None` (logged) if
    /// the system refuses a thread: the instance then works without one.
    pub(crate) fn spawn(
        steady: Arc<dyn SteadyLoop>,
        inbox: UnboundedSender<Message>,
    ) -> Option<SteadyThread> {
        let (leases, rx) = mpsc::channel::<Lease>();
        let control = Arc::new(LeaseControl::default());
        let handle = tokio::runtime::Handle::try_current().ok()?;
        let (looper, flag) = (steady.clone(), control.clone());
        let spawned = std::thread::Builder::new()
            .name("vip-steady".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let _runtime = handle.enter();
                while let Ok(lease) = rx.recv() {
                    let end = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        looper.run(&lease, &flag)
                    }))
                    .unwrap_or_else(|_| LeaseEnd {
                        last: None,
                        reason: LeaseEndReason::Broken(Error::Other {
                            operation: "steady loop".into(),
                            message: "the steady loop panicked".into(),
                            transient: false,
                        }),
                    });
                    if inbox.send(Message::Steady(end)).is_err() {
                        return;
                    }
                }
            });
        match spawned {
            Ok(_) => Some(SteadyThread {
                steady,
                leases,
                control,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "no steady thread; idle adverts stay on the runtime");
                None
            }
        }
    }

    /// Starts `lease` (the previous one has ended). False if the thread is gone.
    pub(crate) fn start(&self, lease: Lease) -> bool {
        self.control.set_revoked(false);
        self.control.set_until(lease.until);
        self.leases.send(lease).is_ok()
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

impl Drop for SteadyThread {
    /// The instance is gone: end any running lease now (the thread then finds its channel
    /// closed and exits).
    fn drop(&mut self) {
        self.revoke();
    }
}
