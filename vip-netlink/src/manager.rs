//! [`NetlinkAddressManager`]: the Linux [`AddressManager`] over rtnetlink, with the announcer
//! and the in-use probe over AF_PACKET.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rtnetlink::Handle;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use tokio::task::JoinHandle;
use vip_core::{AddressManager, Error, InUse, Vip};

use crate::announce::{Announcer, SharedSender, Target};
use crate::config::ManagerConfig;
use crate::errno::{self, netlink_errno};
use crate::held::Held;
use crate::links::{LinkCache, LinkInfo};
use crate::probe::Prober;
use crate::watcher::Watcher;

mod lifetime;

/// The Linux address manager: adds, removes and lists tagged VIPs over rtnetlink, announces
/// them (gratuitous ARP, unsolicited NA) and probes whether another host holds them.
///
/// Create it inside a tokio runtime, on a thread in the network namespace whose interfaces it
/// manages: its netlink socket (and the packet sockets it opens later) stay in the namespace
/// they were created in.
#[derive(Debug)]
pub struct NetlinkAddressManager {
    handle: Handle,
    links: Arc<LinkCache>,
    config: ManagerConfig,
    announcer: Announcer,
    prober: Prober,
    held: Held,
    refresh: Mutex<HashMap<(String, IpAddr), JoinHandle<()>>>,
    /// The namespace's shared request connection (`handle` talks to it).
    requests: Arc<crate::shared::Requests>,
}

/// The local address of a kernel address message.
pub(crate) fn message_addr(msg: &AddressMessage) -> Option<IpAddr> {
    let local = msg.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(x) => Some(*x),
        _ => None,
    });
    local.or_else(|| {
        msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(x) => Some(*x),
            _ => None,
        })
    })
}

/// The label of a kernel address message (IPv4 only).
fn message_label(msg: &AddressMessage) -> Option<&str> {
    msg.attributes.iter().find_map(|a| match a {
        AddressAttribute::Label(l) => Some(l.as_str()),
        _ => None,
    })
}

/// The VIP a kernel address message describes, on `interface`.
pub(crate) fn vip_of(msg: &AddressMessage, interface: &str) -> Option<Vip> {
    let addr = message_addr(msg)?;
    let label = message_label(msg)
        .filter(|l| *l != interface)
        .map(str::to_string);
    Some(Vip {
        addr,
        prefix_len: msg.header.prefix_len,
        interface: interface.to_string(),
        label,
    })
}

/// Checks a VIP before it goes to the kernel.
fn validate(vip: &Vip) -> Result<(), Error> {
    if vip.prefix_len == 0 || vip.prefix_len > vip.max_prefix_len() {
        return Err(Error::Config {
            key: format!("vip {vip}"),
            problem: format!("prefix length must be 1..={}", vip.max_prefix_len()),
        });
    }
    if let Some(label) = &vip.label {
        if !vip.is_ipv4() {
            return Err(Error::Config {
                key: format!("vip {vip}"),
                problem: "labels exist for IPv4 addresses only".to_string(),
            });
        }
        if label.is_empty() || label.len() >= libc::IFNAMSIZ {
            return Err(Error::Config {
                key: format!("vip {vip}"),
                problem: format!("label must be 1 to {} bytes", libc::IFNAMSIZ - 1),
            });
        }
    }
    Ok(())
}

