//! The runtime's side of the ordered lane: the lane task that drives the sans-IO
//! [`crate::lane::Lane`] (which operation may start now) with the backends, and the advert task.
//!
//! # Ordering
//!
//! The machine's address actions (`AddVips`, `RemoveVips`, `Announce`, `SetLifetime`), its
//! `ReleaseArbiter` and its `SendAdvert`s go into one channel per instance. The lane task feeds
//! them to the sans-IO lane (see its rules) and runs each operation it allows, one at a time,
//! each bounded by [`super::Timeouts::address`], reporting each result back to the machine.
//! When the lane lets an advert through, the lane task hands it to the advert task, which
//! sends adverts one at a time, in order, each bounded by [`super::Timeouts::advert`]. So
//! address operations never wait for adverts (a slow advert sink cannot delay a removal), and
//! when the advert sink falls behind, the adverts queued behind the one being sent collapse to
//! the newest (an advert states the current priority; older ones are stale), so a hanging sink
//! cannot make the queue grow.
//!
//! # The idle fast path
//!
//! In the steady state (a master advertising, nothing else in the lane) the instance does not
//! go through the lane at all: with no lane entry outstanding, it polls the sink's future once,
//! in place ([`try_advert_now`]). A sink that completes at once (the raw-socket transport's
//! `sendto` does) costs no task, channel, timer or wake-up. A sink that is not ready hands its
//! started future to the lane as an ordinary advert entry, which the advert task finishes under
//! the usual bound; a panicking sink is contained and reported like a panic in a spawned call.
//!
//! In-use probes and fences carry correlation ids and run concurrently, outside the lane.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinSet;

use crate::election::AddressOp;
use crate::lane::{Lane, LaneStep};
use crate::{AddressManager, ArbiterError, Error, OwnershipArbiter, Priority, Timestamp, Vip};

use super::call::bounded;
use super::message::Message;
use super::{AdvertSink, Clock};

/// A send of one advert, owning what it needs.
pub(crate) type AdvertFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// An advert entry of the lane: its priority, with its send already started (polled once,
/// not ready) by the idle fast path, or not.
pub(crate) type AdvertEntry = (Priority, Option<AdvertFuture>);

/// One entry of the lane (see [`crate::lane`]).
pub(crate) type LaneOp = crate::lane::LaneOp<AdvertEntry>;

/// What [`try_advert_now`] did.
pub(crate) enum Attempt {
    /// The send finished (or its backend panicked) within one poll.
    Done(Result<(), Error>),
    /// The send is not finished; the lane must carry it on.
    Started(AdvertFuture),
}

/// Sends an advert at `priority` in place: through the sink's non-waiting path, else by
/// starting its future and polling it once. Call it only when the lane is idle (nothing emitted
/// before it is unfinished), so that ordering holds.
pub(crate) fn try_advert_now(sink: &Arc<dyn AdvertSink>, priority: Priority) -> Attempt {
    let attempt = catch_unwind(AssertUnwindSafe(|| {
        if let Some(result) = sink.try_send_advert(priority) {
            return Attempt::Done(result);
        }
        let sink = Arc::clone(sink);
        let mut send: AdvertFuture = Box::pin(async move { sink.send_advert(priority).await });
        // A future may be polled with a new waker each time; the advert task's poll replaces
        // this one if the send is not ready now.
        let mut cx = Context::from_waker(Waker::noop());
        match send.as_mut().poll(&mut cx) {
            Poll::Ready(result) => Attempt::Done(result),
            Poll::Pending => Attempt::Started(send),
        }
    }));
    attempt.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|m| (*m).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned());
        Attempt::Done(Err(Error::Other {
            operation: "send advert".to_owned(),
            message: format!("backend panicked: {message}"),
            transient: true,
        }))
    })
}

/// Spawns the lane and advert tasks into `tasks`; returns the lane's sender. Every entry yields
/// exactly one [`Message`] (`Address`, `Advert`, `Released` or `Lifetime`) on `done`.
pub(crate) fn spawn_lane(
    tasks: &mut JoinSet<()>,
    backends: LaneBackends,
    clock: Clock,
    timeouts: super::Timeouts,
    done: UnboundedSender<Message>,
) -> UnboundedSender<LaneOp> {
    let (lane_tx, lane_rx) = unbounded_channel();
    let (advert_tx, advert_rx) = unbounded_channel();
    tasks.spawn(run_adverts(
        advert_rx,
        backends.sink.clone(),
        timeouts.advert,
        done.clone(),
    ));
    let driver = LaneDriver {
        backends,
        clock,
        limit: timeouts.address,
        arbiter_limit: timeouts.arbiter,
        adverts: advert_tx,
        done,
    };
    tasks.spawn(driver.run(lane_rx));
    lane_tx
}

/// The backends the lane calls.
pub(crate) struct LaneBackends {
    pub(crate) addresses: Arc<dyn AddressManager>,
    pub(crate) arbiter: Option<Arc<dyn OwnershipArbiter>>,
    pub(crate) sink: Arc<dyn AdvertSink>,
}

/// The lane task: drives a sans-IO [`Lane`] with the backends, one operation at a time.
struct LaneDriver {
    backends: LaneBackends,
    clock: Clock,
    /// Bound on an address operation.
    limit: Duration,
    /// Bound on the arbiter's release.
    arbiter_limit: Duration,
    adverts: UnboundedSender<AdvertEntry>,
    done: UnboundedSender<Message>,
}

