//! Glue to vip-core's runtime (feature `runtime`): [`Watcher::feed`] turns watch events into
//! an instance's inputs.

use vip_core::runtime::InstanceHandle;

use crate::{NetlinkAddressManager, WatchEvent, Watcher};

impl NetlinkAddressManager {
    /// Keeps instance `handle` informed of `interface` for as long as it runs: watches the
    /// interface and [feeds](Watcher::feed) every event to the instance, and when the kernel
    /// drops notifications, subscribes again (the new watcher's first event is the current link
    /// state, so nothing is missed for long). Returns when the instance has stopped.
    ///
    /// # Errors
    /// A subscription that cannot be made (first or later): the instance would be blind to
    /// link changes, so the caller should stop it (a supervisor then restarts it).
    #[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
    pub async fn follow(
        &self,
        interface: &str,
        handle: &InstanceHandle,
    ) -> Result<(), vip_core::Error> {
        let watcher = self.watch(interface).await?;
        self.follow_with(watcher, interface, handle).await
    }

    /// Like [`NetlinkAddressManager::follow`], starting from a watcher subscribed earlier (for
    /// example before the instance was spawned, so that its first events are not missed).
    ///
    /// # Errors
    /// As [`NetlinkAddressManager::follow`].
    #[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
    pub async fn follow_with(
        &self,
        mut watcher: Watcher,
        interface: &str,
        handle: &InstanceHandle,
    ) -> Result<(), vip_core::Error> {
        while watcher.feed(handle, |_| {}).await {
            tracing::warn!(%interface, "netlink watcher lost notifications; re-subscribing");
            watcher = self.watch(interface).await?;
        }
        Ok(())
    }
}

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
    #[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
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
