//! [`InstanceHandle`]: how the rest of the program talks to a running instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Notify, broadcast, mpsc, watch};

use crate::election::{Advert, Event, StopMode, Switchover};

use super::message::Message;
use super::{Clock, Phase, Status};

/// Why a handle could not pass something on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// The instance has stopped.
    #[error("instance has stopped")]
    Stopped,
    /// The instance's advert queue is full (an advert flood); this advert was dropped.
    #[error("advert queue full; advert dropped")]
    Busy,
}

/// A control message for the instance task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Link(bool),
    VipRemoved,
    Maintenance(bool),
    Switchover(Switchover),
    Stop(StopMode),
    /// The last handle was dropped.
    Orphaned,
}

/// The bound on adverts passed through handles and not yet taken by the instance.
#[derive(Debug)]
pub(crate) struct AdvertQueue {
    queued: AtomicUsize,
    capacity: usize,
}

impl AdvertQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        AdvertQueue {
            queued: AtomicUsize::new(0),
            capacity,
        }
    }

    /// Takes a place in the queue, unless it is full.
    fn reserve(&self) -> bool {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.release();
            return false;
        }
        true
    }

    /// Gives a place back (the instance took the advert, or it was never sent).
    pub(crate) fn release(&self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Shared by every clone of a handle: when the last one goes, it tells the instance.
#[derive(Debug)]
pub(crate) struct Lifeline(pub(crate) mpsc::UnboundedSender<Message>);

impl Drop for Lifeline {
    fn drop(&mut self) {
        let _ = self.0.send(Message::Command(Command::Orphaned));
    }
}

/// A cheap, cloneable handle to one running instance.
///
/// - Inputs from the edges: [`advert`](Self::advert) (the VRRP transport),
///   [`link`](Self::link) and [`vip_removed`](Self::vip_removed) (the netlink watcher),
///   [`reprobe`](Self::reprobe) (for example on a repmgr event).
/// - Outputs: [`status`](Self::status) / [`watch_status`](Self::watch_status) (a snapshot via
///   `tokio::sync::watch`) and [`events`](Self::events) (every [`Event`] via
///   `tokio::sync::broadcast`; subscribers observe, they never steer the machine).
/// - [`stop`](Self::stop) ends the instance and waits for its release to complete.
///
/// When every handle (including the one the [`super::Runtime`] keeps) is dropped, the instance
/// stops with [`StopMode::Release`].
#[derive(Debug, Clone)]
pub struct InstanceHandle {
    pub(crate) name: Arc<str>,
    /// The instance's inbox.
    pub(crate) inbox: mpsc::UnboundedSender<Message>,
    pub(crate) adverts: Arc<AdvertQueue>,
    /// Held for its `Drop`: the last clone to go tells the instance.
    pub(crate) _lifeline: Arc<Lifeline>,
    pub(crate) reprobe: Arc<Notify>,
    pub(crate) status: watch::Receiver<Status>,
    pub(crate) events: broadcast::WeakSender<Event>,
    pub(crate) clock: Clock,
}

impl InstanceHandle {
    /// The instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Passes a received, validated advert for this instance's VRID to the machine. Never
    /// waits: when the queue is full (a flood) the advert is dropped with
    /// [`HandleError::Busy`], which the transport should count.
    pub fn advert(&self, advert: Advert) -> Result<(), HandleError> {
        if !self.adverts.reserve() {
            return Err(HandleError::Busy);
        }
        self.inbox.send(Message::Received(advert)).map_err(|_| {
            self.adverts.release();
            HandleError::Stopped
        })
    }

    /// Reports the instance's interface up (`true`) or down (`false`).
    pub fn link(&self, up: bool) -> Result<(), HandleError> {
        self.command(Command::Link(up))
    }

    /// Reports that someone else removed one of this instance's VIPs.
    pub fn vip_removed(&self) -> Result<(), HandleError> {
        self.command(Command::VipRemoved)
    }

    /// Turns maintenance on (the instance releases the VIPs if it holds them and does not take
    /// them again) or off. [`super::Runtime::set_maintenance`] also keeps it across restarts
    /// of the instance.
    pub fn maintenance(&self, on: bool) -> Result<(), HandleError> {
        self.command(Command::Maintenance(on))
    }

    /// Asks for a planned switchover (see [`Switchover`]); the machine ignores it in a state
    /// where it does not apply (watch [`Status`] for the outcome).
    pub fn switchover(&self, switchover: Switchover) -> Result<(), HandleError> {
        self.command(Command::Switchover(switchover))
    }

    /// Runs the role probe now rather than at its next interval (no-op without a role probe).
    /// If a probe is running, one more runs right after it.
    pub fn reprobe(&self) {
        self.reprobe.notify_one();
    }

    /// The current status snapshot.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change (`changed().await`, then `borrow()`).
    pub fn watch_status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Subscribes to the instance's events from now on (see
    /// [`super::Runtime::spawn_with_events`] to see them from the very start). A subscriber that falls more than the
    /// spec's `event_capacity` behind gets `RecvError::Lagged` and then continues; the stream
    /// ends (`RecvError::Closed`) when the instance has stopped.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        match self.events.upgrade() {
            Some(sender) => sender.subscribe(),
            // The instance has stopped: a receiver whose stream has already ended.
            None => broadcast::channel(1).1,
        }
    }

    /// The runtime's clock, to turn event and status timestamps into wall-clock time.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Stops the instance and waits until it has stopped. With [`StopMode::Release`] that means
    /// the VIPs were removed (or their removal timed out) and the priority-0 advert was sent
    /// (or timed out). Stopping a stopped instance returns at once. Returns the final status.
    pub async fn stop(&self, mode: StopMode) -> Status {
        let _ = self.command(Command::Stop(mode));
        self.stopped().await
    }

    /// Waits until the instance has stopped, without asking it to. Returns the final status.
    pub async fn stopped(&self) -> Status {
        let mut rx = self.status.clone();
        let last = rx
            .wait_for(|s| s.phase == Phase::Stopped)
            .await
            .map(|s| s.clone());
        last.unwrap_or_else(|_| {
            let mut s = rx.borrow().clone();
            s.phase = Phase::Stopped;
            s
        })
    }

    /// True until the instance has stopped.
    pub fn is_running(&self) -> bool {
        self.status.borrow().phase != Phase::Stopped && self.status.has_changed().is_ok()
    }

    pub(crate) fn command(&self, command: Command) -> Result<(), HandleError> {
        self.inbox
            .send(Message::Command(command))
            .map_err(|_| HandleError::Stopped)
    }
}
