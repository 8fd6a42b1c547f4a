//! The retry policy of the reconcile on start (the runtime's, which the simulator models): a
//! restarted daemon removes its own stale VIPs before the election starts, and tries a failed
//! removal again before it gives up.

use std::time::Duration;

/// How many times a failed removal of stale VIPs is tried again before the election starts. A
/// removal that keeps failing is logged and the instance starts with the VIPs on its interface
/// (a stop request is not held up for ever).
pub const RECONCILE_RETRIES: u32 = 6;

/// The wait before retry `attempt` (from 0): 100 ms, doubling, at most 1 s (3.5 s for all of
/// [`RECONCILE_RETRIES`]).
pub fn retry_wait(attempt: u32) -> Duration {
    Duration::from_millis(100 << attempt.min(4)).min(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_a_second() {
        let waits: Vec<u64> = (0..RECONCILE_RETRIES)
            .map(|a| retry_wait(a).as_millis() as u64)
            .collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
    }
}
