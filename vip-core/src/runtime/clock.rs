//! The runtime's clock: tokio `Instant`s mapped onto the machine's [`Timestamp`]s.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::Timestamp;

/// Maps tokio instants to [`Timestamp`]s, counted from the instant the [`super::Runtime`] was
/// created. It reads `tokio::time::Instant`, so tests with paused time see virtual time.
///
/// All instances of one runtime share the clock, so their timestamps are comparable.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
    wall_epoch: SystemTime,
}

impl Clock {
    /// A clock whose epoch (`Timestamp::ZERO`) is now.
    pub fn start() -> Self {
        Clock {
            epoch: Instant::now(),
            wall_epoch: SystemTime::now(),
        }
    }

    /// The current time as a [`Timestamp`].
    pub fn now(&self) -> Timestamp {
        self.timestamp(Instant::now())
    }

    /// `instant` as a [`Timestamp`] (instants before the epoch map to the epoch).
    pub fn timestamp(&self, instant: Instant) -> Timestamp {
        Timestamp::ZERO + instant.saturating_duration_since(self.epoch)
    }

    /// The tokio instant of `at`.
    pub fn instant(&self, at: Timestamp) -> Instant {
        self.epoch + at.since_epoch()
    }

    /// The wall-clock time of `at`, for display (system time read when the clock started, plus
    /// the monotonic time elapsed since).
    pub fn wall_time(&self, at: Timestamp) -> SystemTime {
        self.wall_epoch + at.since_epoch()
    }

    /// Time elapsed since the epoch.
    pub fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn timestamps_follow_paused_time() {
        let clock = Clock::start();
        assert_eq!(clock.now(), Timestamp::ZERO);
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(clock.now(), Timestamp::from_millis(1500));
        let at = Timestamp::from_millis(2500);
        assert_eq!(clock.timestamp(clock.instant(at)), at);
        assert_eq!(
            clock
                .wall_time(at)
                .duration_since(clock.wall_time(Timestamp::ZERO))
                .ok(),
            Some(Duration::from_millis(2500))
        );
    }
}
