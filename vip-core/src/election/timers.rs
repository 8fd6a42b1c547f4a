//! RFC 9568 section 6.1 timer arithmetic, in integer centiseconds.

use std::time::Duration;

use crate::{Interval, Priority};

use super::Version;

/// Skew_Time in centiseconds.
///
/// - VRRPv3 (RFC 9568 section 6.1): `((256 - Priority) * Master_Adver_Interval) / 256`.
/// - VRRPv2 (RFC 3768 section 6.1): `(256 - Priority) / 256` seconds, that is
///   `((256 - Priority) * 100) / 256` centiseconds.
pub fn skew_time(
    version: Version,
    priority: Priority,
    master_adver_interval: Interval,
) -> Interval {
    let weight = 256 - u32::from(priority.get());
    let centis = match version {
        Version::V3 => weight * master_adver_interval.as_centis() / 256,
        Version::V2 => weight * 100 / 256,
    };
    Interval::from_centis(centis)
}

/// Master_Down_Interval in centiseconds: `3 * Master_Adver_Interval + Skew_Time`.
pub fn master_down_interval(
    version: Version,
    priority: Priority,
    master_adver_interval: Interval,
) -> Interval {
    let skew = skew_time(version, priority, master_adver_interval);
    Interval::from_centis(
        master_adver_interval
            .as_centis()
            .saturating_mul(3)
            .saturating_add(skew.as_centis()),
    )
}

/// Converts centiseconds to a `Duration`.
pub(super) fn centis(i: Interval) -> Duration {
    i.as_duration()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_arithmetic() {
        let p = Priority::new(100);
        assert_eq!(
            skew_time(Version::V3, p, Interval::from_centis(100)).as_centis(),
            60
        );
        assert_eq!(
            master_down_interval(Version::V3, p, Interval::from_centis(100)).as_centis(),
            360
        );
        // 156 * 35 / 256 = 21.3 -> 21
        assert_eq!(
            skew_time(Version::V3, p, Interval::from_centis(35)).as_centis(),
            21
        );
        assert_eq!(
            skew_time(Version::V3, Priority::OWNER, Interval::from_centis(100)).as_centis(),
            0
        );
    }

    #[test]
    fn v2_ignores_interval_for_skew() {
        let p = Priority::new(200);
        // 56 * 100 / 256 = 21.875 -> 21
        assert_eq!(
            skew_time(Version::V2, p, Interval::from_secs(3)).as_centis(),
            21
        );
        assert_eq!(
            master_down_interval(Version::V2, p, Interval::from_secs(3)).as_centis(),
            921
        );
    }
}
