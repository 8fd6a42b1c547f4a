//! The event queue: events ordered by virtual time, then by insertion order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::election::{AddressOp, Input};
use crate::{FenceRequest, Timestamp, Vip};

use super::Fault;
use crate::election::Advert;

/// Something that happens at a virtual instant.
#[derive(Debug, Clone)]
pub(crate) enum Ev {
    /// A scheduled fault.
    Fault(Fault),
    /// Power on a node (at start, or after fencing) if it is still on boot `boot`.
    Boot { node: usize, boot: u64 },
    /// An advert arrives at `to`.
    Packet {
        from: usize,
        to: usize,
        advert: Advert,
    },
    /// A result for daemon incarnation `epoch` of `node`.
    Deliver {
        node: usize,
        epoch: u64,
        input: Input,
    },
    /// The node's timer (generation `generation`).
    Timer { node: usize, generation: u64 },
    /// The kernel carries out an address operation.
    Kernel {
        node: usize,
        boot: u64,
        epoch: u64,
        op: AddressOp,
        vips: Vec<Vip>,
        /// With an add: the lifetime set in the same request.
        lifetime: Option<Timestamp>,
    },
    /// An in-use probe's packets reach the segment.
    Probe {
        node: usize,
        epoch: u64,
        id: u64,
        vips: Vec<Vip>,
        started: Timestamp,
        timeout: std::time::Duration,
    },
    /// A fence finishes.
    FenceDone {
        node: usize,
        epoch: u64,
        id: u64,
        request: FenceRequest,
    },
    /// The daemon's lane moves on to its next entry.
    LaneNext { node: usize, epoch: u64, ok: bool },
    /// A restarted daemon's reconcile try (`attempt` from 0); the election starts after the
    /// first that succeeds.
    Reconcile {
        node: usize,
        epoch: u64,
        attempt: u32,
    },
    /// The role probe runs.
    RoleTick { node: usize, epoch: u64 },
    /// A request reaches the arbiter.
    ArbRequest { node: usize, req: ArbReq },
    /// The arbiter's answer reaches the node's client (daemon `epoch`).
    ArbReply {
        node: usize,
        epoch: u64,
        reply: ArbReply,
    },
    /// The client gives up on call `id` (acquire or revoke).
    ArbTimeout { node: usize, epoch: u64, id: u64 },
    /// The client's renewal tick (generation `generation`).
    ArbRenew {
        node: usize,
        epoch: u64,
        generation: u64,
    },
    /// The kernel lifetime of the node's VIPs runs out (if still set to `at` on boot `boot`).
    Expire {
        node: usize,
        boot: u64,
        at: Timestamp,
    },
}

/// A request to the simulated arbiter.
#[derive(Debug, Clone)]
pub(crate) enum ArbReq {
    Acquire { id: u64, sent: Timestamp },
    KeepAlive { token: u64, sent: Timestamp },
    Release { token: u64 },
    Revoke { id: u64, token: u64 },
}

/// An answer of the simulated arbiter.
#[derive(Debug, Clone)]
pub(crate) enum ArbReply {
    /// `Ok(token)`, or `Err((holder, token))`.
    Acquired {
        id: u64,
        sent: Timestamp,
        result: Result<u64, (usize, u64)>,
    },
    KeepAlive {
        token: u64,
        sent: Timestamp,
        ok: bool,
    },
    Revoked {
        id: u64,
    },
}

struct Scheduled {
    at: Timestamp,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A deterministic priority queue of events.
#[derive(Default)]
pub(crate) struct Queue {
    heap: BinaryHeap<Scheduled>,
    seq: u64,
}

impl Queue {
    pub fn push(&mut self, at: Timestamp, ev: Ev) {
        self.seq += 1;
        self.heap.push(Scheduled {
            at,
            seq: self.seq,
            ev,
        });
    }

    /// Pops the earliest event if it is due at or before `until`.
    pub fn pop_until(&mut self, until: Timestamp) -> Option<(Timestamp, Ev)> {
        if self.heap.peek().is_some_and(|s| s.at <= until) {
            self.heap.pop().map(|s| (s.at, s.ev))
        } else {
            None
        }
    }
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Queue({} events)", self.heap.len())
    }
}
