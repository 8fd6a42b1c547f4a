//! The netlink request connection shared by every [`crate::NetlinkAddressManager`] of the
//! process in one network namespace: one socket and one connection task (each holding a 64 KiB
//! read buffer), not one per instance. Requests on it are independent (netlink sequence
//! numbers), except dumps: the kernel runs one dump per socket at a time and refuses another
//! meanwhile (EBUSY), so the managers sharing it take turns ([`Requests::dump_addresses`]),
//! and a manager whose turn comes after a dump of the same link that started after it asked
//! takes that dump's answer instead of asking again (200 instances stopping together: a few
//! dumps, not 200 in a row).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use futures::TryStreamExt;
use rtnetlink::Handle;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::AddressMessage;
use tokio::task::JoinHandle;
use vip_core::Error;

use crate::eager::Eager;
use crate::errno;

/// A shared request connection; its task ends with the last manager holding it.
#[derive(Debug)]
pub(crate) struct Requests {
    pub(crate) handle: Handle,
    /// Held for the whole of a dump request on `handle` (see the module documentation):
    /// without it, 200 instances stopping together saw most removals fail with EBUSY. It
    /// keeps the last dump's answer.
    dumps: tokio::sync::Mutex<Option<LastDump>>,
    /// Dumps started so far.
    started: AtomicU64,
    connection: JoinHandle<()>,
}

/// The answer of the last address dump.
#[derive(Debug)]
struct LastDump {
    index: u32,
    /// Its number in [`Requests::started`].
    number: u64,
    messages: Arc<Vec<AddressMessage>>,
}

impl Requests {
    /// The addresses on link `index` (both families), as the kernel reports them at some
    /// moment after the call.
    pub(crate) async fn dump_addresses(
        &self,
        index: u32,
    ) -> Result<Arc<Vec<AddressMessage>>, rtnetlink::Error> {
        let asked = self.started.load(Ordering::Acquire);
        let mut last = self.dumps.lock().await;
        if let Some(done) = last.as_ref()
            && done.index == index
            && done.number > asked
        {
            // Started after we asked: as fresh as a dump of our own.
            return Ok(Arc::clone(&done.messages));
        }
        let number = self.started.fetch_add(1, Ordering::AcqRel) + 1;
        let mut req = self.handle.address().get();
        req.message_mut().header.index = index;
        req.message_mut().header.family = AddressFamily::Unspec;
        let messages: Vec<AddressMessage> = req
            .set_link_index_filter(index)
            .execute()
            .try_collect()
            .await?;
        let messages = Arc::new(messages);
        *last = Some(LastDump {
            index,
            number,
            messages: Arc::clone(&messages),
        });
        Ok(messages)
    }
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
        dumps: tokio::sync::Mutex::new(None),
        started: AtomicU64::new(0),
        connection: runtime.spawn(Eager::new(conn)),
    });
    open.push((key, Arc::downgrade(&requests)));
    Ok(requests)
}
