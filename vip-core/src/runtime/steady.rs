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
//! - **A lease is short.** It ends by itself at [`Lease::until`] (at most a couple of seconds
//!   away), and the instance renews it. If the async side hangs or dies, adverts stop within
//!   that time and the peer takes over, as they would without the loop.
//! - **Anything else ends it.** A message in the instance's inbox (a command, a check or role
//!   result, a handle's advert) makes the task revoke the lease ([`Revoke`]); the loop returns
//!   promptly and the message is handled after the machine is brought up to date.
//! - **The loop decides nothing.** A master's loop sends the advert the machine would have sent,
//!   on the machine's schedule; a backup's loop absorbs only adverts equal to the last one the
//!   machine accepted and gives back everything else, and the deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::message::Message;
use crate::election::Advert;
use crate::{Error, Priority};

/// The longest a lease runs before the instance renews it (see the module documentation).
pub const LEASE_MAX: Duration = Duration::from_secs(2);

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

/// One lease: the work, and when it ends at the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// What to do.
    pub work: LeaseWork,
    /// Give the work back at this instant even if nothing happened.
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
    /// It reached [`Lease::until`] or was revoked.
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

/// The revocation flag of the current lease, raised by the instance task.
#[derive(Debug, Default)]
pub struct Revoke(AtomicBool);

impl Revoke {
    /// Whether the current lease was revoked.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, raised: bool) {
        self.0.store(raised, Ordering::Release);
    }
}

/// Runs leases (see the module documentation). The transport (vip-vrrp) implements it.
pub trait SteadyLoop: Send + Sync {
    /// Runs `lease` on the calling thread (the instance's steady thread, inside the tokio
    /// runtime's context) until it ends: [`Lease::until`], the work's own end, or
    /// [`Revoke::is_raised`] after [`SteadyLoop::interrupt`]. Blocking is expected here.
    fn run(&self, lease: &Lease, revoke: &Revoke) -> LeaseEnd;

    /// Wakes a running [`SteadyLoop::run`] so that it sees the raised [`Revoke`] (called from
    /// another thread; harmless when nothing runs).
    fn interrupt(&self);
}

/// The instance's steady thread: runs the leases it is given, one at a time, and reports each
/// end into the instance's inbox.
pub(crate) struct SteadyThread {
    steady: Arc<dyn SteadyLoop>,
    leases: mpsc::Sender<Lease>,
    revoke: Arc<Revoke>,
}

impl SteadyThread {
    /// Starts the thread (inside the current tokio runtime's context), or `None` (logged) if
    /// the system refuses a thread: the instance then works without one.
    pub(crate) fn spawn(
        steady: Arc<dyn SteadyLoop>,
        inbox: UnboundedSender<Message>,
    ) -> Option<SteadyThread> {
        let (leases, rx) = mpsc::channel::<Lease>();
        let revoke = Arc::new(Revoke::default());
        let handle = tokio::runtime::Handle::try_current().ok()?;
        let (looper, flag) = (steady.clone(), revoke.clone());
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
                revoke,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "no steady thread; idle adverts stay on the runtime");
                None
            }
        }
    }

    /// Starts `lease` (the previous one has ended). False if the thread is gone.
    pub(crate) fn start(&self, lease: Lease) -> bool {
        self.revoke.set(false);
        self.leases.send(lease).is_ok()
    }

    /// Revokes the running lease; its end still comes through the inbox.
    pub(crate) fn revoke(&self) {
        self.revoke.set(true);
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
