//! [`Receiver`]: the one receive path of an (interface, address family), shared by every
//! [`super::Transport`] on it.
//!
//! One raw socket per (network namespace, interface, family) reads every VRRP packet once, on
//! one thread; each packet is validated against the transport it concerns (by VRID, then by
//! source among unicast transports of the same VRID) and queued for that transport's instance.
//! The same thread runs the steady-loop leases of every transport on the path (see
//! `steady.rs`), so N instances cost one socket, one thread and one read per packet, not N.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use super::endpoint::{Endpoint, Meta};
use super::local::{self, LocalAddresses};
use super::steady::{Leases, Posted};
use super::{DropReason, TransportError, TransportStats, ipv4, sys};
use super::{VRRP_GROUP_V4, VRRP_GROUP_V6};
use crate::wire::{AddressFamily, VRRP_PROTOCOL, VRRP_TTL, WireError};

/// Receive buffer: the largest VRRP packet is v3 over IPv6 with 255 addresses (4088 bytes);
/// over IPv4 it is 60 bytes of header plus 1036.
const RECV_BUFFER: usize = 4096 + 64;

/// IPv4 datagrams read per `recvmmsg`.
const BATCH: usize = 8;

/// Reads closer together than this mean a busy path (many instances): see [`PAUSE`].
const BUSY: Duration = Duration::from_millis(2);

/// On a busy path the thread waits this long after a read before it reads again (woken at once
/// for a new lease or a revocation; never past a lease's due time), so that one wake-up reads
/// several packets. An advert is then read (and timed: a backup's deadline counts from it) at
/// most this much after it arrived.
const PAUSE: Duration = Duration::from_millis(2);

/// How long the thread sleeps with nothing to do (it is woken for anything new).
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// The receive path of one (interface, address family) in one network namespace: one raw VRRP
/// socket and one thread that reads it and runs the steady loop of every transport attached.
///
/// [`super::Transport::new`] attaches to the path of its interface and family, opening it if
/// it is the first ([`Receiver::shared`]); the path closes when its last transport is dropped.
/// Embedders need nothing else: this type is public for its counters ([`Receiver::stats`]:
/// packets of no attached instance, unreadable IP headers and receive errors; each
/// transport's own [`super::Transport::stats`] counts what was handed to it).
#[derive(Debug)]
pub struct Receiver {
    core: Arc<Core>,
}

/// What the receive path's thread and its transports share.
#[derive(Debug)]
pub(super) struct Core {
    pub(super) interface: String,
    pub(super) ifindex: u32,
    pub(super) family: AddressFamily,
    /// The VRRP socket (IPv4: also sends; IPv6: receives only).
    pub(super) sock: Arc<Socket>,
    /// Wakes the thread: a lease posted or revoked, an endpoint attached or gone, the end.
    pub(super) wake: OwnedFd,
    stop: AtomicBool,
    pub(super) stats: Arc<TransportStats>,
    pub(super) local: LocalAddresses,
    table: Mutex<Table>,
    /// Leases handed over by transports, for the thread to adopt.
    pub(super) posted: Mutex<Vec<Posted>>,
}

/// The attached endpoints, by VRID.
#[derive(Debug, Default)]
struct Table {
    by_vrid: HashMap<u8, Vec<Arc<Endpoint>>>,
    /// Whether the socket joined the multicast group.
    joined: bool,
}

/// Identifies a receive path: network namespace (device and inode of the thread's
/// `/proc/thread-self/ns/net`), interface index, family.
type Key = ((u64, u64), u32, AddressFamily);

/// The open receive paths (weak: a path closes with its last transport).
static PATHS: Mutex<Vec<(Key, Weak<Receiver>)>> = Mutex::new(Vec::new());

fn netns() -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/thread-self/ns/net")
        .map(|m| (m.dev(), m.ino()))
        .unwrap_or((0, 0))
}

