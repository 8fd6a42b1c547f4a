//! The ordered lane, sans-IO: which of an instance's address operations and adverts may start
//! now. The tokio runtime and the simulator both drive it, so the simulator's properties hold
//! for the shipped ordering.
//!
//! # Rules
//!
//! - Address operations (`AddVips`, `RemoveVips`, `Announce`), the arbiter's release and the
//!   kernel lifetime run one at a time, in the order the machine emitted them: an `Announce`
//!   never runs before the `AddVips` ahead of it, a re-add never overtakes a removal.
//! - An advert starts only after every operation emitted before it has finished (or timed
//!   out): on release the machine emits `RemoveVips`, `ReleaseArbiter`, then `SendAdvert(0)`,
//!   so the backups hear priority 0 only once the VIPs are gone and the grant is given back.
//!   Operations never wait for adverts: the driver hands an advert to its sender and goes on.
//! - A release right after a failed removal is not run ([`LaneStep::ReleaseSkipped`]): a grant
//!   is not given back over VIPs that may still be on the interface.
//! - A lifetime queued right behind an add goes with it ([`LaneStep::Address::lifetime`]): a
//!   driver sets both in one step, so no stop falls between them.
//!
//! In-use probes, fences and the arbiter's acquire and revoke carry correlation ids and run
//! alongside, outside the lane.
//!
//! ```
//! use vip_core::election::AddressOp;
//! use vip_core::lane::{Lane, LaneOp, LaneStep};
//!
//! let mut lane: Lane<u8> = Lane::new();
//! lane.push(LaneOp::Address { op: AddressOp::Remove, vips: vec![] });
//! lane.push(LaneOp::Advert(0));
//! // The removal starts; the advert waits for it.
//! assert!(matches!(lane.next_step(), Some(LaneStep::Address { op: AddressOp::Remove, .. })));
//! assert!(lane.next_step().is_none());
//! lane.finished(true);
//! assert!(matches!(lane.next_step(), Some(LaneStep::Advert(0))));
//! assert!(lane.is_idle());
//! ```

use std::collections::VecDeque;

use crate::election::AddressOp;
use crate::{Timestamp, Vip};

/// One entry of the lane; `A` is what the driver needs to send an advert.
#[derive(Debug)]
pub enum LaneOp<A> {
    /// An address operation on these VIPs.
    Address {
        /// Which operation.
        op: AddressOp,
        /// The VIPs.
        vips: Vec<Vip>,
    },
    /// An advert.
    Advert(A),
    /// Give the ownership arbiter's grant back.
    Release,
    /// Have the kernel drop these VIPs by itself at `until`.
    Lifetime {
        /// The VIPs.
        vips: Vec<Vip>,
        /// When they must be gone.
        until: Timestamp,
    },
}

/// What the driver starts now (see [`Lane::next_step`]).
#[derive(Debug)]
pub enum LaneStep<A> {
    /// Run this address operation; call [`Lane::finished`] when it ends.
    Address {
        /// Which operation.
        op: AddressOp,
        /// The VIPs.
        vips: Vec<Vip>,
        /// With an add: set this lifetime right after it, in the same step.
        lifetime: Option<Timestamp>,
    },
    /// Send this advert (it does not hold the lane up).
    Advert(A),
    /// Give the grant back; call [`Lane::finished`] when it ends.
    Release,
    /// The release is not run (the removal before it failed): report it failed. Nothing to
    /// finish.
    ReleaseSkipped,
    /// Set the VIPs' lifetime; call [`Lane::finished`] when it ends.
    Lifetime {
        /// The VIPs.
        vips: Vec<Vip>,
        /// When they must be gone.
        until: Timestamp,
    },
}

/// The lane of one instance (see the module documentation).
#[derive(Debug)]
pub struct Lane<A> {
    queue: VecDeque<LaneOp<A>>,
    /// The operation in flight, if any (`Some(None)`: a release or a lifetime).
    in_flight: Option<Option<AddressOp>>,
    /// The last removal failed.
    remove_failed: bool,
}

impl<A> Default for Lane<A> {
    fn default() -> Self {
        Lane {
            queue: VecDeque::new(),
            in_flight: None,
            remove_failed: false,
        }
    }
}

