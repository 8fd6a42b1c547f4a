//! The tracked-check task: runs one [`HealthCheck`] on its schedule and reports debounced
//! changes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::{Instant, MissedTickBehavior};

use super::call::bounded;
use super::message::Message;
use super::{CheckSchedule, Debouncer, HealthCheck};

/// Runs the check once, bounded by `timeout`; a run that times out or panics fails.
pub(crate) async fn check_once(check: Arc<dyn HealthCheck>, timeout: Duration) -> bool {
    let name = check.name().to_owned();
    let outcome = bounded(timeout, async move { check.check().await })
        .await
        .unwrap_or_else(|e| Err(e.into_error(&format!("check {name}"))));
    match outcome {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(check = %name, error = %e, "tracked check failed");
            false
        }
    }
}

/// Runs check `index` every `schedule.interval` (first run one interval from now: the runtime
/// already ran it once before starting), feeding results through `debouncer` and sending a
/// [`Message::Check`] on every debounced change.
pub(crate) async fn run_check(
    index: usize,
    check: Arc<dyn HealthCheck>,
    schedule: CheckSchedule,
    mut debouncer: Debouncer,
    done: UnboundedSender<Message>,
) {
    let mut ticks = tokio::time::interval_at(Instant::now() + schedule.interval, schedule.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let passed = check_once(check.clone(), schedule.timeout).await;
        if let Some(status) = debouncer.observe(passed)
            && done.send(Message::Check { index, status }).is_err()
        {
            return;
        }
    }
}