impl Receiver {
    /// The receive path of `interface` and `family` in the calling thread's network namespace:
    /// the open one, or a new one (its socket and thread).
    ///
    /// # Errors
    /// [`TransportError::InterfaceNotFound`], or [`TransportError::Io`] when a socket call
    /// fails (EPERM without CAP_NET_RAW) or no thread can be started.
    pub fn shared(interface: &str, family: AddressFamily) -> Result<Arc<Receiver>, TransportError> {
        let ifindex = local::if_index(interface)?;
        let key = (netns(), ifindex, family);
        let mut paths = PATHS.lock().unwrap_or_else(PoisonError::into_inner);
        paths.retain(|(_, weak)| weak.strong_count() > 0);
        if let Some(open) = paths
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, weak)| weak.upgrade())
        {
            return Ok(open);
        }
        let receiver = Arc::new(Receiver::open(interface, ifindex, family)?);
        paths.push((key, Arc::downgrade(&receiver)));
        Ok(receiver)
    }

    fn open(
        interface: &str,
        ifindex: u32,
        family: AddressFamily,
    ) -> Result<Receiver, TransportError> {
        let sock = match family {
            AddressFamily::Ipv4 => open_v4(interface, ifindex)?,
            AddressFamily::Ipv6 => open_v6_rx(interface)?,
        };
        let core = Arc::new(Core {
            interface: interface.to_owned(),
            ifindex,
            family,
            sock: Arc::new(sock),
            wake: sys::eventfd().map_err(TransportError::io("creating an eventfd"))?,
            stop: AtomicBool::new(false),
            stats: Arc::default(),
            local: LocalAddresses::new(Vec::new()),
            table: Mutex::new(Table::default()),
            posted: Mutex::new(Vec::new()),
        });
        let thread_core = Arc::clone(&core);
        std::thread::Builder::new()
            .name(format!("vip-rx-{interface}"))
            .stack_size(256 * 1024)
            .spawn(move || thread_main(&thread_core))
            .map_err(TransportError::io(format!(
                "starting the VRRP receive thread of {interface}"
            )))?;
        tracing::debug!(interface, ifindex, ?family, "VRRP receive path open");
        Ok(Receiver { core })
    }

    /// Its counters: `received` counts every datagram read; the drops are those that concern
    /// no attached transport (reason `unknown_vrid`), unreadable IP headers (`truncated`) and
    /// receive errors (`io`). What was handed to a transport is counted in its own stats.
    pub fn stats(&self) -> Arc<TransportStats> {
        Arc::clone(&self.core.stats)
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.core.interface
    }

    /// The address family it receives.
    pub fn family(&self) -> AddressFamily {
        self.core.family
    }

    /// How many transports are attached.
    pub fn transports(&self) -> usize {
        self.core.table().by_vrid.values().map(Vec::len).sum()
    }

    pub(super) fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// Attaches `endpoint` (joining the multicast group on the first multicast one).
    pub(super) fn attach(&self, endpoint: Arc<Endpoint>) -> Result<(), TransportError> {
        let mut table = self.core.table();
        if endpoint.multicast() && !table.joined {
            self.core.join()?;
            table.joined = true;
        }
        table
            .by_vrid
            .entry(endpoint.vrid)
            .or_default()
            .push(endpoint);
        Ok(())
    }

    /// Detaches `endpoint` (its transport is dropped); a lease it runs ends.
    pub(super) fn detach(&self, endpoint: &Arc<Endpoint>) {
        endpoint.detached.store(true, Ordering::Release);
        let mut table = self.core.table();
        if let Some(list) = table.by_vrid.get_mut(&endpoint.vrid) {
            list.retain(|e| !Arc::ptr_eq(e, endpoint));
            if list.is_empty() {
                table.by_vrid.remove(&endpoint.vrid);
            }
        }
        drop(table);
        self.core.signal();
    }
}

impl Drop for Receiver {
    /// The last transport is gone: the thread ends and closes the socket.
    fn drop(&mut self) {
        self.core.stop.store(true, Ordering::Release);
        self.core.signal();
    }
}

impl Core {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the thread.
    pub(super) fn signal(&self) {
        sys::eventfd_signal(&self.wake);
    }

    fn join(&self) -> Result<(), TransportError> {
        let step = |what: &str| TransportError::io(format!("{what} on {}", self.interface));
        match self.family {
            AddressFamily::Ipv4 => self
                .sock
                .join_multicast_v4_n(
                    &VRRP_GROUP_V4,
                    &InterfaceIndexOrAddress::Index(self.ifindex),
                )
                .map_err(step("joining 224.0.0.18")),
            AddressFamily::Ipv6 => self
                .sock
                .join_multicast_v6(&VRRP_GROUP_V6, self.ifindex)
                .map_err(step("joining ff02::12")),
        }
    }

    /// The endpoint a datagram with `vrid` from `src` concerns: the only one with that VRID,
    /// else the unicast one that has `src` as a peer, else a multicast one, else the first
    /// (which counts it as not a peer).
    fn endpoint_for(&self, vrid: u8, src: IpAddr) -> Option<Arc<Endpoint>> {
        let table = self.table();
        let list = table.by_vrid.get(&vrid)?;
        match list.as_slice() {
            [one] => Some(Arc::clone(one)),
            many => many
                .iter()
                .find(|e| e.has_peer(src))
                .or_else(|| many.iter().find(|e| e.multicast()))
                .or_else(|| many.first())
                .cloned(),
        }
    }

