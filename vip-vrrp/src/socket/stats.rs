//! [`TransportStats`]: counters of what a transport sent, accepted and dropped, by reason.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::wire::WireError;

/// Why a received packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The codec rejected it (RFC 9568 section 7.1 checks), or its IP header was malformed
    /// ([`WireError::Truncated`]).
    Wire(WireError),
    /// Unicast mode: its source is not a configured peer.
    NotAPeer,
    /// Its source is one of our own addresses.
    OwnPacket,
    /// It was valid, but the election instance's advert queue was full (a flood).
    QueueFull,
    /// Receiving failed, or the kernel gave no destination or hop limit for it.
    Io,
}

impl DropReason {
    /// A stable snake_case label for metrics: the [`WireError`] label, `not_a_peer`,
    /// `own_packet`, `queue_full` or `io`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::Wire(e) => e.as_str(),
            DropReason::NotAPeer => "not_a_peer",
            DropReason::OwnPacket => "own_packet",
            DropReason::QueueFull => "queue_full",
            DropReason::Io => "io",
        }
    }

    /// Every reason (handy for pre-registering metrics).
    pub fn all() -> impl Iterator<Item = DropReason> {
        WireError::ALL.into_iter().map(DropReason::Wire).chain([
            DropReason::NotAPeer,
            DropReason::OwnPacket,
            DropReason::QueueFull,
            DropReason::Io,
        ])
    }
}

const WIRE_COUNT: usize = WireError::ALL.len();

/// Counters of one transport, updated lock-free as packets come and go. Shared as an
/// `Arc<TransportStats>` (see `Transport::stats`); read with [`TransportStats::snapshot`].
/// The transport counts for itself; the `count_*` methods are public for receive paths built
/// on other sockets, and for tests.
#[derive(Debug, Default)]
pub struct TransportStats {
    received: AtomicU64,
    accepted: AtomicU64,
    sent: AtomicU64,
    send_errors: AtomicU64,
    address_mismatch: AtomicU64,
    interval_mismatch: AtomicU64,
    wire: [AtomicU64; WIRE_COUNT],
    not_a_peer: AtomicU64,
    own_packet: AtomicU64,
    queue_full: AtomicU64,
    io: AtomicU64,
}

impl TransportStats {
    /// Counts one packet read from the socket (accepted or dropped).
    pub fn count_received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one valid advert handed on.
    pub fn count_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one advert copy sent.
    pub fn count_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one advert copy the kernel refused to send.
    pub fn count_send_error(&self) {
        self.send_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one accepted advert whose address list differs from ours.
    pub fn count_address_mismatch(&self) {
        self.address_mismatch.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one accepted v2 advert whose interval differs from ours.
    pub fn count_interval_mismatch(&self) {
        self.interval_mismatch.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one packet dropped for `reason`.
    pub fn count_drop(&self, reason: DropReason) {
        self.counter(reason).fetch_add(1, Ordering::Relaxed);
    }

    fn counter(&self, reason: DropReason) -> &AtomicU64 {
        match reason {
            DropReason::Wire(e) => WireError::ALL
                .iter()
                .position(|w| *w == e)
                .and_then(|i| self.wire.get(i))
                .unwrap_or(&self.io),
            DropReason::NotAPeer => &self.not_a_peer,
            DropReason::OwnPacket => &self.own_packet,
            DropReason::QueueFull => &self.queue_full,
            DropReason::Io => &self.io,
        }
    }

    /// Packets dropped for `reason` so far.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.counter(reason).load(Ordering::Relaxed)
    }

    /// A consistent-enough copy of every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            received: self.received.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            send_errors: self.send_errors.load(Ordering::Relaxed),
            address_mismatch: self.address_mismatch.load(Ordering::Relaxed),
            interval_mismatch: self.interval_mismatch.load(Ordering::Relaxed),
            drops: DropReason::all()
                .map(|r| (r, self.drops(r)))
                .filter(|(_, n)| *n > 0)
                .collect(),
        }
    }
}

/// A copy of a transport's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Packets read from the socket (accepted or dropped).
    pub received: u64,
    /// Valid adverts returned by `Transport::recv`.
    pub accepted: u64,
    /// Advert copies sent (one per unicast peer).
    pub sent: u64,
    /// Advert copies the kernel refused to send.
    pub send_errors: u64,
    /// Accepted adverts whose address list differs from ours (keepalived drops those).
    pub address_mismatch: u64,
    /// Accepted v2 adverts whose interval differs from ours (keepalived v2 drops those).
    pub interval_mismatch: u64,
    /// Drops by reason, only the reasons that occurred.
    pub drops: Vec<(DropReason, u64)>,
}

impl StatsSnapshot {
    /// Drops for `reason` (0 if none).
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    }

    /// All drops together.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().map(|(_, n)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_reason() {
        let s = TransportStats::default();
        s.count_drop(DropReason::Wire(WireError::BadTtl));
        s.count_drop(DropReason::Wire(WireError::BadTtl));
        s.count_drop(DropReason::NotAPeer);
        s.count_drop(DropReason::QueueFull);
        s.count_received();
        let snap = s.snapshot();
        assert_eq!(snap.drops(DropReason::Wire(WireError::BadTtl)), 2);
        assert_eq!(snap.drops(DropReason::NotAPeer), 1);
        assert_eq!(
            snap.drops(DropReason::QueueFull),
            1,
            "a flood's drops are exported"
        );
        assert_eq!(snap.drops(DropReason::Io), 0);
        assert_eq!(snap.total_drops(), 4);
        assert_eq!(snap.received, 1);
        let mut labels: Vec<_> = DropReason::all().map(DropReason::as_str).collect();
        let n = labels.len();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), n, "labels are distinct");
    }
}
