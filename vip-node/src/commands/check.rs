//! Tracked checks: a command run every interval (no shell, killed after its timeout).
//!
//! [`CommandCheck`] is the [`HealthCheck`] the vip-core runtime schedules and debounces (use
//! [`CommandCheck::schedule`]); rise/fall debouncing is the runtime's.

use std::time::Duration;

use vip_core::runtime::{CheckSchedule, HealthCheck};
use vip_core::{Error, async_trait};

use super::process::{self, CommandOutcome, Ended};

/// Extra time the runtime grants a check run beyond the command's own timeout.
pub const SCHEDULE_GRACE: Duration = Duration::from_millis(200);

/// A tracked check that runs a command: passes when it exits 0 within its timeout (after which
/// it is killed, with its process group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandCheck {
    name: String,
    argv: Vec<String>,
    timeout: Duration,
}

impl CommandCheck {
    /// A check named `name` running `argv` (no shell), killed after `timeout`.
    pub fn new(name: impl Into<String>, argv: Vec<String>, timeout: Duration) -> Self {
        CommandCheck {
            name: name.into(),
            argv,
            timeout,
        }
    }

    /// Runs the command once (passes when it exits 0 within the timeout).
    pub async fn run_once(&self) -> CommandOutcome {
        process::run(&self.argv, &[], self.timeout).await
    }

    /// The runtime's schedule for this check: every `interval`, `rise` successes to turn
    /// passing and `fall` failures to turn failing (initial status decided by the first run).
    /// Its bound is the command's timeout plus [`SCHEDULE_GRACE`], so that the check kills
    /// the command's whole process group itself and reports the timeout first.
    pub fn schedule(&self, interval: Duration, rise: u32, fall: u32) -> CheckSchedule {
        CheckSchedule {
            interval,
            timeout: self.timeout + SCHEDULE_GRACE,
            rise,
            fall,
            initial: None,
        }
    }
}

#[async_trait]
impl HealthCheck for CommandCheck {
    async fn check(&self) -> Result<(), Error> {
        let o = process::run(&self.argv, &[], self.timeout).await;
        match &o.ended {
            _ if o.success() => Ok(()),
            Ended::TimedOut => Err(Error::timeout(format!("check {}", self.name), self.timeout)),
            _ => Err(Error::Other {
                operation: format!("check {}", self.name),
                message: o.describe(),
                transient: true,
            }),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