    /// Counts one datagram read and hands it to the endpoint it concerns: validated there,
    /// then absorbed by a running lease or queued for the instance.
    fn dispatch(&self, leases: &mut Leases, buf: &[u8], meta: Result<Meta, DropReason>) {
        self.stats.count_received();
        let meta = match meta {
            Ok(meta) => meta,
            Err(reason) => return self.stats.count_drop(reason),
        };
        let Some(vrid) = buf.get(meta.payload.start + 1).copied() else {
            return self
                .stats
                .count_drop(DropReason::Wire(WireError::Truncated));
        };
        let Some(endpoint) = self.endpoint_for(vrid, meta.src) else {
            return self
                .stats
                .count_drop(DropReason::Wire(WireError::UnknownVrid));
        };
        if let Some(received) = endpoint.take(&self.local, buf, meta) {
            leases.deliver(&endpoint, received, Instant::now());
        }
    }

    /// Reads what the socket has (one batch): how many datagrams; `Err` only when the socket is
    /// broken for good.
    fn read(&self, leases: &mut Leases, bufs: &mut Buffers) -> Result<usize, io::Error> {
        let got = match self.family {
            AddressFamily::Ipv4 => sys::recv_batch(&*self.sock, &mut bufs.v4, &mut bufs.lens),
            AddressFamily::Ipv6 => recv_v6(&self.sock, &mut bufs.v4[0]).map(|meta| {
                bufs.v6 = Some(meta);
                1
            }),
        };
        match got {
            Ok(n) => {
                for i in 0..n {
                    let buf = &bufs.v4[i];
                    let meta = match self.family {
                        AddressFamily::Ipv4 => v4_meta(buf, bufs.lens[i]),
                        AddressFamily::Ipv6 => bufs.v6.take().unwrap_or(Err(DropReason::Io)),
                    };
                    self.dispatch(leases, buf, meta);
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) if is_fatal(&e) => Err(e),
            Err(e) => {
                self.stats.count_drop(DropReason::Io);
                tracing::debug!(error = %e, "VRRP receive error; waiting for the next packet");
                Ok(0)
            }
        }
    }

    /// Every endpoint attached now.
    pub(super) fn endpoints(&self) -> Vec<Arc<Endpoint>> {
        self.table().by_vrid.values().flatten().cloned().collect()
    }
}

/// The thread's receive buffers, kept: zeroing 4 KiB per datagram costs more than parsing it.
struct Buffers {
    v4: Vec<Vec<u8>>,
    lens: Vec<usize>,
    v6: Option<Result<Meta, DropReason>>,
}

/// The receive path's thread: reads and dispatches datagrams, runs the leases, until the
/// [`Receiver`] is dropped. If it fails or panics, every endpoint fails (its instance then
/// releases) and every lease ends as broken.
fn thread_main(core: &Arc<Core>) {
    let mut leases = Leases::default();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(core, &mut leases)));
    let errno = match outcome {
        Ok(Ok(())) => {
            leases.end_all();
            return;
        }
        Ok(Err(e)) => {
            tracing::error!(interface = %core.interface, error = %e, "VRRP receive path broken");
            e.raw_os_error().unwrap_or(libc::EIO)
        }
        Err(_) => {
            tracing::error!(interface = %core.interface, "VRRP receive thread panicked");
            0
        }
    };
    // Dropping the leases' reports unreported tells each instance its lease broke.
    drop(leases);
    for endpoint in core.endpoints() {
        endpoint.fail(errno);
    }
}

