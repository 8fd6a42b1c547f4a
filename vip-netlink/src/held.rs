//! The VIPs this manager has added and not removed itself: shared with the watcher, which
//! reports the removal of one of them by someone else. A process-wide count of the same lets
//! every watcher of the process tell another instance's VIP from a foreign one (a daemon with
//! N instances on one interface would otherwise log each add N - 1 times as foreign).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use vip_core::Vip;

/// Shared set of held VIPs, keyed by interface name and address.
#[derive(Debug, Clone, Default)]
pub(crate) struct Held {
    inner: Arc<Mutex<HashMap<(String, IpAddr), Vip>>>,
}

/// How many managers of this process hold each (interface, address).
static PROCESS: Mutex<Option<HashMap<(String, IpAddr), usize>>> = Mutex::new(None);

/// Counts one more (`up`) or one fewer holder in the process-wide count of (`interface`, `addr`).
fn count(interface: &str, addr: IpAddr, up: bool) {
    if let Ok(mut guard) = PROCESS.lock() {
        let map = guard.get_or_insert_with(HashMap::new);
        let key = (interface.to_owned(), addr);
        if up {
            *map.entry(key).or_default() += 1;
        } else if let Some(n) = map.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&key);
            }
        }
    }
}

/// Whether any manager of this process holds `addr` on `interface`.
pub(crate) fn held_by_process(interface: &str, addr: IpAddr) -> bool {
    PROCESS
        .lock()
        .ok()
        .and_then(|g| {
            g.as_ref()
                .map(|m| m.contains_key(&(interface.to_owned(), addr)))
        })
        .unwrap_or(false)
}

impl Held {
    pub(crate) fn insert(&self, vip: &Vip) {
        if let Ok(mut m) = self.inner.lock()
            && m.insert((vip.interface.clone(), vip.addr), vip.clone())
                .is_none()
        {
            count(&vip.interface, vip.addr, true);
        }
    }

    /// Removes and returns the entry, if present.
    pub(crate) fn take(&self, interface: &str, addr: IpAddr) -> Option<Vip> {
        let taken = self
            .inner
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&(interface.to_string(), addr)));
        if taken.is_some() {
            count(interface, addr, false);
        }
        taken
    }

    pub(crate) fn contains(&self, interface: &str, addr: IpAddr) -> bool {
        self.inner
            .lock()
            .map(|m| m.contains_key(&(interface.to_string(), addr)))
            .unwrap_or(false)
    }
}
