//! Glue to vip-core's runtime (feature `runtime`): [`Watcher::feed`] turns watch events into
//! an instance's inputs.

use vip_core::runtime::InstanceHandle;

use crate::{WatchEvent, Watcher};

impl Watcher {
    /// Passes this watcher's events to `handle` until the instance stops or the subscription
    /// ends: [`WatchEvent::Link`] becomes `handle.link(up)` (a link that goes down puts the
    /// instance in Fault, which releases the VIPs), [`WatchEvent::VipRemovedExternally`]
    /// becomes `handle.vip_removed()` (a master re-adds the VIP), and
    /// [`WatchEvent::VipAddedExternally`] is logged. `on_event` sees every event first (for
    /// logs or metrics); use `|_| {}` when not needed.
    ///
    /// Returns `true` when the subscription ended while the instance still runs (the kernel
    /// dropped notifications): the caller should start a new watcher (whose first event is the
    /// current link state) and feed it.
    pub async fn feed(
        &mut self,
        handle: &InstanceHandle,
        mut on_event: impl FnMut(&WatchEvent) + Send,
    ) -> bool {
        while let Some(event) = self.next_event().await {
            on_event(&event);
            let sent = match &event {
                WatchEvent::Link { interface, up } => {
                    tracing::info!(instance = handle.name(), %interface, up, "link state");
                    handle.link(*up)
                }
                WatchEvent::VipRemovedExternally { vip } => {
                    tracing::warn!(instance = handle.name(), %vip, "VIP removed by someone else");
                    handle.vip_removed()
                }
                WatchEvent::VipAddedExternally { vip } => {
                    tracing::warn!(
                        instance = handle.name(), %vip,
                        "a vip-tagged address appeared that this process did not add \
                         (another vip process on this host, or a leftover)"
                    );
                    Ok(())
                }
            };
            if sent.is_err() {
                return false;
            }
        }
        handle.is_running()
    }
}
