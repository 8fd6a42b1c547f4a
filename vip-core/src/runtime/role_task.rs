//! The role-probe task: polls a [`RoleProbe`] on its schedule and on demand.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use crate::{Role, RoleProbe, RoleReport};

use super::RoleSchedule;
use super::call::bounded;
use super::message::Message;

/// Probes at once, then every `schedule.interval` (measured from the start of the previous
/// probe; probes never overlap), and immediately whenever `reprobe` is notified. A reprobe
/// asked for while a probe runs triggers one more probe right after it. A probe that does not
/// answer within `schedule.timeout + grace` is reported as [`Role::Unknown`].
pub(crate) async fn run_role_probe(
    probe: Arc<dyn RoleProbe>,
    schedule: RoleSchedule,
    grace: Duration,
    reprobe: Arc<Notify>,
    done: UnboundedSender<Message>,
) {
    let mut next = Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = reprobe.notified() => {}
        }
        let started = Instant::now();
        let report = probe_once(probe.clone(), schedule.timeout, grace).await;
        if done.send(Message::Role(report)).is_err() {
            return;
        }
        next = (started + schedule.interval).max(Instant::now());
    }
}

/// One bounded probe.
pub(crate) async fn probe_once(
    probe: Arc<dyn RoleProbe>,
    timeout: Duration,
    grace: Duration,
) -> RoleReport {
    let limit = timeout.saturating_add(grace);
    let name = probe.name().to_owned();
    bounded(limit, async move { probe.probe(timeout).await })
        .await
        .unwrap_or_else(|e| {
            RoleReport::from_role(Role::unknown(e.describe(&format!("role probe {name}"))))
        })
}
