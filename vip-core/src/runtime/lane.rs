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
//! In-use probes and fences carry correlation ids and run concurrently, outside the lane.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinSet;

use crate::election::AddressOp;
use crate::{AddressManager, Error, Priority, Vip};

use super::AdvertSink;
use super::call::bounded;
use super::completion::Completion;

/// One entry of the lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LaneOp {
    /// An address operation on these VIPs.
    Address { op: AddressOp, vips: Vec<Vip> },
    /// An advert at this priority.
    Advert(Priority),
}

/// Spawns the lane and advert tasks into `tasks`; returns the lane's sender. Every entry yields
/// exactly one [`Completion`] (`Address` or `Advert`) on `done`.
pub(crate) fn spawn_lane(
    tasks: &mut JoinSet<()>,
    addresses: Arc<dyn AddressManager>,
    sink: Arc<dyn AdvertSink>,
    address_timeout: Duration,
    advert_timeout: Duration,
    done: UnboundedSender<Completion>,
) -> UnboundedSender<LaneOp> {
    let (lane_tx, lane_rx) = unbounded_channel();
    let (advert_tx, advert_rx) = unbounded_channel();
    tasks.spawn(run_adverts(advert_rx, sink, advert_timeout, done.clone()));
    tasks.spawn(run_lane(
        lane_rx,
        addresses,
        address_timeout,
        advert_tx,
        done,
    ));
    lane_tx
}

async fn run_lane(
    mut rx: UnboundedReceiver<LaneOp>,
    addresses: Arc<dyn AddressManager>,
    limit: Duration,
    adverts: UnboundedSender<Priority>,
    done: UnboundedSender<Completion>,
) {
    while let Some(entry) = rx.recv().await {
        match entry {
            LaneOp::Address { op, vips } => {
                let result = address_call(addresses.clone(), op, vips, limit).await;
                let _ = done.send(Completion::Address { op, result });
            }
            LaneOp::Advert(priority) => {
                if adverts.send(priority).is_err() {
                    let result = Err(Error::Other {
                        operation: "send advert".into(),
                        message: "advert task has ended".into(),
                        transient: false,
                    });
                    let _ = done.send(Completion::Advert { priority, result });
                }
            }
        }
    }
}

async fn run_adverts(
    mut rx: UnboundedReceiver<Priority>,
    sink: Arc<dyn AdvertSink>,
    limit: Duration,
    done: UnboundedSender<Completion>,
) {
    while let Some(mut priority) = rx.recv().await {
        // A backlog (the sink is slow) collapses to its newest advert: an advert states the
        // sender's current priority, so only the latest one matters to the peers.
        while let Ok(newer) = rx.try_recv() {
            tracing::debug!(superseded = %priority, by = %newer, "advert superseded by a newer one");
            let _ = done.send(Completion::Advert {
                priority,
                result: Ok(()),
            });
            priority = newer;
        }
        let s = sink.clone();
        let result = bounded(limit, async move { s.send_advert(priority).await })
            .await
            .unwrap_or_else(|e| Err(e.into_error("send advert")));
        let _ = done.send(Completion::Advert { priority, result });
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
