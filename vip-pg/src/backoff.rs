//! Bounded exponential back-off between connection attempts (pure: time comes in as arguments).

use std::time::Duration;

use tokio::time::Instant;

/// Bounds of the reconnect back-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The wait after the first failed attempt.
    pub initial: Duration,
    /// The longest wait; the delay doubles after each failure up to this.
    pub max: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        }
    }
}

/// Gates connection attempts: after `n` consecutive failures the next attempt is allowed
/// `min(initial * 2^(n-1), max)` after the last failure. A success resets it.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    failures: u32,
    not_before: Option<Instant>,
    last_error: Option<String>,
}

impl Backoff {
    /// A back-off with no failures yet: the first attempt may run at once.
    pub fn new(config: BackoffConfig) -> Self {
        Backoff {
            config,
            failures: 0,
            not_before: None,
            last_error: None,
        }
    }

    /// The delay that follows `failures` consecutive failures (0 for none).
    pub fn delay_after(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let shift = (failures - 1).min(31);
        self.config
            .initial
            .saturating_mul(1u32 << shift)
            .min(self.config.max)
    }

    /// `Ok(())` when an attempt may start at `now`, or how long to wait and the last error.
    pub fn check(&self, now: Instant) -> Result<(), (Duration, &str)> {
        match self.not_before {
            Some(at) if at > now => {
                Err((at - now, self.last_error.as_deref().unwrap_or("unknown")))
            }
            _ => Ok(()),
        }
    }

    /// Records a failed attempt at `now`; returns the delay until the next one is allowed.
    pub fn failed(&mut self, now: Instant, error: String) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let delay = self.delay_after(self.failures);
        self.not_before = Some(now + delay);
        self.last_error = Some(error);
        delay
    }

    /// Records a successful attempt: the next failure starts again from `initial`.
    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.not_before = None;
        self.last_error = None;
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn doubles_up_to_the_bound_and_resets() {
        let mut b = Backoff::new(BackoffConfig {
            initial: ms(100),
            max: ms(700),
        });
        let t0 = Instant::now();
        assert!(b.check(t0).is_ok());
        let delays: Vec<_> = (0..6).map(|_| b.failed(t0, "refused".into())).collect();
        assert_eq!(
            delays,
            vec![ms(100), ms(200), ms(400), ms(700), ms(700), ms(700)]
        );
        b.succeeded();
        assert_eq!(b.failures(), 0);
        assert!(b.check(t0).is_ok());
        assert_eq!(b.failed(t0, "x".into()), ms(100));
    }

    #[test]
    fn gates_attempts_until_the_delay_passed() {
        let mut b = Backoff::new(BackoffConfig {
            initial: ms(100),
            max: ms(1000),
        });
        let t0 = Instant::now();
        b.failed(t0, "refused".into());
        let (wait, last) = b.check(t0 + ms(30)).unwrap_err();
        assert_eq!(wait, ms(70));
        assert_eq!(last, "refused");
        assert!(b.check(t0 + ms(100)).is_ok());
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        let b = Backoff::new(BackoffConfig {
            initial: ms(100),
            max: Duration::from_secs(5),
        });
        assert_eq!(b.delay_after(u32::MAX), Duration::from_secs(5));
        assert_eq!(b.delay_after(40), Duration::from_secs(5));
    }
}
