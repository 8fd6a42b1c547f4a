//! The netlink request connection shared by every [`crate::NetlinkAddressManager`] of the
//! process in one network namespace: one socket and one connection task (each holding a 64 KiB
//! read buffer), not one per instance. Requests on it are independent (netlink sequence
//! numbers), so sharing changes nothing else.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use rtnetlink::Handle;
use tokio::task::JoinHandle;
use vip_core::Error;

use crate::errno;

/// A shared request connection; its task ends with the last manager holding it.
#[derive(Debug)]
pub(crate) struct Requests {
    pub(crate) handle: Handle,
    connection: JoinHandle<()>,
}

impl Drop for Requests {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// A network namespace: device and inode of its `/proc/thread-self/ns/net`.
pub(crate) type Netns = (u64, u64);

/// The open connections, by network namespace.
static REQUESTS: Mutex<Vec<(Netns, Weak<Requests>)>> = Mutex::new(Vec::new());

/// The calling thread's network namespace.
pub(crate) fn netns() -> Netns {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/thread-self/ns/net")
        .map(|m| (m.dev(), m.ino()))
        .unwrap_or((0, 0))
}

/// The request connection of the calling thread's namespace: the open one (if its task still
/// runs: a runtime that was shut down took it along), or a new one spawned on `runtime`.
pub(crate) fn requests(runtime: &tokio::runtime::Handle) -> Result<Arc<Requests>, Error> {
    let key = netns();
    let mut open = REQUESTS.lock().unwrap_or_else(PoisonError::into_inner);
    open.retain(|(_, weak)| weak.strong_count() > 0);
    if let Some(found) = open
        .iter()
        .filter(|(k, _)| *k == key)
        .filter_map(|(_, weak)| weak.upgrade())
        .find(|r| !r.connection.is_finished())
    {
        return Ok(found);
    }
    let (conn, handle, _messages) = rtnetlink::new_connection_with_strict_check()
        .map_err(|e| errno::from_io(&e, "open netlink socket", ""))?;
    let requests = Arc::new(Requests {
        handle,
        connection: runtime.spawn(conn),
    });
    open.push((key, Arc::downgrade(&requests)));
    Ok(requests)
}
