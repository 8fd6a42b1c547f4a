//! Rise/fall debouncing of tracked-check results (keepalived's `rise` and `fall`).

use crate::election::CheckStatus;

/// Turns raw check results into debounced [`CheckStatus`] changes.
///
/// A passing check becomes [`CheckStatus::Failing`] after `fall` consecutive failures, and a
/// failing one becomes [`CheckStatus::Passing`] after `rise` consecutive successes. Results that
/// agree with the current status reset the opposite streak. While the status is still unknown
/// (no `initial` status given), the first result decides it at once.
///
/// Plain code, no I/O: the runtime feeds it and forwards what [`Debouncer::observe`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debouncer {
    rise: u32,
    fall: u32,
    status: Option<CheckStatus>,
    streak: u32,
}

impl Debouncer {
    /// A debouncer needing `rise` successes to pass and `fall` failures to fail (zero counts as
    /// one), starting from `initial` (`None`: unknown until the first result).
    pub fn new(rise: u32, fall: u32, initial: Option<CheckStatus>) -> Self {
        Debouncer {
            rise: rise.max(1),
            fall: fall.max(1),
            status: initial,
            streak: 0,
        }
    }

    /// The current debounced status, if known.
    pub fn status(&self) -> Option<CheckStatus> {
        self.status
    }

    /// Records one result. Returns the new status when the debounced status changes (or is
    /// first known), `None` otherwise.
    pub fn observe(&mut self, passed: bool) -> Option<CheckStatus> {
        let seen = if passed {
            CheckStatus::Passing
        } else {
            CheckStatus::Failing
        };
        match self.status {
            None => {
                self.status = Some(seen);
                self.streak = 0;
                Some(seen)
            }
            Some(current) if current == seen => {
                self.streak = 0;
                None
            }
            Some(_) => {
                self.streak = self.streak.saturating_add(1);
                let needed = if passed { self.rise } else { self.fall };
                if self.streak >= needed {
                    self.status = Some(seen);
                    self.streak = 0;
                    Some(seen)
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckStatus::{Failing, Passing};

    fn run(d: &mut Debouncer, results: &[bool]) -> Vec<Option<CheckStatus>> {
        results.iter().map(|&r| d.observe(r)).collect()
    }

    #[test]
    fn first_result_decides_when_unknown() {
        let mut d = Debouncer::new(3, 3, None);
        assert_eq!(d.observe(false), Some(Failing));
        assert_eq!(d.status(), Some(Failing));
        let mut d = Debouncer::new(3, 3, None);
        assert_eq!(d.observe(true), Some(Passing));
    }

    #[test]
    fn fall_needs_consecutive_failures() {
        let mut d = Debouncer::new(2, 3, Some(Passing));
        assert_eq!(
            run(&mut d, &[false, false, true, false, false]),
            vec![None; 5]
        );
        assert_eq!(d.observe(false), Some(Failing));
        assert_eq!(d.observe(false), None);
        assert_eq!(d.status(), Some(Failing));
    }

    #[test]
    fn rise_needs_consecutive_successes() {
        let mut d = Debouncer::new(2, 1, Some(Failing));
        assert_eq!(run(&mut d, &[true, false, true]), vec![None, None, None]);
        assert_eq!(d.observe(true), Some(Passing));
        assert_eq!(d.observe(false), Some(Failing));
    }

    #[test]
    fn zero_counts_as_one() {
        let mut d = Debouncer::new(0, 0, Some(Passing));
        assert_eq!(d.observe(false), Some(Failing));
        assert_eq!(d.observe(true), Some(Passing));
    }

    #[test]
    fn agreeing_results_change_nothing() {
        let mut d = Debouncer::new(1, 1, Some(Passing));
        assert_eq!(run(&mut d, &[true; 10]), vec![None; 10]);
    }
}
