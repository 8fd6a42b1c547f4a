//! [`Eager`]: drives rtnetlink's connection task so that requests queued together go out
//! together.
//!
//! netlink-proto's `Connection` sends at most one queued request each time it is polled, and it
//! is polled again only when something wakes it: a new request, or a reply to read. So requests
//! queued together (200 instances stopping at once, each removing its VIP) went out one per
//! round trip through the runtime's run queue: on vipd's one runtime thread, busy with those
//! 200 instances' stops, each round trip took about 10 ms, and most removals ran out of their
//! bound (200 ms at 10 cs adverts) before their request had even been sent, leaving their VIPs
//! behind. Polling the connection a few times per wake-up sends up to that many queued
//! requests at once; a poll with nothing to do costs a few checks and no system call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls of the connection per wake-up: the most requests sent per wake-up.
const POLLS_PER_WAKE: usize = 64;

/// A connection future polled [`POLLS_PER_WAKE`] times per wake-up (see the module docs).
pub(crate) struct Eager<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future<Output = ()>> Eager<F> {
    /// Wraps the connection task `inner`.
    pub(crate) fn new(inner: F) -> Self {
        Eager {
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future<Output = ()>> Future for Eager<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..POLLS_PER_WAKE {
            if self.inner.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use super::{Eager, POLLS_PER_WAKE};

    /// Like netlink-proto's connection: sends one queued request per poll.
    struct OnePerPoll {
        queued: VecDeque<u32>,
        sent: Vec<u32>,
    }

    impl Future for &mut OnePerPoll {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            if let Some(r) = self.queued.pop_front() {
                self.sent.push(r);
            }
            Poll::Pending
        }
    }

    #[test]
    fn one_wake_up_sends_up_to_polls_per_wake_queued_requests() {
        let mut conn = OnePerPoll {
            queued: (0..200).collect(),
            sent: Vec::new(),
        };
        let mut cx = Context::from_waker(Waker::noop());
        {
            let mut eager = Eager::new(&mut conn);
            assert!(Pin::new(&mut eager).poll(&mut cx).is_pending());
        }
        assert_eq!(conn.sent.len(), POLLS_PER_WAKE);
        let mut plain = &mut conn;
        assert!(Pin::new(&mut plain).poll(&mut cx).is_pending());
        assert_eq!(
            conn.sent.len(),
            POLLS_PER_WAKE + 1,
            "unwrapped: one per poll"
        );
    }
}
