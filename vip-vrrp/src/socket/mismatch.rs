//! Loud, but not flooding, reports of peers whose adverts differ from our configuration.
//!
//! keepalived drops adverts whose address list (and, in v2, interval) differs from its own, so
//! such a peer and we may both end up master. Every such advert is counted; a warning is logged
//! when a peer starts to differ, and an info line when it agrees again, per peer.

use std::net::IpAddr;
use std::sync::Mutex;

use vip_core::Interval;

use super::TransportStats;

/// Peers tracked at most; beyond that the table starts afresh (a flood of distinct sources
/// that pass validation is itself a misconfiguration, and logging then repeats, no more).
const MAX_PEERS: usize = 64;

/// What differed in a peer's last advert.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Differs {
    addresses: bool,
    interval: bool,
}

/// Per-peer mismatch state. A plain list: a VRID has one or a few peers, and a scan of them
/// is cheaper than hashing the source of every advert.
#[derive(Debug, Default)]
pub(crate) struct MismatchLog {
    peers: Mutex<Vec<(IpAddr, Differs)>>,
}

impl MismatchLog {
    /// Records one accepted advert from `src`: whether its address list differs from ours,
    /// and its interval against ours when that must match (`Some` for v2; v3 routers learn the
    /// master's interval, so a v3 difference is normal).
    pub(crate) fn note(
        &self,
        stats: &TransportStats,
        src: IpAddr,
        vrid: u8,
        addresses_differ: bool,
        theirs: Interval,
        ours: Option<Interval>,
    ) {
        let now = Differs {
            addresses: addresses_differ,
            interval: ours.is_some_and(|o| o != theirs),
        };
        if now.addresses {
            stats.count_address_mismatch();
        }
        if now.interval {
            stats.count_interval_mismatch();
        }
        let mut peers = match self.peers.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        let before = match peers.iter_mut().find(|(peer, _)| *peer == src) {
            Some((_, differs)) => std::mem::replace(differs, now),
            None => {
                if peers.len() >= MAX_PEERS {
                    peers.clear();
                }
                peers.push((src, now));
                Differs::default()
            }
        };
        drop(peers);
        if now.addresses != before.addresses {
            if now.addresses {
                tracing::warn!(
                    %src, vrid,
                    "VRRP advert address list differs from ours; keepalived peers drop such \
                     adverts, so two masters may result"
                );
            } else {
                tracing::info!(%src, vrid, "VRRP advert address list agrees with ours again");
            }
        }
        if now.interval != before.interval {
            if now.interval {
                tracing::warn!(
                    %src, vrid, %theirs, ours = %ours.unwrap_or_default(),
                    "VRRP advert interval differs from ours; keepalived v2 peers drop such adverts"
                );
            } else {
                tracing::info!(%src, vrid, "VRRP advert interval agrees with ours again");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn counts_every_mismatch() {
        let stats = TransportStats::default();
        let log = MismatchLog::default();
        let (a, b): (IpAddr, IpAddr) = (
            "198.51.100.1".parse().unwrap(),
            "198.51.100.2".parse().unwrap(),
        );
        let one = Interval::from_secs(1);
        log.note(&stats, a, 1, true, one, Some(one));
        log.note(&stats, b, 1, false, Interval::from_secs(2), Some(one));
        log.note(&stats, b, 1, false, Interval::from_secs(2), None);
        log.note(&stats, a, 1, true, one, Some(one));
        log.note(&stats, a, 1, false, one, Some(one));
        let snap = stats.snapshot();
        assert_eq!((snap.address_mismatch, snap.interval_mismatch), (2, 1));
        for i in 0..200u8 {
            log.note(&stats, IpAddr::from([203, 0, 113, i]), 1, false, one, None);
        }
        assert!(log.peers.lock().unwrap().len() <= MAX_PEERS);
    }
}
