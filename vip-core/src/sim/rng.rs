//! A small deterministic pseudo-random generator (SplitMix64) for the simulator.

/// SplitMix64: fast, seedable, and good enough for choosing delays and losses.
#[derive(Debug, Clone)]
pub struct SimRng {
    state: u64,
}

impl SimRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value uniform in `0..=max`.
    pub fn upto(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.next_u64();
        }
        self.next_u64() % (max + 1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u8) -> bool {
        percent > 0 && (percent >= 100 || self.next_u64() % 100 < u64::from(percent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_bounded() {
        let mut a = SimRng::new(7);
        let mut b = SimRng::new(7);
        for _ in 0..100 {
            let x = a.upto(10);
            assert_eq!(x, b.upto(10));
            assert!(x <= 10);
        }
        assert!(!a.chance(0));
        assert!(a.chance(100));
        let hits = (0..10_000).filter(|_| a.chance(30)).count();
        assert!((2_500..3_500).contains(&hits), "{hits}");
    }
}
