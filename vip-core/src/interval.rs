//! Advertisement intervals in integer centiseconds (RFC 9568 section 5.2.7).

use std::fmt;
use std::time::Duration;

/// A time interval in whole centiseconds, the unit of VRRPv3's Max Advertise Interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Interval(u32);

impl Interval {
    /// The RFC default advertisement interval: 100 centiseconds.
    pub const DEFAULT_ADVERT: Interval = Interval(100);
    /// The largest interval a VRRPv3 packet can carry (12 bits).
    pub const MAX_V3: Interval = Interval(4095);

    /// An interval of `centis` centiseconds.
    pub const fn from_centis(centis: u32) -> Self {
        Interval(centis)
    }

    /// An interval of whole seconds (VRRPv2 carries seconds).
    pub const fn from_secs(secs: u32) -> Self {
        Interval(secs.saturating_mul(100))
    }

    /// The number of centiseconds.
    pub const fn as_centis(self) -> u32 {
        self.0
    }

    /// The interval in whole seconds if it is a multiple of one second.
    pub const fn as_whole_secs(self) -> Option<u32> {
        if self.0.is_multiple_of(100) {
            Some(self.0 / 100)
        } else {
            None
        }
    }

    /// True for a zero interval, which the RFC forbids on the wire.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The interval as a `Duration`.
    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}cs", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(Interval::from_secs(1).as_centis(), 100);
        assert_eq!(
            Interval::from_centis(10).as_duration(),
            Duration::from_millis(100)
        );
        assert_eq!(Interval::from_centis(150).as_whole_secs(), None);
        assert_eq!(Interval::from_centis(200).as_whole_secs(), Some(2));
    }
}
