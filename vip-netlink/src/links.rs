//! Interface name to index (and MAC) resolution, cached, with invalidation when the kernel says
//! the interface is gone (ENODEV).

use std::collections::HashMap;
use std::sync::Mutex;

use futures::TryStreamExt;
use rtnetlink::Handle;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use vip_core::{Error, MacAddr};

use crate::errno;

/// What vip needs to know about an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkInfo {
    /// The kernel's interface index.
    pub(crate) index: u32,
    /// Its Ethernet address, if it has one of six bytes.
    pub(crate) mac: Option<MacAddr>,
}

impl LinkInfo {
    /// The MAC, or a typed error naming the interface.
    pub(crate) fn mac_or_err(&self, interface: &str, operation: &str) -> Result<MacAddr, Error> {
        self.mac.ok_or_else(|| Error::Config {
            key: format!("interface {interface}"),
            problem: format!("{operation}: the interface has no Ethernet address"),
        })
    }
}

/// Extracts index and MAC from a link message.
pub(crate) fn link_info(msg: &LinkMessage) -> LinkInfo {
    let mac = msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(bytes) if bytes.len() == 6 => {
            let mut m = [0u8; 6];
            m.copy_from_slice(bytes);
            Some(m)
        }
        _ => None,
    });
    LinkInfo {
        index: msg.header.index,
        mac,
    }
}

/// The interface name in a link message.
pub(crate) fn link_name(msg: &LinkMessage) -> Option<&str> {
    msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

/// True if the link is administratively up and has carrier (IFF_UP and IFF_LOWER_UP).
pub(crate) fn link_is_up(msg: &LinkMessage) -> bool {
    msg.header.flags.contains(LinkFlags::Up) && msg.header.flags.contains(LinkFlags::LowerUp)
}

/// A cache of interface lookups.
#[derive(Debug, Default)]
pub(crate) struct LinkCache {
    by_name: Mutex<HashMap<String, LinkInfo>>,
}

impl LinkCache {
    /// Resolves `name`, from the cache or the kernel.
    pub(crate) async fn resolve(&self, handle: &Handle, name: &str) -> Result<LinkInfo, Error> {
        if let Some(info) = self.cached(name) {
            return Ok(info);
        }
        let info = query(handle, name).await?;
        if let Ok(mut map) = self.by_name.lock() {
            map.insert(name.to_string(), info);
        }
        Ok(info)
    }

    fn cached(&self, name: &str) -> Option<LinkInfo> {
        self.by_name.lock().ok().and_then(|m| m.get(name).copied())
    }

    /// Keeps the cache true to a link notification: a deleted link, or a link whose name and
    /// index no longer pair as cached (renamed, re-created), is forgotten.
    pub(crate) fn observe(&self, msg: &LinkMessage, deleted: bool) {
        let name = link_name(msg);
        let index = msg.header.index;
        if let Ok(mut map) = self.by_name.lock() {
            map.retain(|cached_name, info| {
                let same_index = info.index == index;
                let same_name = Some(cached_name.as_str()) == name;
                let stale = (deleted && same_index) || (same_index != same_name);
                !stale
            });
        }
    }

    /// Forgets `name` (after ENODEV: the interface may have been re-created with a new index).
    pub(crate) fn invalidate(&self, name: &str) {
        if let Ok(mut map) = self.by_name.lock() {
            map.remove(name);
        }
    }
}

/// Asks the kernel for the link called `name`.
pub(crate) async fn query(handle: &Handle, name: &str) -> Result<LinkInfo, Error> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(Error::InterfaceNotFound {
            interface: name.to_string(),
        });
    }
    let mut links = handle.link().get().match_name(name).execute();
    match links.try_next().await {
        Ok(Some(msg)) => Ok(link_info(&msg)),
        Ok(None) => Err(Error::InterfaceNotFound {
            interface: name.to_string(),
        }),
        Err(e) => Err(errno::from_netlink(&e, "look up interface", name, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(name: &str, index: u32) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        m
    }

    fn cache(entries: &[(&str, u32)]) -> LinkCache {
        let c = LinkCache::default();
        for (n, i) in entries {
            c.by_name.lock().unwrap_or_else(|e| e.into_inner()).insert(
                n.to_string(),
                LinkInfo {
                    index: *i,
                    mac: None,
                },
            );
        }
        c
    }

    #[test]
    fn observe_keeps_cache_true() {
        // Unchanged link: kept.
        let c = cache(&[("eth0", 2)]);
        c.observe(&msg("eth0", 2), false);
        assert_eq!(c.cached("eth0").map(|i| i.index), Some(2));
        // Unrelated link: kept.
        c.observe(&msg("eth1", 3), false);
        assert!(c.cached("eth0").is_some());
        // Renamed (same index, new name): forgotten.
        c.observe(&msg("wan0", 2), false);
        assert!(c.cached("eth0").is_none());
        // Re-created (same name, new index): forgotten.
        let c = cache(&[("eth0", 2)]);
        c.observe(&msg("eth0", 7), false);
        assert!(c.cached("eth0").is_none());
        // Deleted: forgotten.
        let c = cache(&[("eth0", 2)]);
        c.observe(&msg("eth0", 2), true);
        assert!(c.cached("eth0").is_none());
    }
}
