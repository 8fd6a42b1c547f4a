//! Tracked checks: a command run every interval (no shell, killed after its timeout).
//!
//! [`CommandCheck`] is the [`HealthCheck`] the vip-core runtime schedules and debounces (use
//! [`CheckConfig::schedule`]); rise/fall debouncing is the runtime's.

use std::time::Duration;

use async_trait::async_trait;
use vip_core::Error;
use vip_core::runtime::{CheckSchedule, HealthCheck};

use super::process::{self, CommandOutcome, Ended};
use crate::config::CheckConfig;

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
    /// The check for a `[[instance.check]]` entry.
    pub fn from_config(check: &CheckConfig) -> Self {
        CommandCheck {
            name: check.name.clone(),
            argv: check.argv.clone(),
            timeout: check.timeout,
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

impl CheckConfig {
    /// The runtime's schedule for this check (initial status decided by the first run). Its
    /// bound is the check's timeout plus [`SCHEDULE_GRACE`], so that [`CommandCheck`] kills the
    /// command's whole process group itself and reports the timeout first.
    pub fn schedule(&self) -> CheckSchedule {
        CheckSchedule {
            interval: self.interval,
            timeout: self.timeout + SCHEDULE_GRACE,
            rise: self.rise,
            fall: self.fall,
            initial: None,
        }
    }
}

/// Runs a check once: passes when the command exits 0 within its timeout.
pub async fn run_check(check: &CheckConfig) -> CommandOutcome {
    process::run(&check.argv, &[], check.timeout).await
}
