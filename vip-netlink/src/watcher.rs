//! The watcher: a netlink multicast subscription (RTMGRP_LINK, RTMGRP_IPV4_IFADDR,
//! RTMGRP_IPV6_IFADDR) that turns kernel notifications about one interface into typed events
//! for the election: link up/down (`Input::Link`) and the removal of one of our VIPs by someone
//! else (`Input::VipRemovedExternally`).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};

use futures::{Stream, StreamExt, TryStreamExt};
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::LinkMessage;
use rtnetlink::{MulticastGroup, new_multicast_connection};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vip_core::{Error, Vip};

use crate::errno;
use crate::held::Held;
use crate::links::{LinkCache, link_is_up, link_name};
use crate::manager::{message_addr, vip_of};
use crate::tag::Tag;

/// What the watcher reports about its interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// The interface's state: `up` is true when it is administratively up and has carrier
    /// (IFF_UP and IFF_LOWER_UP). The first event after [`crate::NetlinkAddressManager::watch`]
    /// is the current state; then one event per change. A deleted interface is down.
    /// Maps to `Input::Link(up)`.
    Link {
        /// The watched interface.
        interface: String,
        /// Up (usable) or down.
        up: bool,
    },
    /// A VIP the manager had added (and not removed itself) disappeared from the interface: an
    /// administrator or another program removed it. Maps to `Input::VipRemovedExternally`; the
    /// master re-adds it and logs.
    VipRemovedExternally {
        /// The VIP that went away.
        vip: Vip,
    },
    /// An address carrying vip's tag appeared (or changed) on the interface that no manager of
    /// this process holds: another vip process on the same host, or a leftover. Worth a log
    /// line.
    VipAddedExternally {
        /// The tagged address.
        vip: Vip,
    },
}

/// A stream of [`WatchEvent`]s for one interface. Dropping it ends the subscription. If the
/// kernel drops notifications (socket overrun) the stream ends; the daemon should then
/// reconcile with `list` and start a new watcher.
///
/// Every watcher of the process in one network namespace shares one subscription (one netlink
/// socket and one task that parses each notification once and hands it to each watcher), so N
/// instances cost one socket, not N.
#[derive(Debug)]
pub struct Watcher {
    rx: mpsc::UnboundedReceiver<WatchEvent>,
    hub: Arc<Notifications>,
    id: u64,
}

/// The shared subscription of one network namespace.
#[derive(Debug)]
struct Notifications {
    handle: rtnetlink::Handle,
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
    task: JoinHandle<()>,
    connection: JoinHandle<()>,
}

impl Drop for Notifications {
    fn drop(&mut self) {
        self.task.abort();
        self.connection.abort();
    }
}

/// One watcher's state on the shared subscription.
struct Subscriber {
    id: u64,
    state: State,
    /// Notifications that came while its first link state was being read, applied after it.
    /// Shared with the other watchers starting at the same time: when many instances start
    /// together, each notification of that burst is held once, not once per watcher (200
    /// watchers made that tens of megabytes, which the allocator kept afterwards).
    backlog: Option<Vec<Arc<RouteNetlinkMessage>>>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("interface", &self.state.interface)
            .finish_non_exhaustive()
    }
}

/// The open subscriptions, by network namespace (weak: one closes with its last watcher).
static HUBS: Mutex<Vec<(crate::shared::Netns, Weak<Notifications>)>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Notifications {
    /// The subscription of the calling thread's namespace: the open one (if its task still
    /// runs), or a new one.
    fn shared(interface: &str) -> Result<Arc<Notifications>, Error> {
        let key = crate::shared::netns();
        let mut hubs = lock(&HUBS);
        hubs.retain(|(_, weak)| weak.strong_count() > 0);
        if let Some(hub) = hubs
            .iter()
            .filter(|(k, _)| *k == key)
            .filter_map(|(_, weak)| weak.upgrade())
            .find(|hub| !hub.task.is_finished())
        {
            return Ok(hub);
        }
        let (conn, handle, mut messages) = new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(|e| errno::from_io(&e, "subscribe to netlink notifications", interface))?;
        let connection = tokio::spawn(conn);
        let subscribers: Arc<Mutex<Vec<Subscriber>>> = Arc::default();
        let subs = Arc::clone(&subscribers);
        let task = tokio::spawn(async move {
            while let Some((msg, _)) = messages.next().await {
                match msg.payload {
                    NetlinkPayload::InnerMessage(m) => {
                        let mut subs = lock(&subs);
                        subs.retain(|s| !s.state.tx.is_closed());
                        let mut shared: Option<Arc<RouteNetlinkMessage>> = None;
                        for sub in subs.iter_mut() {
                            match &mut sub.backlog {
                                Some(backlog) => backlog.push(Arc::clone(
                                    shared.get_or_insert_with(|| Arc::new(m.clone())),
                                )),
                                None => sub.state.handle(&m),
                            }
                        }
                    }
                    NetlinkPayload::Overrun(_) => {
                        tracing::warn!("netlink notifications overrun; watchers end");
                        break;
                    }
                    _ => {}
                }
            }
            // Every watcher's stream ends (its owner subscribes again).
            lock(&subs).clear();
        });
        let hub = Arc::new(Notifications {
            handle,
            subscribers,
            task,
            connection,
        });
        hubs.push((key, Arc::downgrade(&hub)));
        Ok(hub)
    }
}

