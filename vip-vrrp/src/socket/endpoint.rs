//! One transport's place on its receive path: what it accepts (VRID, peers, codec context),
//! its counters, and the adverts handed to it that its instance has not taken yet.
//!
//! The receive path's thread validates each datagram against the endpoint it concerns and
//! queues the valid advert here; the instance reads the queue ([`Endpoint::poll_recv`]).

use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use vip_core::Vip;
use vip_core::election::Version;

use super::local::LocalAddresses;
use super::mismatch::MismatchLog;
use super::{DropReason, Mode, Received, TransportConfig, TransportStats};
use crate::wire::{Packet, Repr, RxContext, VridSet, WireError};

/// Adverts queued for an instance that does not read them (a flood, or a stalled task) are
/// dropped beyond this many, counted as [`DropReason::QueueFull`].
pub(super) const QUEUE_LIMIT: usize = 64;

/// The IP facts of one received datagram, before validation.
pub(super) struct Meta {
    pub(super) src: IpAddr,
    pub(super) dst: IpAddr,
    pub(super) ttl: u8,
    pub(super) payload: Range<usize>,
}

/// See the module documentation.
#[derive(Debug)]
pub(super) struct Endpoint {
    /// Unique per process: the receive path's key for this endpoint's lease.
    pub(super) id: u64,
    pub(super) vrid: u8,
    source: IpAddr,
    /// Unicast mode: the only sources accepted.
    peers: Option<Vec<IpAddr>>,
    rx_ctx: RxContext,
    addresses: Vec<Vip>,
    /// v2 only: the interval peers must advertise.
    interval: Option<vip_core::Interval>,
    mismatch: MismatchLog,
    pub(super) stats: Arc<TransportStats>,
    /// The transport is gone: a running lease ends.
    pub(super) detached: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Valid adverts not taken yet, with when they arrived.
    queue: VecDeque<(Received, Instant)>,
    waker: Option<Waker>,
    /// The receive path broke for good (the errno, or 0 for a panic).
    broken: Option<i32>,
}

impl Endpoint {
    /// The endpoint of a transport built from `config`, sending from `source`.
    pub(super) fn new(config: &TransportConfig, source: IpAddr) -> Endpoint {
        static IDS: AtomicU64 = AtomicU64::new(0);
        Endpoint {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            vrid: config.vrid,
            source,
            peers: match &config.mode {
                Mode::Unicast { peers } => Some(peers.clone()),
                Mode::Multicast => None,
            },
            rx_ctx: RxContext::new(config.version, VridSet::single(config.vrid))
                .with_auth(config.auth),
            addresses: config.addresses.clone(),
            interval: (config.version == Version::V2).then_some(config.advert_interval),
            mismatch: MismatchLog::default(),
            stats: Arc::default(),
            detached: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        }
    }

    /// Whether `src` is one of its unicast peers (always false in multicast mode).
    pub(super) fn has_peer(&self, src: IpAddr) -> bool {
        self.peers.as_ref().is_some_and(|p| p.contains(&src))
    }

    /// Whether it is in multicast mode.
    pub(super) fn multicast(&self) -> bool {
        self.peers.is_none()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts and validates one datagram handed to this endpoint: the advert, or `None` when
    /// dropped (counted by reason).
    pub(super) fn take(&self, local: &LocalAddresses, buf: &[u8], meta: Meta) -> Option<Received> {
        self.stats.count_received();
        match self.accept(local, buf, meta) {
            Ok(received) => {
                self.stats.count_accepted();
                Some(received)
            }
            Err(reason) => {
                self.stats.count_drop(reason);
                None
            }
        }
    }

    /// Validates one datagram: own packet, peer list, then the codec.
    fn accept(
        &self,
        local: &LocalAddresses,
        buf: &[u8],
        meta: Meta,
    ) -> Result<Received, DropReason> {
        let Meta {
            src,
            dst,
            ttl,
            payload,
        } = meta;
        let drop = |reason: DropReason| {
            tracing::debug!(%src, %dst, reason = reason.as_str(), "dropped VRRP packet");
            reason
        };
        if src == self.source || local.contains(src) {
            return Err(drop(DropReason::OwnPacket));
        }
        if let Some(peers) = &self.peers
            && !peers.contains(&src)
        {
            return Err(drop(DropReason::NotAPeer));
        }
        let bytes = buf
            .get(payload)
            .ok_or(DropReason::Wire(WireError::Truncated))?;
        let packet = Packet::new_checked(bytes).map_err(|e| drop(DropReason::Wire(e)))?;
        let ctx = self.rx_ctx.packet(src, dst, ttl);
        let repr = Repr::parse(&packet, &ctx).map_err(|e| drop(DropReason::Wire(e)))?;
        let advert = repr.to_advert(src, &self.addresses);
        self.mismatch.note(
            &self.stats,
            src,
            repr.vrid,
            advert.address_mismatch,
            repr.max_advert_interval,
            self.interval,
        );
        Ok(Received {
            repr,
            source: src,
            destination: dst,
            advert,
        })
    }

    /// Queues a valid advert that arrived `at` for the instance, and wakes it.
    pub(super) fn push(&self, received: Received, at: Instant) {
        let mut state = self.state();
        if state.queue.len() >= QUEUE_LIMIT {
            self.stats.count_drop(DropReason::QueueFull);
            return;
        }
        state.queue.push_back((received, at));
        if let Some(waker) = state.waker.take() {
            drop(state);
            waker.wake();
        }
    }

    /// Takes the queued adverts (a lease starting absorbs them in order).
    pub(super) fn drain(&self) -> VecDeque<(Received, Instant)> {
        std::mem::take(&mut self.state().queue)
    }

    /// The receive path broke for good (`errno`, or 0 when its thread panicked): every poll
    /// from now on fails.
    pub(super) fn fail(&self, errno: i32) {
        let mut state = self.state();
        state.broken = Some(errno);
        if let Some(waker) = state.waker.take() {
            drop(state);
            waker.wake();
        }
    }

    /// The next queued advert, or `Pending` with `cx`'s waker kept. The error carries the
    /// receive path's failure.
    pub(super) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Received, io::Error>> {
        let mut state = self.state();
        if let Some((received, _)) = state.queue.pop_front() {
            return Poll::Ready(Ok(received));
        }
        if let Some(errno) = state.broken {
            return Poll::Ready(Err(if errno == 0 {
                io::Error::other("the receive thread panicked")
            } else {
                io::Error::from_raw_os_error(errno)
            }));
        }
        match &mut state.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}
