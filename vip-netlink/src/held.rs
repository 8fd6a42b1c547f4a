//! The VIPs this manager has added and not removed itself: shared with the watcher, which
//! reports the removal of one of them by someone else.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use vip_core::Vip;

/// Shared set of held VIPs, keyed by interface name and address.
#[derive(Debug, Clone, Default)]
pub(crate) struct Held {
    inner: Arc<Mutex<HashMap<(String, IpAddr), Vip>>>,
}

impl Held {
    pub(crate) fn insert(&self, vip: &Vip) {
        if let Ok(mut m) = self.inner.lock() {
            m.insert((vip.interface.clone(), vip.addr), vip.clone());
        }
    }

    /// Removes and returns the entry, if present.
    pub(crate) fn take(&self, interface: &str, addr: IpAddr) -> Option<Vip> {
        self.inner
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&(interface.to_string(), addr)))
    }

    pub(crate) fn contains(&self, interface: &str, addr: IpAddr) -> bool {
        self.inner
            .lock()
            .map(|m| m.contains_key(&(interface.to_string(), addr)))
            .unwrap_or(false)
    }
}
