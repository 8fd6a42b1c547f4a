//! Reconcile on start: remove this instance's own VIPs left behind by an earlier run.

use std::sync::Arc;
use std::time::Duration;

use crate::election::AddressOp;
use crate::reconcile::{RECONCILE_RETRIES, retry_wait};
use crate::{AddressManager, Error, Vip};

use super::call::bounded;
use super::lane::address_call;

/// Removes, on every interface of `vips`, the VIPs this library holds there
/// ([`AddressManager::list`]) that are among `vips`. A restarted daemon is not master yet, so
/// whatever it finds of its own is stale. Anything else (other instances' VIPs, an admin's
/// addresses) stays untouched.
///
/// A failed removal is tried again ([`RECONCILE_RETRIES`] times, [`retry_wait`] apart) before
/// the election starts: a backup must not start with a VIP on its interface.
///
/// When listing fails for another reason than a missing interface, the configured VIPs of that
/// interface are removed blindly (removal is idempotent): not knowing is no reason to keep a VIP.
/// Returns the VIPs it removed (or tried to remove).
pub(crate) async fn remove_stale(
    addresses: &Arc<dyn AddressManager>,
    vips: &[Vip],
    limit: Duration,
) -> Vec<Vip> {
    let mut interfaces: Vec<&str> = vips.iter().map(|v| v.interface.as_str()).collect();
    interfaces.sort_unstable();
    interfaces.dedup();
    let mut removed = Vec::new();
    for interface in interfaces {
        let ours: Vec<&Vip> = vips.iter().filter(|v| v.interface == interface).collect();
        let am = addresses.clone();
        let iface = interface.to_owned();
        let listed = bounded(limit, async move { am.list(&iface).await })
            .await
            .unwrap_or_else(|e| Err(e.into_error("list VIPs")));
        let stale: Vec<Vip> = match listed {
            Ok(held) => held
                .into_iter()
                .filter(|h| ours.iter().any(|o| o.addr == h.addr))
                .collect(),
            Err(e @ Error::InterfaceNotFound { .. }) => {
                tracing::error!(interface, error = %e, "reconcile: cannot list VIPs");
                continue;
            }
            Err(e) => {
                tracing::warn!(
                    interface, error = %e,
                    "reconcile: cannot list VIPs; removing this instance's VIPs to be safe"
                );
                ours.into_iter().cloned().collect()
            }
        };
        if stale.is_empty() {
            continue;
        }
        let mut attempt = 0;
        loop {
            match address_call(addresses.clone(), AddressOp::Remove, stale.clone(), limit).await {
                Ok(()) => {
                    tracing::warn!(
                        interface,
                        vips = %join(&stale),
                        "reconcile: removed stale VIPs left by an earlier run"
                    );
                    break;
                }
                Err(e) if attempt < RECONCILE_RETRIES => {
                    let wait = retry_wait(attempt);
                    tracing::error!(
                        interface, vips = %join(&stale), error = %e, retry_in = ?wait,
                        "reconcile: failed to remove stale VIPs; trying again before the start"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => {
                    tracing::error!(
                        interface, vips = %join(&stale), error = %e,
                        "reconcile: failed to remove stale VIPs; starting with them"
                    );
                    break;
                }
            }
        }
        removed.extend(stale);
    }
    removed
}

/// `vips` as a comma-separated list for logs.
pub(crate) fn join(vips: &[Vip]) -> String {
    vips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
