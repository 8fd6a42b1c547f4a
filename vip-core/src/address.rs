//! The [`AddressManager`] trait: adding, removing, announcing and probing VIPs.

use std::time::Duration;

use async_trait::async_trait;

use crate::{Error, Vip};

/// A link-layer (Ethernet) address.
pub type MacAddr = [u8; 6];

/// Whether some other host answers for a VIP on the segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InUse {
    /// Nobody answered within the probe's time bound.
    Free,
    /// Another host answered for `vip`.
    Held {
        /// The VIP that got an answer.
        vip: Vip,
        /// The link-layer address of the host that answered, if known.
        holder: Option<MacAddr>,
    },
}

impl InUse {
    /// True for [`InUse::Free`].
    pub fn is_free(&self) -> bool {
        matches!(self, InUse::Free)
    }
}

/// Adds, removes, lists, announces and probes VIPs on local interfaces.
///
/// `add` and `remove` are idempotent: adding a present address or removing a missing one
/// succeeds. `list` returns only the VIPs this library added (tagged), never an admin's addresses.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AddressManager: Send + Sync {
    /// Adds the VIPs to their interfaces.
    async fn add(&self, vips: &[Vip]) -> Result<(), Error>;

    /// Removes the VIPs from their interfaces.
    async fn remove(&self, vips: &[Vip]) -> Result<(), Error>;

    /// Lists the VIPs this library holds on `interface`.
    async fn list(&self, interface: &str) -> Result<Vec<Vip>, Error>;

    /// Announces the VIPs (gratuitous ARP for IPv4, unsolicited NA for IPv6).
    async fn announce(&self, vips: &[Vip]) -> Result<(), Error>;

    /// Asks whether another host answers for any of the VIPs, waiting at most `timeout`.
    async fn probe_in_use(&self, vips: &[Vip], timeout: Duration) -> Result<InUse, Error>;

    /// Sets the kernel's valid lifetime of the VIPs (whole seconds, rounded down): the kernel
    /// removes them by itself when it runs out, so a wedged process cannot keep them. `None`
    /// makes them permanent again. Managers without the notion return
    /// [`Error::Other`] naming the operation (the default).
    async fn set_valid_lifetime(&self, vips: &[Vip], valid: Option<Duration>) -> Result<(), Error> {
        let _ = (vips, valid);
        Err(Error::Other {
            operation: "set_valid_lifetime".into(),
            message: "this address manager has no address lifetimes".into(),
            transient: false,
        })
    }
}
