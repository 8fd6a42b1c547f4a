//! The service follows the VIP: one task per instance with virtual servers watches the
//! instance's `holds_vips` (its `Status`, through the runtime's watch channel: no polling while
//! it runs) and calls `set_active` for each of its services when that changes. While the
//! instance is not running, its services are inactive; the task looks for a restarted instance
//! every [`RESTART_POLL`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use vip_core::runtime::Runtime;

use crate::config::VirtualServerConfig;
use vip_lb::BalancerHandle;

/// How often a task looks for its instance while it is not running.
pub const RESTART_POLL: Duration = Duration::from_millis(250);
/// How soon a failed `set_active` is tried again.
pub const RETRY: Duration = Duration::from_secs(1);

/// One following task per instance named by `config`.
pub fn spawn_all(
    config: &[VirtualServerConfig],
    runtime: &Arc<Runtime>,
    lb: &BalancerHandle,
) -> Vec<JoinHandle<()>> {
    let mut by_instance: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for vs in config {
        by_instance
            .entry(vs.instance.as_str())
            .or_default()
            .push(vs.name.clone());
    }
    by_instance
        .into_iter()
        .map(|(instance, services)| {
            tokio::spawn(follow(
                runtime.clone(),
                instance.to_owned(),
                services,
                lb.clone(),
            ))
        })
        .collect()
}

/// Sets every service to `active`; false if one failed (logged).
async fn apply(lb: &BalancerHandle, instance: &str, services: &[String], active: bool) -> bool {
    let mut ok = true;
    for s in services {
        match lb.set_active(s, active).await {
            Ok(()) => {
                tracing::info!(instance, service = %s, active, "virtual server follows the VIP")
            }
            Err(e) => {
                tracing::error!(instance, service = %s, active, "virtual server: {e}");
                ok = false;
            }
        }
    }
    ok
}

async fn follow(
    runtime: Arc<Runtime>,
    instance: String,
    services: Vec<String>,
    lb: BalancerHandle,
) {
    let mut applied: Option<bool> = None;
    loop {
        if let Some(h) = runtime.get(&instance).filter(|h| h.is_running()) {
            let mut rx = h.watch_status();
            loop {
                let holds = rx.borrow_and_update().holds_vips;
                if applied != Some(holds) {
                    applied = apply(&lb, &instance, &services, holds)
                        .await
                        .then_some(holds);
                }
                let changed = if applied.is_some() {
                    rx.changed().await
                } else {
                    tokio::select! {
                        r = rx.changed() => r,
                        () = tokio::time::sleep(RETRY) => Ok(()),
                    }
                };
                if changed.is_err() {
                    break; // the instance stopped
                }
            }
        }
        if applied != Some(false) {
            applied = apply(&lb, &instance, &services, false)
                .await
                .then_some(false);
        }
        tokio::time::sleep(RESTART_POLL).await;
    }
}