impl LaneDriver {
    async fn run(self, mut rx: UnboundedReceiver<LaneOp>) {
        let mut lane = Lane::new();
        while let Some(op) = rx.recv().await {
            lane.push(op);
            // Whatever else is queued already goes in too (an add's lifetime goes with it).
            while let Ok(op) = rx.try_recv() {
                lane.push(op);
            }
            while let Some(step) = lane.next_step() {
                self.step(&mut lane, step).await;
            }
        }
    }

    async fn step(&self, lane: &mut Lane<AdvertEntry>, step: LaneStep<AdvertEntry>) {
        match step {
            LaneStep::Address { op, vips, lifetime } => {
                let also = lifetime.map(|until| (vips.clone(), until));
                let result =
                    address_call(self.backends.addresses.clone(), op, vips, self.limit).await;
                lane.finished(result.is_ok());
                let _ = self.done.send(Message::Address { op, result });
                if let Some((vips, until)) = also {
                    let result = self.lifetime(vips, until).await;
                    let _ = self.done.send(Message::Lifetime(result));
                }
            }
            LaneStep::Advert((priority, started)) => {
                if self.adverts.send((priority, started)).is_err() {
                    let result = Err(Error::Other {
                        operation: "send advert".into(),
                        message: "advert task has ended".into(),
                        transient: false,
                    });
                    let _ = self.done.send(Message::Advert { priority, result });
                }
            }
            LaneStep::Release => {
                let arbiter = self.backends.arbiter.clone();
                let result = match arbiter {
                    Some(a) => {
                        let call = a.clone();
                        bounded(self.arbiter_limit, async move { call.release().await })
                            .await
                            .unwrap_or_else(|e| {
                                Err(arbiter_error(Some(&*a), e.describe("release")))
                            })
                    }
                    None => Err(arbiter_error(None, "no arbiter attached".into())),
                };
                lane.finished(result.is_ok());
                let _ = self.done.send(Message::Released(result));
            }
            LaneStep::ReleaseSkipped => {
                let reason = "not released: the VIPs' removal failed".to_owned();
                let result = Err(arbiter_error(self.backends.arbiter.as_deref(), reason));
                let _ = self.done.send(Message::Released(result));
            }
            LaneStep::Lifetime { vips, until } => {
                let result = self.lifetime(vips, until).await;
                lane.finished(result.is_ok());
                let _ = self.done.send(Message::Lifetime(result));
            }
        }
    }

    /// Sets the VIPs' kernel lifetime to run out at `until`.
    async fn lifetime(&self, vips: Vec<Vip>, until: Timestamp) -> Result<(), Error> {
        let valid = until.saturating_since(self.clock.now());
        let am = self.backends.addresses.clone();
        bounded(self.limit, async move {
            am.set_valid_lifetime(&vips, Some(valid)).await
        })
        .await
        .unwrap_or_else(|e| Err(e.into_error("set_valid_lifetime")))
    }
}

async fn run_adverts(
    mut rx: UnboundedReceiver<(Priority, Option<AdvertFuture>)>,
    sink: Arc<dyn AdvertSink>,
    limit: Duration,
    done: UnboundedSender<Message>,
) {
    while let Some((mut priority, mut started)) = rx.recv().await {
        // A backlog (the sink is slow) collapses to its newest advert: an advert states the
        // sender's current priority, so only the latest one matters to the peers. (A started
        // send that was not ready has not reached the wire; dropping it cancels it.)
        while let Ok((newer, newer_started)) = rx.try_recv() {
            tracing::debug!(superseded = %priority, by = %newer, "advert superseded by a newer one");
            let _ = done.send(Message::Advert {
                priority,
                result: Ok(()),
            });
            priority = newer;
            started = newer_started;
        }
        let send = match started {
            Some(send) => send,
            None => {
                let s = sink.clone();
                Box::pin(async move { s.send_advert(priority).await })
            }
        };
        let result = bounded(limit, send)
            .await
            .unwrap_or_else(|e| Err(e.into_error("send advert")));
        let _ = done.send(Message::Advert { priority, result });
    }
}

/// An [`ArbiterError::Unavailable`] for a call that did not complete.
pub(crate) fn arbiter_error(
    arbiter: Option<&dyn OwnershipArbiter>,
    reason: String,
) -> ArbiterError {
    ArbiterError::Unavailable {
        backend: arbiter.map_or("arbiter", |a| a.name()).to_owned(),
        reason,
        hint: "check that the arbiter answers within timeouts.arbiter".into(),
    }
}

/// The operation's name in errors and logs.
pub(crate) fn op_name(op: AddressOp) -> &'static str {
    match op {
        AddressOp::Add => "add VIPs",
        AddressOp::Remove => "remove VIPs",
        AddressOp::Announce => "announce VIPs",
    }
}

/// Runs one address operation as its own task, bounded by `limit`.
pub(crate) async fn address_call(
    addresses: Arc<dyn AddressManager>,
    op: AddressOp,
    vips: Vec<Vip>,
    limit: Duration,
) -> Result<(), Error> {
    bounded(limit, async move {
        match op {
            AddressOp::Add => addresses.add(&vips).await,
            AddressOp::Remove => addresses.remove(&vips).await,
            AddressOp::Announce => addresses.announce(&vips).await,
        }
    })
    .await
    .unwrap_or_else(|e| Err(e.into_error(op_name(op))))
}