struct State {
    interface: String,
    index: Option<u32>,
    up: Option<bool>,
    held: Held,
    tag: Tag,
    links: Arc<LinkCache>,
    tx: mpsc::UnboundedSender<WatchEvent>,
}

impl State {
    fn link(&mut self, msg: &LinkMessage, deleted: bool) {
        self.links.observe(msg, deleted);
        let matches =
            link_name(msg) == Some(self.interface.as_str()) || Some(msg.header.index) == self.index;
        if !matches {
            return;
        }
        let up = if deleted {
            self.index = None;
            false
        } else {
            self.index = Some(msg.header.index);
            link_is_up(msg)
        };
        if self.up != Some(up) {
            self.up = Some(up);
            let _ = self.tx.send(WatchEvent::Link {
                interface: self.interface.clone(),
                up,
            });
        }
    }

    fn handle(&mut self, msg: &RouteNetlinkMessage) {
        match msg {
            RouteNetlinkMessage::NewLink(l) => self.link(l, false),
            RouteNetlinkMessage::DelLink(l) => self.link(l, true),
            RouteNetlinkMessage::DelAddress(a) if Some(a.header.index) == self.index => {
                if let Some(addr) = message_addr(a)
                    && let Some(vip) = self.held.take(&self.interface, addr)
                {
                    tracing::warn!(vip = %vip, "VIP removed by someone else");
                    let _ = self.tx.send(WatchEvent::VipRemovedExternally { vip });
                }
            }
            RouteNetlinkMessage::NewAddress(a)
                if Some(a.header.index) == self.index && self.tag.matches(a) =>
            {
                if let Some(vip) = vip_of(a, &self.interface)
                    && !self.held.contains(&self.interface, vip.addr)
                    && !crate::held::held_by_process(&self.interface, vip.addr)
                {
                    let _ = self.tx.send(WatchEvent::VipAddedExternally { vip });
                }
            }
            _ => {}
        }
    }
}

impl Watcher {
    pub(crate) async fn start(
        interface: &str,
        held: Held,
        tag: Tag,
        links: Arc<LinkCache>,
    ) -> Result<Self, Error> {
        static IDS: AtomicU64 = AtomicU64::new(0);
        let hub = Notifications::shared(interface)?;
        let id = IDS.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let state = State {
            interface: interface.to_string(),
            index: None,
            up: None,
            held,
            tag,
            links,
            tx,
        };
        lock(&hub.subscribers).push(Subscriber {
            id,
            state,
            backlog: Some(Vec::new()),
        });
        let watcher = Watcher { rx, hub, id };
        // Subscribed first, then read the current state: no change can fall in between (what
        // comes meanwhile waits in the backlog and is applied after it).
        let current = watcher
            .hub
            .handle
            .link()
            .get()
            .match_name(interface.to_string())
            .execute()
            .try_next()
            .await;
        let mut subs = lock(&watcher.hub.subscribers);
        let Some(sub) = subs.iter_mut().find(|s| s.id == id) else {
            // The subscription ended meanwhile (an overrun): the stream ends at once.
            drop(subs);
            return Ok(watcher);
        };
        match current {
            Ok(Some(link)) => sub.state.link(&link, false),
            Ok(None) => {}
            Err(e) => return Err(errno::from_netlink(&e, "watch interface", interface, None)),
        }
        for msg in sub.backlog.take().unwrap_or_default() {
            sub.state.handle(&msg);
        }
        drop(subs);
        Ok(watcher)
    }

    /// The next event; `None` when the subscription has ended.
    pub async fn next_event(&mut self) -> Option<WatchEvent> {
        self.rx.recv().await
    }
}

impl Stream for Watcher {
    type Item = WatchEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchEvent>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for Watcher {
    /// Leaves the shared subscription (which closes with its last watcher).
    fn drop(&mut self) {
        lock(&self.hub.subscribers).retain(|s| s.id != self.id);
    }
}