impl NetlinkAddressManager {
    /// A manager with the given configuration. Must be called inside a tokio runtime (it spawns
    /// the netlink connection task) and in the target network namespace.
    pub fn new(config: ManagerConfig) -> Result<Self, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::Config {
            key: "runtime".to_string(),
            problem: "NetlinkAddressManager::new must run inside a tokio runtime".to_string(),
        })?;
        let requests = crate::shared::requests(&runtime)?;
        let handle = requests.handle.clone();
        let sender = Arc::new(SharedSender::default());
        Ok(NetlinkAddressManager {
            handle,
            links: Arc::default(),
            announcer: Announcer::new(config.announce.clone(), Arc::clone(&sender)),
            prober: Prober::new(config.probe.clone(), sender),
            config,
            held: Held::default(),
            refresh: Mutex::default(),
            requests,
        })
    }

    /// A manager with [`ManagerConfig::default`].
    pub fn with_defaults() -> Result<Self, Error> {
        Self::new(ManagerConfig::default())
    }

    /// The configuration in use.
    pub fn config(&self) -> &ManagerConfig {
        &self.config
    }

    /// Malformed frames the in-use probe received and dropped so far.
    pub fn malformed_frames(&self) -> u64 {
        self.prober.malformed()
    }

    /// A watcher for `interface`: link up/down, and the removal by someone else of a VIP this
    /// manager added. Call it inside the runtime and namespace of the manager.
    pub async fn watch(&self, interface: &str) -> Result<Watcher, Error> {
        Watcher::start(
            interface,
            self.held.clone(),
            self.config.tag,
            Arc::clone(&self.links),
        )
        .await
    }

    async fn resolve(&self, interface: &str) -> Result<LinkInfo, Error> {
        self.links.resolve(&self.handle, interface).await
    }

    /// The addresses on `index` (both families), as the kernel reports them.
    /// One dump at a time on the shared socket, shared by callers that wait together (see
    /// `shared.rs`).
    async fn dump(&self, index: u32) -> Result<Arc<Vec<AddressMessage>>, rtnetlink::Error> {
        self.requests.dump_addresses(index).await
    }

    async fn add_one(&self, vip: &Vip) -> Result<(), Error> {
        validate(vip)?;
        // Mark it held before the kernel sees it, so the watcher never reports our own add.
        self.held.insert(vip);
        let result = self.add_to_kernel(vip).await;
        match &result {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                self.held.take(&vip.interface, vip.addr);
            }
        }
        result.map(|_| ())
    }

    /// Adds the address; Ok(true) if it is ours now, Ok(false) if an untagged (admin's) address
    /// was already there and has been left alone.
    async fn add_to_kernel(&self, vip: &Vip) -> Result<bool, Error> {
        let addr = vip.addr.to_string();
        for attempt in 0..2 {
            let link = self.resolve(&vip.interface).await?;
            let mut req = self
                .handle
                .address()
                .add(link.index, vip.addr, vip.prefix_len);
            req.message_mut().attributes.extend(self.attributes(vip));
            let Err(e) = req.execute().await else {
                return Ok(true);
            };
            match netlink_errno(&e) {
                Some(libc::EEXIST) => return self.existing_is_ours(vip, link.index).await,
                Some(libc::ENODEV) if attempt == 0 => self.links.invalidate(&vip.interface),
                Some(libc::ENODEV) => {
                    self.links.invalidate(&vip.interface);
                    return Err(errno::from_netlink(
                        &e,
                        "add vip",
                        &vip.interface,
                        Some(&addr),
                    ));
                }
                _ => {
                    return Err(errno::from_netlink(
                        &e,
                        "add vip",
                        &vip.interface,
                        Some(&addr),
                    ));
                }
            }
        }
        Err(Error::InterfaceNotFound {
            interface: vip.interface.clone(),
        })
    }

    /// The attributes vip gives each of its addresses: flags, label and tag.
    fn attributes(&self, vip: &Vip) -> Vec<AddressAttribute> {
        let mut attributes = Vec::new();
        let mut flags = AddressFlags::empty();
        if !vip.is_ipv4() {
            flags |= AddressFlags::Nodad;
        }
        if self.config.noprefixroute {
            flags |= AddressFlags::Noprefixroute;
        }
        if !flags.is_empty() {
            attributes.push(AddressAttribute::Flags(flags));
        }
        if let Some(label) = &vip.label {
            attributes.push(AddressAttribute::Label(label.clone()));
        }
        attributes.push(self.config.tag.attribute());
        attributes
    }

    /// After EEXIST: is the present address ours (tagged)?
    async fn existing_is_ours(&self, vip: &Vip, index: u32) -> Result<bool, Error> {
        let msgs = self
            .dump(index)
            .await
            .map_err(|e| errno::from_netlink(&e, "add vip", &vip.interface, None))?;
        let ours = msgs
            .iter()
            .any(|m| message_addr(m) == Some(vip.addr) && self.config.tag.matches(m));
        if !ours {
            tracing::warn!(
                vip = %vip,
                "address already present without vip's tag (added by an administrator?); leaving it alone"
            );
        }
        Ok(ours)
    }

    async fn remove_one(&self, vip: &Vip) -> Result<(), Error> {
        // Forget it first, so the watcher does not report our own removal.
        let held = self.held.take(&vip.interface, vip.addr);
        self.stop_refresh(&vip.interface, vip.addr);
        if let Some(added) = held {
            return self.remove_added(&added).await;
        }
        self.remove_if_tagged(vip).await
    }

    /// Removes a VIP this manager added (and the watcher has not seen go away since, so it
    /// is our tagged address): one delete request, no address dump. (With 200 instances
    /// stopping together on one interface, waiting for a dump of the 200 addresses, even a
    /// shared one, kept most removals of a debug build past their bound.)
    async fn remove_added(&self, vip: &Vip) -> Result<(), Error> {
        for attempt in 0..2 {
            let link = match self.resolve(&vip.interface).await {
                Ok(l) => l,
                // No interface, no address: removing is done.
                Err(Error::InterfaceNotFound { .. }) => return Ok(()),
                Err(e) => return Err(e),
            };
            let mut del = AddressMessage::default();
            del.header.family = if vip.is_ipv4() {
                AddressFamily::Inet
            } else {
                AddressFamily::Inet6
            };
            del.header.prefix_len = vip.prefix_len;
            del.header.index = link.index;
            del.attributes.push(AddressAttribute::Local(vip.addr));
            del.attributes.push(AddressAttribute::Address(vip.addr));
            if let Some(label) = &vip.label {
                del.attributes.push(AddressAttribute::Label(label.clone()));
            }
            let Err(e) = self.handle.address().del(del).execute().await else {
                return Ok(());
            };
            match netlink_errno(&e) {
                // Already gone.
                Some(libc::EADDRNOTAVAIL | libc::ENOENT) => return Ok(()),
                Some(libc::ENODEV) => {
                    self.links.invalidate(&vip.interface);
                    if attempt == 1 {
                        return Ok(());
                    }
                }
                _ => {
                    return Err(errno::from_netlink(
                        &e,
                        "remove vip",
                        &vip.interface,
                        Some(&vip.addr.to_string()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Removes `vip` if it is on its interface with vip's tag (an address dump tells); an
    /// untagged one (an administrator's) is left alone.
    async fn remove_if_tagged(&self, vip: &Vip) -> Result<(), Error> {
        for attempt in 0..2 {
            let link = match self.resolve(&vip.interface).await {
                Ok(l) => l,
                // No interface, no address: removing is done.
                Err(Error::InterfaceNotFound { .. }) => return Ok(()),
                Err(e) => return Err(e),
            };
            let msgs = match self.dump(link.index).await {
                Ok(m) => m,
                Err(e) if netlink_errno(&e) == Some(libc::ENODEV) => {
                    self.links.invalidate(&vip.interface);
                    if attempt == 0 {
                        continue;
                    }
                    return Ok(());
                }
                Err(e) => return Err(errno::from_netlink(&e, "remove vip", &vip.interface, None)),
            };
            for m in msgs.iter().filter(|m| message_addr(m) == Some(vip.addr)) {
                if !self.config.tag.matches(m) {
                    tracing::warn!(vip = %vip, "address present without vip's tag; not removing it");
                    continue;
                }
                let mut del = AddressMessage::default();
                del.header.family = m.header.family;
                del.header.prefix_len = m.header.prefix_len;
                del.header.index = m.header.index;
                del.attributes = m
                    .attributes
                    .iter()
                    .filter(|a| {
                        matches!(
                            a,
                            AddressAttribute::Local(_)
                                | AddressAttribute::Address(_)
                                | AddressAttribute::Label(_)
                        )
                    })
                    .cloned()
                    .collect();
                if let Err(e) = self.handle.address().del(del).execute().await {
                    match netlink_errno(&e) {
                        Some(libc::EADDRNOTAVAIL | libc::ENOENT | libc::ENODEV) => {}
                        _ => {
                            return Err(errno::from_netlink(
                                &e,
                                "remove vip",
                                &vip.interface,
                                Some(&vip.addr.to_string()),
                            ));
                        }
                    }
                }
            }
            return Ok(());
        }
        Ok(())
    }

    fn stop_refresh(&self, interface: &str, addr: IpAddr) {
        if let Ok(mut map) = self.refresh.lock()
            && let Some(task) = map.remove(&(interface.to_string(), addr))
        {
            task.abort();
        }
    }

    async fn targets(&self, vips: &[Vip], operation: &str) -> Result<Vec<Target>, Error> {
        let mut targets = Vec::with_capacity(vips.len());
        for vip in vips {
            let link = self.resolve(&vip.interface).await?;
            let mac = link.mac_or_err(&vip.interface, operation)?;
            targets.push(Target {
                vip: vip.clone(),
                ifindex: link.index,
                mac,
            });
        }
        Ok(targets)
    }
}

impl Drop for NetlinkAddressManager {
    fn drop(&mut self) {
        if let Ok(mut map) = self.refresh.lock() {
            for (_, task) in map.drain() {
                task.abort();
            }
        }
    }
}

#[async_trait]
impl AddressManager for NetlinkAddressManager {
    async fn add(&self, vips: &[Vip]) -> Result<(), Error> {
        for vip in vips {
            self.add_one(vip).await?;
        }
        Ok(())
    }

    async fn remove(&self, vips: &[Vip]) -> Result<(), Error> {
        let mut first_err = None;
        // Try every VIP even if one fails: a node that releases must release all it can.
        for vip in vips {
            if let Err(e) = self.remove_one(vip).await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    async fn list(&self, interface: &str) -> Result<Vec<Vip>, Error> {
        for attempt in 0..2 {
            let link = self.resolve(interface).await?;
            match self.dump(link.index).await {
                Ok(msgs) => {
                    return Ok(msgs
                        .iter()
                        .filter(|m| m.header.index == link.index && self.config.tag.matches(m))
                        .filter_map(|m| vip_of(m, interface))
                        .collect());
                }
                Err(e) if netlink_errno(&e) == Some(libc::ENODEV) && attempt == 0 => {
                    self.links.invalidate(interface);
                }
                Err(e) => return Err(errno::from_netlink(&e, "list vips", interface, None)),
            }
        }
        Err(Error::InterfaceNotFound {
            interface: interface.to_string(),
        })
    }

    async fn announce(&self, vips: &[Vip]) -> Result<(), Error> {
        let targets = self.targets(vips, "announce").await?;
        self.announcer.burst(&targets).await?;
        if self.announcer.config().refresh.is_some() {
            for t in &targets {
                let Some(task) = self.announcer.spawn_refresh(vec![t.clone()]) else {
                    continue;
                };
                match self.refresh.lock() {
                    Ok(mut map) => {
                        if let Some(old) = map.insert((t.vip.interface.clone(), t.vip.addr), task) {
                            old.abort();
                        }
                    }
                    Err(_) => task.abort(),
                }
            }
        }
        Ok(())
    }

    async fn set_valid_lifetime(&self, vips: &[Vip], valid: Option<Duration>) -> Result<(), Error> {
        for vip in vips {
            self.set_lifetime_one(vip, valid).await?;
        }
        Ok(())
    }

    async fn probe_in_use(&self, vips: &[Vip], timeout: Duration) -> Result<InUse, Error> {
        let targets = self.targets(vips, "probe in use").await?;
        let probes = targets
            .iter()
            .map(|t| self.prober.probe(&t.vip, t.ifindex, t.mac, timeout));
        let results = futures::future::join_all(probes).await;
        for r in results {
            if let held @ InUse::Held { .. } = r? {
                return Ok(held);
            }
        }
        Ok(InUse::Free)
    }
}
