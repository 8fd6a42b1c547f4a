//! Deterministic pseudo-random numbers for claim back-off jitter (splitmix64).

use std::time::Duration;

/// A seeded splitmix64 generator: the same seed gives the same back-off sequence.
#[derive(Debug, Clone)]
pub(super) struct Jitter(u64);

impl Jitter {
    /// A generator seeded with `seed`.
    pub(super) fn new(seed: u64) -> Self {
        Jitter(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `base` shortened by a random whole number of milliseconds, up to a quarter of it: the
    /// result lies in `[3/4 base, base]`, so it never exceeds the configured maximum back-off.
    pub(super) fn shorten(&mut self, base: Duration) -> Duration {
        let span = u64::try_from(base.as_millis() / 4).unwrap_or(u64::MAX);
        if span == 0 {
            return base;
        }
        let cut = self.next_u64() % (span + 1);
        base.saturating_sub(Duration::from_millis(cut))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_bounded() {
        let mut a = Jitter::new(7);
        let mut b = Jitter::new(7);
        let base = Duration::from_millis(200);
        for _ in 0..100 {
            let x = a.shorten(base);
            assert_eq!(x, b.shorten(base));
            assert!(x <= base && x >= Duration::from_millis(150));
        }
        let mut c = Jitter::new(8);
        let differs = (0..10).any(|_| a.shorten(base) != c.shorten(base));
        assert!(differs);
    }
}
