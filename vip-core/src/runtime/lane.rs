//! The ordered lane: address operations and adverts of one instance, in emission order.
//!
//! # Ordering
//!
//! The machine's address actions (`AddVips`, `RemoveVips`, `Announce`) and its `SendAdvert`s
//! go into one FIFO per instance. The lane task runs the address operations one at a time, each
//! bounded by [`super::Timeouts::address`], and reports each result back to the machine. When it
//! reaches an advert it hands it to the advert task, which sends adverts one at a time, in order,
//! each bounded by [`super::Timeouts::advert`]. So:
//!
//! - address operations run in the order the machine emitted them (an `Announce` never runs
//!   before the `AddVips` ahead of it, a re-add never overtakes a removal);
//! - an advert goes out only after every address operation emitted before it has finished or
//!   timed out. On release the machine emits `RemoveVips` then `SendAdvert(0)`, so the backups
//!   hear priority 0 only once the VIPs are gone (or the removal's time bound expired, in which
//!   case the machine also sees the error and raises its alarm);
//! - address operations never wait for adverts: a slow advert sink cannot delay a removal;
//! - when the advert sink falls behind, the adverts queued behind the one being sent collapse
//!   to the newest (an advert states the current priority; older ones are stale), so a hanging
//!   sink cannot make the queue grow.
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

use tokio::time::Instant;

use crate::election::AddressOp;
use crate::{AddressManager, ArbiterError, Error, OwnershipArbiter, Priority, Vip};

use super::AdvertSink;
use super::call::bounded;
use super::message::Message;

/// A send of one advert, owning what it needs.
pub(crate) type AdvertFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// One entry of the lane.
pub(crate) enum LaneOp {
    /// An address operation on these VIPs.
    Address { op: AddressOp, vips: Vec<Vip> },
    /// An advert at this priority, with its send already started (polled once, not ready) by
    /// the idle fast path, or not.
    Advert(Priority, Option<AdvertFuture>),
    /// Give the ownership arbiter's grant back (skipped when the removal before it failed).
    Release,
    /// Set the VIPs' kernel lifetime to run out at `until`.
    Lifetime { vips: Vec<Vip>, until: Instant },
}

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
/// exactly one [`Message`] (`Address` or `Advert`) on `done`.
pub(crate) fn spawn_lane(
    tasks: &mut JoinSet<()>,
    addresses: Arc<dyn AddressManager>,
    arbiter: Option<Arc<dyn OwnershipArbiter>>,
    sink: Arc<dyn AdvertSink>,
    address_timeout: Duration,
    advert_timeout: Duration,
    done: UnboundedSender<Message>,
) -> UnboundedSender<LaneOp> {
    let (lane_tx, lane_rx) = unbounded_channel();
    let (advert_tx, advert_rx) = unbounded_channel();
    tasks.spawn(run_adverts(advert_rx, sink, advert_timeout, done.clone()));
    tasks.spawn(run_lane(
        lane_rx,
        addresses,
        arbiter,
        address_timeout,
        advert_tx,
        done,
    ));
    lane_tx
}

async fn run_lane(
    mut rx: UnboundedReceiver<LaneOp>,
    addresses: Arc<dyn AddressManager>,
    arbiter: Option<Arc<dyn OwnershipArbiter>>,
    limit: Duration,
    adverts: UnboundedSender<(Priority, Option<AdvertFuture>)>,
    done: UnboundedSender<Message>,
) {
    // Whether the last removal failed: a grant is not given back over VIPs that may remain.
    let mut remove_failed = false;
    while let Some(entry) = rx.recv().await {
        match entry {
            LaneOp::Address { op, vips } => {
                let result = address_call(addresses.clone(), op, vips, limit).await;
                if op == AddressOp::Remove {
                    remove_failed = result.is_err();
                }
                let _ = done.send(Message::Address { op, result });
            }
            LaneOp::Release => {
                let result = match &arbiter {
                    _ if remove_failed => Err(arbiter_error(
                        arbiter.as_deref(),
                        "not released: the VIPs' removal failed".into(),
                    )),
                    Some(a) => {
                        let a = a.clone();
                        bounded(limit, async move { a.release().await })
                            .await
                            .unwrap_or_else(|e| {
                                Err(arbiter_error(arbiter.as_deref(), e.describe("release")))
                            })
                    }
                    None => Err(arbiter_error(None, "no arbiter attached".into())),
                };
                let _ = done.send(Message::Released(result));
            }
            LaneOp::Lifetime { vips, until } => {
                let valid = until.saturating_duration_since(Instant::now());
                let am = addresses.clone();
                let result = bounded(limit, async move {
                    am.set_valid_lifetime(&vips, Some(valid)).await
                })
                .await
                .unwrap_or_else(|e| Err(e.into_error("set_valid_lifetime")));
                let _ = done.send(Message::Lifetime(result));
            }
            LaneOp::Advert(priority, started) => {
                if adverts.send((priority, started)).is_err() {
                    let result = Err(Error::Other {
                        operation: "send advert".into(),
                        message: "advert task has ended".into(),
                        transient: false,
                    });
                    let _ = done.send(Message::Advert { priority, result });
                }
            }
        }
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
        hint: "check that the arbiter answers within timeouts.address".into(),
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