impl<A> Lane<A> {
    /// An empty lane.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues an entry behind everything emitted before it.
    pub fn push(&mut self, op: LaneOp<A>) {
        self.queue.push_back(op);
    }

    /// The next step that may start now, or `None` while an operation is in flight or nothing
    /// is queued. Call it again until `None` after each push and each [`Lane::finished`].
    pub fn next_step(&mut self) -> Option<LaneStep<A>> {
        if self.in_flight.is_some() {
            return None;
        }
        let step = match self.queue.pop_front()? {
            LaneOp::Advert(a) => return Some(LaneStep::Advert(a)),
            LaneOp::Address { op, vips } => {
                let lifetime = match self.queue.front() {
                    Some(LaneOp::Lifetime { until, .. }) if op == AddressOp::Add => {
                        let until = *until;
                        self.queue.pop_front();
                        Some(until)
                    }
                    _ => None,
                };
                self.in_flight = Some(Some(op));
                LaneStep::Address { op, vips, lifetime }
            }
            LaneOp::Release if self.remove_failed => return Some(LaneStep::ReleaseSkipped),
            LaneOp::Release => {
                self.in_flight = Some(None);
                LaneStep::Release
            }
            LaneOp::Lifetime { vips, until } => {
                self.in_flight = Some(None);
                LaneStep::Lifetime { vips, until }
            }
        };
        Some(step)
    }

    /// The operation in flight ended (`ok`: it succeeded).
    pub fn finished(&mut self, ok: bool) {
        if let Some(Some(AddressOp::Remove)) = self.in_flight {
            self.remove_failed = !ok;
        }
        self.in_flight = None;
    }

    /// True with nothing queued and nothing in flight.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_none() && self.queue.is_empty()
    }

    /// Forgets everything (the daemon stopped).
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(op: AddressOp) -> LaneOp<u8> {
        LaneOp::Address { op, vips: vec![] }
    }

    #[test]
    fn operations_one_at_a_time_adverts_behind_them() {
        let mut lane = Lane::new();
        lane.push(address(AddressOp::Add));
        lane.push(address(AddressOp::Announce));
        lane.push(LaneOp::Advert(100));
        assert!(matches!(
            lane.next_step(),
            Some(LaneStep::Address {
                op: AddressOp::Add,
                ..
            })
        ));
        assert!(lane.next_step().is_none());
        lane.finished(true);
        assert!(matches!(
            lane.next_step(),
            Some(LaneStep::Address {
                op: AddressOp::Announce,
                ..
            })
        ));
        lane.finished(true);
        assert!(matches!(lane.next_step(), Some(LaneStep::Advert(100))));
        assert!(lane.is_idle());
    }

    #[test]
    fn release_is_skipped_after_a_failed_removal() {
        let mut lane: Lane<u8> = Lane::new();
        lane.push(address(AddressOp::Remove));
        lane.push(LaneOp::Release);
        lane.push(LaneOp::Advert(0));
        assert!(lane.next_step().is_some());
        lane.finished(false);
        assert!(matches!(lane.next_step(), Some(LaneStep::ReleaseSkipped)));
        assert!(matches!(lane.next_step(), Some(LaneStep::Advert(0))));
        // A later successful removal lets a release through again.
        lane.push(address(AddressOp::Remove));
        lane.push(LaneOp::Release);
        assert!(lane.next_step().is_some());
        lane.finished(true);
        assert!(matches!(lane.next_step(), Some(LaneStep::Release)));
    }

    #[test]
    fn a_lifetime_behind_an_add_goes_with_it() {
        let mut lane: Lane<u8> = Lane::new();
        lane.push(address(AddressOp::Add));
        lane.push(LaneOp::Lifetime {
            vips: vec![],
            until: Timestamp::from_millis(7),
        });
        lane.push(address(AddressOp::Announce));
        assert!(matches!(
            lane.next_step(),
            Some(LaneStep::Address {
                op: AddressOp::Add,
                lifetime: Some(t),
                ..
            }) if t == Timestamp::from_millis(7)
        ));
        lane.finished(true);
        assert!(matches!(
            lane.next_step(),
            Some(LaneStep::Address {
                op: AddressOp::Announce,
                lifetime: None,
                ..
            })
        ));
    }
}
