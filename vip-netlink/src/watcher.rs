//! The watcher: a netlink multicast subscription (RTMGRP_LINK, RTMGRP_IPV4_IFADDR,
//! RTMGRP_IPV6_IFADDR) that turns kernel notifications about one interface into typed events
//! for the election: link up/down (`Input::Link`) and the removal of one of our VIPs by someone
//! else (`Input::VipRemovedExternally`).

use std::pin::Pin;
use std::sync::Arc;
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
#[derive(Debug)]
pub struct Watcher {
    rx: mpsc::UnboundedReceiver<WatchEvent>,
    task: JoinHandle<()>,
    connection: JoinHandle<()>,
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

    fn handle(&mut self, msg: RouteNetlinkMessage) {
        match msg {
            RouteNetlinkMessage::NewLink(l) => self.link(&l, false),
            RouteNetlinkMessage::DelLink(l) => self.link(&l, true),
            RouteNetlinkMessage::DelAddress(a) if Some(a.header.index) == self.index => {
                if let Some(addr) = message_addr(&a)
                    && let Some(vip) = self.held.take(&self.interface, addr)
                {
                    tracing::warn!(vip = %vip, "VIP removed by someone else");
                    let _ = self.tx.send(WatchEvent::VipRemovedExternally { vip });
                }
            }
            RouteNetlinkMessage::NewAddress(a)
                if Some(a.header.index) == self.index && self.tag.matches(&a) =>
            {
                if let Some(vip) = vip_of(&a, &self.interface)
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
        let (conn, handle, mut messages) = new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(|e| errno::from_io(&e, "subscribe to netlink notifications", interface))?;
        let connection = tokio::spawn(conn);
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = State {
            interface: interface.to_string(),
            index: None,
            up: None,
            held,
            tag,
            links,
            tx,
        };
        // Subscribed first, then read the current state: no change can fall in between.
        let current = handle
            .link()
            .get()
            .match_name(interface)
            .execute()
            .try_next()
            .await;
        match current {
            Ok(Some(link)) => state.link(&link, false),
            Ok(None) => {}
            Err(e) => {
                connection.abort();
                return Err(errno::from_netlink(&e, "watch interface", interface, None));
            }
        }
        let task = tokio::spawn(async move {
            while let Some((msg, _)) = messages.next().await {
                match msg.payload {
                    NetlinkPayload::InnerMessage(m) => state.handle(m),
                    NetlinkPayload::Overrun(_) => {
                        tracing::warn!("netlink notifications overrun; watcher ends");
                        break;
                    }
                    _ => {}
                }
            }
        });
        Ok(Watcher {
            rx,
            task,
            connection,
        })
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
    fn drop(&mut self) {
        self.task.abort();
        self.connection.abort();
    }
}
