//! Bounds on backend calls, derived from the advertisement interval.

use std::time::Duration;

use vip_core::Interval;
use vip_core::runtime::Timeouts;

/// Extra time the runtime grants a fence beyond the fencer's own timeout, so that the command
/// fencer kills the command and reports why first.
pub const FENCE_GRACE: Duration = Duration::from_millis(500);

/// Bounds on backend calls, scaled to the advert interval: an address operation or an advert
/// that hangs must not hold the instance's lane for a whole Master_Down_Interval (3 intervals
/// plus skew). Address operations get two intervals (100 ms..=1 s), an advert one interval
/// (50 ms..=500 ms), and a fence `fence + FENCE_GRACE` when the fencer has a timeout of its own
/// (the runtime's default otherwise).
///
/// ```
/// use std::time::Duration;
/// use vip_core::Interval;
///
/// let t = vip_node::timeouts(Interval::from_centis(10), None);
/// assert_eq!(t.address, Duration::from_millis(200));
/// assert_eq!(t.advert, Duration::from_millis(100));
/// ```
pub fn timeouts(advert_interval: Interval, fence: Option<Duration>) -> Timeouts {
    let advert = advert_interval.as_duration();
    let clamp = |d: Duration, lo: u64, hi: u64| {
        d.clamp(Duration::from_millis(lo), Duration::from_millis(hi))
    };
    Timeouts {
        address: clamp(advert * 2, 100, 1000),
        advert: clamp(advert, 50, 500),
        fence: fence.map_or(Timeouts::default().fence, |f| f + FENCE_GRACE),
        ..Timeouts::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_bound_stays_below_master_down() {
        for cs in [1, 5, 10, 50, 100, 300] {
            let i = Interval::from_centis(cs);
            let t = timeouts(i, None);
            // Master_Down_Interval is at least 3 intervals; the bound leaves room for adverts
            // queued behind a slow operation from 5 cs up (below, the 100 ms floor applies).
            if cs >= 5 {
                assert!(t.address < i.as_duration() * 3, "{cs} cs");
            }
            assert!(t.advert <= t.address);
        }
        assert_eq!(
            timeouts(Interval::DEFAULT_ADVERT, Some(Duration::from_secs(3))).fence,
            Duration::from_millis(3500)
        );
    }
}
