//! Tracked checks: a command run every interval (no shell, killed after its timeout).
//!
//! [`CommandCheck`] is the [`HealthCheck`] the vip-core runtime schedules and debounces (use
//! [`CheckConfig::schedule`]). [`check_loop`] and [`RiseFall`] do the same without the runtime.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};
use vip_core::Error;
use vip_core::election::CheckStatus;
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

/// keepalived's rise/fall debouncing: `rise` consecutive passes make a check Passing, `fall`
/// consecutive failures make it Failing. Until either happens the status is unknown.
#[derive(Debug, Clone)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    passes: u32,
    failures: u32,
    status: Option<CheckStatus>,
}

impl RiseFall {
    /// A debouncer with these thresholds (0 is treated as 1).
    pub fn new(rise: u32, fall: u32) -> Self {
        RiseFall {
            rise: rise.max(1),
            fall: fall.max(1),
            passes: 0,
            failures: 0,
            status: None,
        }
    }

    /// Records one result; returns the new status when it changes.
    pub fn record(&mut self, passed: bool) -> Option<CheckStatus> {
        let next = if passed {
            self.failures = 0;
            self.passes = self.passes.saturating_add(1);
            (self.passes >= self.rise).then_some(CheckStatus::Passing)
        } else {
            self.passes = 0;
            self.failures = self.failures.saturating_add(1);
            (self.failures >= self.fall).then_some(CheckStatus::Failing)
        };
        match next {
            Some(s) if self.status != Some(s) => {
                self.status = Some(s);
                Some(s)
            }
            _ => None,
        }
    }

    /// The current debounced status.
    pub fn status(&self) -> Option<CheckStatus> {
        self.status
    }
}

/// Runs check `index` every `interval` until `stop` turns true, sending `(index, status)` on
/// every debounced change. The first run starts at once.
pub async fn check_loop(
    index: usize,
    check: CheckConfig,
    tx: mpsc::Sender<(usize, CheckStatus)>,
    mut stop: watch::Receiver<bool>,
) {
    let mut rf = RiseFall::new(check.rise, check.fall);
    let mut ticker = tokio::time::interval(check.interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        let outcome = run_check(&check).await;
        if !outcome.success() {
            tracing::debug!(check = %check.name, "check failed: {}", outcome.describe());
        }
        if let Some(status) = rf.record(outcome.success()) {
            tracing::info!(check = %check.name, ?status, "tracked check status changed");
            if tx.send((index, status)).await.is_err() {
                return;
            }
        }
    }
}
