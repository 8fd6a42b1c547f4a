//! The [`HealthCheck`] trait and its schedule: tracked checks that weigh on the priority.

use std::time::Duration;

use async_trait::async_trait;

use crate::Error;
use crate::election::CheckStatus;

/// A tracked check (keepalived's `vrrp_script` / `track_*`): passes or fails with a reason.
///
/// The runtime runs it on its [`CheckSchedule`], bounds each run by the schedule's timeout (a
/// run that times out counts as a failure) and debounces the results with rise/fall before the
/// election sees them.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Runs the check once: `Ok(())` when it passes, an error saying why when it fails.
    async fn check(&self) -> Result<(), Error>;

    /// A short name for logs (for example the script path).
    fn name(&self) -> &str;
}

/// When and how strictly a [`HealthCheck`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckSchedule {
    /// Time between the starts of two runs.
    pub interval: Duration,
    /// Bound on one run; a run that takes longer counts as a failure.
    pub timeout: Duration,
    /// Consecutive successes that turn a failing check passing.
    pub rise: u32,
    /// Consecutive failures that turn a passing check failing.
    pub fall: u32,
    /// The status assumed before the first run. `None` (the default): the runtime runs the
    /// check once before starting the election and its first result decides.
    pub initial: Option<CheckStatus>,
}

impl Default for CheckSchedule {
    /// keepalived's defaults: every second, one-second timeout, rise 1, fall 1.
    fn default() -> Self {
        CheckSchedule {
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rise: 1,
            fall: 1,
            initial: None,
        }
    }
}
