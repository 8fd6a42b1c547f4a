//! The [`AdvertSink`] trait: how the runtime sends VRRP adverts without knowing the wire.

use async_trait::async_trait;

use crate::{Error, Priority};

/// Sends this instance's VRRP adverts. The transport (vip-vrrp) implements it and fills in the
/// VRID, version, interval and address list; the runtime only chooses the priority.
///
/// The runtime bounds every call by `Timeouts::advert` and sends adverts in the order the
/// machine asked for them, each only after the address operations the machine asked for before
/// it have finished (so the priority-0 advert of a release goes out after the VIPs are removed).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AdvertSink: Send + Sync {
    /// Sends one advert at `priority` (0 when releasing).
    async fn send_advert(&self, priority: Priority) -> Result<(), Error>;

    /// Sends one advert at `priority` right now if that cannot wait (for example one datagram
    /// on a non-blocking socket whose buffer has room), or returns `None` having sent nothing,
    /// and the runtime then calls [`AdvertSink::send_advert`]. A master calls this once per
    /// advert interval, so it saves the boxed future of every send. The default is `None`.
    fn try_send_advert(&self, priority: Priority) -> Option<Result<(), Error>> {
        let _ = priority;
        None
    }
}