fn run(core: &Arc<Core>, leases: &mut Leases) -> Result<(), io::Error> {
    let mut bufs = Buffers {
        v4: vec![vec![0; RECV_BUFFER]; BATCH],
        lens: vec![0; BATCH],
        v6: None,
    };
    // Woken through the eventfd: look at every lease (a revocation, a transport gone); else
    // only at those due.
    let mut woken = true;
    let mut last_read: Option<Instant> = None;
    loop {
        if core.stop.load(Ordering::Acquire) {
            return Ok(());
        }
        leases.adopt(core);
        let now = Instant::now();
        let next = if woken {
            leases.tend_all(core, now)
        } else {
            leases.tend(core, now)
        };
        let wait = next.map_or(IDLE_WAIT, |at| at.saturating_duration_since(now));
        match sys::wait_two(&*core.sock, &core.wake, wait) {
            Ok((readable, signalled)) => {
                woken = signalled;
                if signalled {
                    sys::eventfd_drain(&core.wake);
                }
                if readable {
                    let drained = core.read(leases, &mut bufs)? < BATCH;
                    let now = Instant::now();
                    let busy = last_read.is_some_and(|t| now.saturating_duration_since(t) < BUSY);
                    last_read = Some(now);
                    // Packets come faster than one per BUSY (many instances): let a few more
                    // arrive, so that one wake-up reads several, unless a lease is due sooner.
                    // A full batch (a flood) is read on at once.
                    if busy && drained && !signalled && next.is_none_or(|at| at > now + PAUSE) {
                        match sys::wait_one(&core.wake, PAUSE) {
                            Ok(true) => {
                                woken = true;
                                sys::eventfd_drain(&core.wake);
                            }
                            Ok(false) => {}
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The IP facts of an IPv4 datagram of `len` bytes (`usize::MAX`: it did not fit).
fn v4_meta(buf: &[u8], len: usize) -> Result<Meta, DropReason> {
    buf.get(..len)
        .and_then(ipv4::parse)
        .map(|info| Meta {
            src: IpAddr::V4(info.src),
            dst: IpAddr::V4(info.dst),
            ttl: info.ttl,
            payload: info.payload,
        })
        .ok_or(DropReason::Wire(WireError::Truncated))
}

/// Reads one IPv6 datagram (VRRP message only) with its hop limit and destination.
fn recv_v6(sock: &Socket, buf: &mut [u8]) -> io::Result<Result<Meta, DropReason>> {
    let got = sys::recv_v6(sock, buf)?;
    if got.truncated {
        return Ok(Err(DropReason::Wire(WireError::Truncated)));
    }
    let (Some(dst), Some(ttl)) = (got.dst, got.hop_limit) else {
        return Ok(Err(DropReason::Io));
    };
    Ok(Ok(Meta {
        src: IpAddr::V6(got.src),
        dst: IpAddr::V6(dst),
        ttl,
        payload: 0..got.len,
    }))
}

/// Errors after which the socket is unusable.
fn is_fatal(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EBADF | libc::ENOTSOCK | libc::EINVAL | libc::EFAULT)
    )
}

pub(super) fn raw_socket(domain: Domain, interface: &str) -> Result<Socket, TransportError> {
    let sock = Socket::new(
        domain,
        Type::RAW,
        Some(Protocol::from(i32::from(VRRP_PROTOCOL))),
    )
    .map_err(TransportError::io(
        "opening a raw VRRP socket (needs CAP_NET_RAW)",
    ))?;
    sock.bind_device(Some(interface.as_bytes()))
        .map_err(TransportError::io(format!(
            "binding the VRRP socket to {interface}"
        )))?;
    sock.set_nonblocking(true)
        .map_err(TransportError::io("making the VRRP socket non-blocking"))?;
    Ok(sock)
}

/// The IPv4 socket: receives, and sends with our own header (`IP_HDRINCL`).
fn open_v4(interface: &str, ifindex: u32) -> Result<Socket, TransportError> {
    let sock = raw_socket(Domain::IPV4, interface)?;
    let ttl = u32::from(VRRP_TTL);
    let step = |what: &str| TransportError::io(format!("{what} on {interface}"));
    sock.set_header_included_v4(true)
        .map_err(step("IP_HDRINCL"))?;
    sock.set_ttl_v4(ttl).map_err(step("IP_TTL"))?;
    sock.set_multicast_ttl_v4(ttl)
        .map_err(step("IP_MULTICAST_TTL"))?;
    sock.set_tos_v4(u32::from(ipv4::TOS))
        .map_err(step("IP_TOS"))?;
    sock.set_multicast_loop_v4(false)
        .map_err(step("IP_MULTICAST_LOOP"))?;
    sock.set_multicast_all_v4(false)
        .map_err(step("IP_MULTICAST_ALL"))?;
    sys::set_ipv4_multicast_if_index(&sock, ifindex).map_err(step("IP_MULTICAST_IF"))?;
    Ok(sock)
}

/// The IPv6 receive socket (each transport sends on a socket of its own, bound to its source).
fn open_v6_rx(interface: &str) -> Result<Socket, TransportError> {
    let sock = raw_socket(Domain::IPV6, interface)?;
    let step = |what: &str| TransportError::io(format!("{what} on {interface}"));
    sock.set_recv_hoplimit_v6(true)
        .map_err(step("IPV6_RECVHOPLIMIT"))?;
    sys::set_ipv6_recv_pktinfo(&sock).map_err(step("IPV6_RECVPKTINFO"))?;
    sock.set_multicast_loop_v6(false)
        .map_err(step("IPV6_MULTICAST_LOOP"))?;
    sock.set_multicast_all_v6(false)
        .map_err(step("IPV6_MULTICAST_ALL"))?;
    Ok(sock)
}
