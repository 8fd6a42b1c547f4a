//! [`Transport`]: raw VRRP sockets on one interface, driven by tokio.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::num::NonZeroU32;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, SockFilter, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use vip_core::Priority;
use vip_core::election::{Advert, Version};

use super::local::{self, LocalAddresses};
use super::mismatch::MismatchLog;
use super::{DropReason, Mode, TransportConfig, TransportError, TransportStats, ipv4, sys};
use crate::wire::{AddressFamily, Packet, Repr, RxContext, TxContext, VRRP_PROTOCOL, VRRP_TTL};
use crate::wire::{VridSet, WireError};

/// The VRRP IPv4 multicast group (RFC 9568 section 5.1.1.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The VRRP IPv6 multicast group (RFC 9568 section 5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// Receive buffer: the largest VRRP packet is v3 over IPv6 with 255 addresses (4088 bytes);
/// over IPv4 it is 60 bytes of header plus 1036.
const RECV_BUFFER: usize = 4096 + 64;

/// Offset of the checksum in a VRRP message, for `IPV6_CHECKSUM`.
const CHECKSUM_OFFSET: i32 = 6;

/// A valid advert received from a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The decoded advert.
    pub repr: Repr,
    /// The IP source address (the sender's primary address).
    pub source: IpAddr,
    /// The IP destination address (the group, or ours in unicast mode).
    pub destination: IpAddr,
    /// The election machine's view of it (address mismatch against our VIPs included).
    pub advert: Advert,
}

/// Sends and receives the adverts of one VRRP instance on one interface over raw IP
/// protocol-112 sockets.
///
/// - IPv4: one socket bound to the device, joined to 224.0.0.18 on it (multicast mode),
///   multicast loop off; it sends with `IP_HDRINCL` (TTL 255, TOS 0xc0, our source address,
///   so the v3 pseudo-header checksum is right; Don't Fragment, and an identification from a
///   per-transport counter, taken once per encoding: a kept advert sent again keeps its value,
///   as RFC 6864 allows for atomic datagrams) and receives the IP header, from which TTL,
///   source and destination are read.
/// - IPv6: a receive socket joined to ff02::12 on the interface with `IPV6_RECVHOPLIMIT` and
///   `IPV6_RECVPKTINFO`, whose checksums the codec verifies (so bad ones are counted), and a
///   send socket bound to the link-local (or configured) source with the kernel's
///   `IPV6_CHECKSUM` offload, hop limit 255 and a drop-all receive filter.
///
/// [`Transport::recv`] returns valid adverts only; everything else is dropped and counted in
/// [`Transport::stats`]. All methods take `&self`, so one task may receive while others send.
/// Build and poll it inside a tokio runtime with I/O enabled, on a thread in the network
/// namespace of the interface.
#[derive(Debug)]
pub struct Transport {
    config: TransportConfig,
    family: AddressFamily,
    ifindex: u32,
    source: IpAddr,
    destinations: Vec<IpAddr>,
    /// The VRRP socket (IPv4: sends and receives; IPv6: receives). Sends go straight to the
    /// non-blocking socket, see [`send_now`]; its reactor registration is in `buffer`.
    pub(super) sock: Arc<Socket>,
    /// IPv6 only; IPv4 sends on `sock`. Never registered with the reactor (it receives nothing).
    tx: Option<Socket>,
    rx_ctx: RxContext,
    /// IPv4: the identification of each datagram we encode.
    ident: ipv4::Identifier,
    local: LocalAddresses,
    pub(super) stats: Arc<TransportStats>,
    mismatch: MismatchLog,
    /// The datagrams of the last advert sent by [`Transport::send`].
    last_sent: Mutex<Option<Arc<Encoded>>>,
    /// The receive buffers, kept: zeroing 4 KiB on the stack per advert costs more than
    /// parsing it.
    pub(super) buffer: Mutex<RxBuffers>,
    /// Wakes a running steady loop (an eventfd; see `steady.rs`).
    pub(super) wake: std::os::fd::OwnedFd,
}

/// Receive buffers, kept between polls, and the socket's reactor registration.
#[derive(Debug)]
pub(super) struct RxBuffers {
    /// The socket's registration with the tokio reactor, for reading only. `None` while a
    /// steady loop reads the socket itself (see `steady.rs`).
    pub(super) reg: Option<AsyncFd<sys::Shared>>,
    /// Where each read lands.
    pub(super) first: Vec<u8>,
    /// IPv4: the second datagram of a read that returned two ([`sys::recv_two`]).
    pub(super) second: Vec<u8>,
    /// The length of the datagram in `second` until it is taken.
    pub(super) pending: Option<usize>,
}

/// The datagrams of one advert, one per destination (see [`Transport::send`]).
#[derive(Debug)]
struct Encoded {
    priority: Priority,
    datagrams: Vec<(IpAddr, Vec<u8>)>,
}

/// The IP facts of one received datagram, before validation.
struct Meta {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    payload: Range<usize>,
}

impl Transport {
    /// Opens the sockets for `config`.
    ///
    /// # Errors
    /// [`TransportError::Config`] for an inconsistent configuration or a configured source
    /// address that is not ours,
    /// [`TransportError::InterfaceNotFound`], [`TransportError::NoSourceAddress`] when no
    /// source is configured and the interface has none, and [`TransportError::Io`] when a
    /// socket call fails (EPERM without CAP_NET_RAW) or when called outside a tokio runtime.
    pub fn new(config: TransportConfig) -> Result<Transport, TransportError> {
        let family = config.validate()?;
        let ifindex = local::if_index(&config.interface)?;
        let source = match config.source {
            Some(s) => {
                local::check_source(s)?;
                s
            }
            None => local::default_source(&config.interface, family, &config.addresses)?,
        };
        let destinations = match (&config.mode, family) {
            (Mode::Unicast { peers }, _) => peers.clone(),
            (Mode::Multicast, AddressFamily::Ipv4) => vec![IpAddr::V4(VRRP_GROUP_V4)],
            (Mode::Multicast, AddressFamily::Ipv6) => vec![IpAddr::V6(VRRP_GROUP_V6)],
        };
        let multicast = config.mode == Mode::Multicast;
        let (rx, tx) = match family {
            AddressFamily::Ipv4 => (open_v4(&config.interface, ifindex, multicast)?, None),
            AddressFamily::Ipv6 => (
                open_v6_rx(&config.interface, ifindex, multicast)?,
                Some(open_v6_tx(&config.interface, ifindex, source)?),
            ),
        };
        let sock = Arc::new(rx);
        let reg = register(&sock)?;
        let wake = sys::eventfd().map_err(TransportError::io("creating an eventfd"))?;
        let rx_ctx =
            RxContext::new(config.version, VridSet::single(config.vrid)).with_auth(config.auth);
        tracing::debug!(
            interface = %config.interface, ifindex, %source, vrid = config.vrid,
            "VRRP transport open"
        );
        Ok(Transport {
            family,
            ifindex,
            source,
            destinations,
            sock,
            tx,
            rx_ctx,
            ident: ipv4::Identifier::new(),
            local: LocalAddresses::new(vec![source]),
            stats: Arc::default(),
            mismatch: MismatchLog::default(),
            last_sent: Mutex::new(None),
            buffer: Mutex::new(RxBuffers {
                reg: Some(reg),
                first: vec![0; RECV_BUFFER],
                second: vec![0; RECV_BUFFER],
                pending: None,
            }),
            wake,
            config,
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// The address family of its adverts.
    pub fn family(&self) -> AddressFamily {
        self.family
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The source address of its adverts (our primary address for the election's tie-break).
    pub fn source(&self) -> IpAddr {
        self.source
    }

    /// Where its adverts go: the group, or the unicast peers.
    pub fn destinations(&self) -> &[IpAddr] {
        &self.destinations
    }

    /// Its counters, shared.
    pub fn stats(&self) -> Arc<TransportStats> {
        Arc::clone(&self.stats)
    }

    /// The advert this instance sends at `priority`.
    ///
    /// # Errors
    /// [`TransportError::Encode`] if the configuration cannot be encoded.
    pub fn advert(&self, priority: Priority) -> Result<Repr, TransportError> {
        Ok(Repr::for_vips(
            self.config.version,
            self.config.vrid,
            priority,
            self.config.advert_interval,
            self.family,
            &self.config.addresses,
            self.config.auth,
        )?)
    }

    /// Sends our advert at `priority` (0 when releasing) to the group or to every peer.
    ///
    /// The datagrams of the last priority sent are kept: a master repeating the same advert
    /// neither builds nor encodes it again.
    ///
    /// # Errors
    /// As [`Transport::send_repr`].
    pub async fn send(&self, priority: Priority) -> Result<(), TransportError> {
        if let Some(encoded) = self.encoded(priority) {
            return self.transmit_all(&encoded).await;
        }
        let repr = self.advert(priority)?;
        let datagrams: Result<Vec<_>, _> = self
            .destinations
            .iter()
            .map(|dst| self.encode_to(&repr, *dst).map(|d| (*dst, d)))
            .collect();
        match datagrams {
            Ok(datagrams) => {
                let encoded = Arc::new(Encoded {
                    priority,
                    datagrams,
                });
                *self
                    .last_sent
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&encoded));
                self.transmit_all(&encoded).await
            }
            // Not cached: each destination fails (and is counted) on its own, as below.
            Err(_) => self.send_repr(&repr).await,
        }
    }

    /// The kept datagrams, if they are for `priority`.
    fn encoded(&self, priority: Priority) -> Option<Arc<Encoded>> {
        self.last_sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|e| e.priority == priority)
            .cloned()
    }

    async fn transmit_all(&self, encoded: &Encoded) -> Result<(), TransportError> {
        let mut first = None;
        for (dst, datagram) in &encoded.datagrams {
            self.count(*dst, self.transmit(*dst, datagram).await, &mut first);
        }
        first.map_or(Ok(()), Err)
    }

    /// Counts one copy's outcome, logs a failure and keeps the first one.
    fn count(
        &self,
        dst: IpAddr,
        outcome: Result<(), TransportError>,
        first: &mut Option<TransportError>,
    ) {
        match outcome {
            Ok(()) => self.stats.count_sent(),
            Err(e) => {
                self.stats.count_send_error();
                tracing::warn!(%dst, error = %e, "sending VRRP advert failed");
                first.get_or_insert(e);
            }
        }
    }

    /// Sends `repr` to the group or to every peer (one copy each, with the checksum of each
    /// destination). Every copy is tried; the first failure is returned.
    ///
    /// # Errors
    /// [`TransportError::Encode`] if `repr` cannot be encoded, [`TransportError::Io`] if the
    /// kernel refuses a copy (counted as a send error).
    pub async fn send_repr(&self, repr: &Repr) -> Result<(), TransportError> {
        let mut first = None;
        for dst in &self.destinations {
            let outcome = match self.encode_to(repr, *dst) {
                Ok(datagram) => self.transmit(*dst, &datagram).await,
                Err(e) => Err(e),
            };
            self.count(*dst, outcome, &mut first);
        }
        first.map_or(Ok(()), Err)
    }

    /// The datagram of `repr` for `dst`: with our IPv4 header (IPv4), or the VRRP message alone
    /// (IPv6; the kernel adds the header).
    fn encode_to(&self, repr: &Repr, dst: IpAddr) -> Result<Vec<u8>, TransportError> {
        let ctx = TxContext::new(self.source, dst).with_checksum(self.config.checksum);
        match (self.source, dst, &self.tx) {
            (IpAddr::V4(src), IpAddr::V4(dst4), _) => {
                let mut buf = vec![0u8; ipv4::HEADER_LEN + repr.buffer_len()];
                let (head, body) = buf.split_at_mut(ipv4::HEADER_LEN);
                repr.emit(&mut Packet::new_unchecked(&mut *body), &ctx)?;
                ipv4::write_header(head, src, dst4, body.len(), self.ident.next());
                Ok(buf)
            }
            (IpAddr::V6(_), IpAddr::V6(_), Some(_)) => {
                // The kernel overwrites the checksum (IPV6_CHECKSUM) with one over the
                // pseudo-header of the addresses actually used; the codec's value is the same
                // when the source is the one we bound.
                let mut buf = vec![0u8; repr.buffer_len()];
                repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &ctx)?;
                Ok(buf)
            }
            _ => Err(TransportError::Encode(WireError::FamilyMismatch)),
        }
    }

    /// Sends one datagram from [`Transport::encode_to`] to `dst`.
    async fn transmit(&self, dst: IpAddr, datagram: &[u8]) -> Result<(), TransportError> {
        let (sock, addr) = self.route(dst)?;
        send_now(sock, datagram, &addr)
            .await
            .map_err(|e| self.send_failed(dst, e))?;
        Ok(())
    }

    /// The socket a datagram for `dst` leaves on, and its destination address.
    fn route(&self, dst: IpAddr) -> Result<(&Socket, SockAddr), TransportError> {
        match (dst, &self.tx) {
            (IpAddr::V4(dst4), _) => Ok((&self.sock, SockAddr::from(SocketAddrV4::new(dst4, 0)))),
            (IpAddr::V6(dst6), Some(tx)) => {
                let scope = if needs_scope(&dst6) { self.ifindex } else { 0 };
                Ok((tx, SockAddr::from(SocketAddrV6::new(dst6, 0, 0, scope))))
            }
            (IpAddr::V6(_), None) => Err(TransportError::Encode(WireError::FamilyMismatch)),
        }
    }

    /// The error of a failed send to `dst` (built only on failure: the hot path does not
    /// format).
    fn send_failed(&self, dst: IpAddr, source: io::Error) -> TransportError {
        TransportError::Io {
            operation: format!(
                "sending a VRRP advert to {dst} on {}",
                self.config.interface
            ),
            source,
        }
    }

    /// Sends our advert at `priority` without waiting, when it is one datagram (multicast, or
    /// a single unicast peer) already encoded by an earlier [`Transport::send`] at the same
    /// priority: a master's steady state. `None`, with nothing sent, otherwise or when the
    /// socket's buffer is full; then use [`Transport::send`].
    ///
    /// # Errors
    /// As [`Transport::send`], inside the `Some`.
    pub fn try_send(&self, priority: Priority) -> Option<Result<(), TransportError>> {
        let encoded = self.encoded(priority)?;
        let [(dst, datagram)] = encoded.datagrams.as_slice() else {
            return None;
        };
        let outcome = match self.route(*dst) {
            Ok((sock, addr)) => match sock.send_to(datagram, &addr) {
                Ok(_) => Ok(()),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) =>
                {
                    return None;
                }
                Err(e) => Err(self.send_failed(*dst, e)),
            },
            Err(e) => Err(e),
        };
        let mut first = None;
        self.count(*dst, outcome, &mut first);
        Some(first.map_or(Ok(()), Err))
    }

    /// Waits for the next valid advert. Malformed, misdirected, foreign and own packets are
    /// dropped and counted (never returned as errors); transient receive errors are counted and
    /// the wait goes on. Cancel-safe: dropping the future loses no accepted advert.
    ///
    /// # Errors
    /// As [`Transport::poll_recv`].
    pub async fn recv(&self) -> Result<Received, TransportError> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Reads what the socket has ready until a valid advert turns up (`Ready(Ok)`) or nothing
    /// is left (`Pending`, with `cx`'s waker registered). Everything else is dropped and
    /// counted. A transient receive error is counted as [`DropReason::Io`], and reading resumes
    /// at the socket's next readiness. This is the instance task's
    /// [`vip_core::runtime::AdvertSource`]: no task, channel or allocation per advert.
    ///
    /// # Errors
    /// [`TransportError::Io`] only when the socket itself is broken (EBADF, ENOTSOCK, EINVAL,
    /// EFAULT), after which polling again is pointless.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Received, TransportError>> {
        let mut guard = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let rx = &mut *guard;
        loop {
            if let Some(len) = rx.pending.take() {
                if let Some(received) = self.take_v4(&rx.second, len) {
                    return Poll::Ready(Ok(received));
                }
                continue;
            }
            // Unregistered only while a steady loop reads the socket, when nobody polls here.
            let Some(reg) = rx.reg.as_ref() else {
                return Poll::Pending;
            };
            let mut ready = match ready!(reg.poll_read_ready(cx)) {
                Ok(ready) => ready,
                Err(e) => return Poll::Ready(Err(self.receive_failed(e))),
            };
            let got = ready.try_io(|fd| match self.family {
                AddressFamily::Ipv4 => {
                    sys::recv_two(fd.get_ref(), &mut rx.first, &mut rx.second).map(Read::V4)
                }
                AddressFamily::Ipv6 => recv_v6(&fd.get_ref().0, &mut rx.first).map(Read::V6),
            });
            match got {
                // Nothing left: readiness was cleared; poll again to register the waker.
                Err(_would_block) => {}
                Ok(Ok(Read::V4([first, second]))) => {
                    // One datagram back: the queue was empty after it, so the EAGAIN a second
                    // read would bring is known already. (A packet arriving from now on is a new
                    // readiness event, which clearing this one does not lose.)
                    if second.is_none() {
                        ready.clear_ready();
                    }
                    rx.pending = second;
                    if let Some(len) = first
                        && let Some(received) = self.take_v4(&rx.first, len)
                    {
                        return Poll::Ready(Ok(received));
                    }
                }
                Ok(Ok(Read::V6(meta))) => {
                    self.stats.count_received();
                    match meta.and_then(|m| self.accept(&rx.first, m)) {
                        Ok(received) => {
                            self.stats.count_accepted();
                            return Poll::Ready(Ok(received));
                        }
                        Err(reason) => self.stats.count_drop(reason),
                    }
                }
                Ok(Err(e)) if is_fatal(&e) => return Poll::Ready(Err(self.receive_failed(e))),
                Ok(Err(e)) => {
                    self.stats.count_drop(DropReason::Io);
                    tracing::debug!(error = %e, "VRRP receive error; waiting for the next packet");
                    ready.clear_ready();
                }
            }
        }
    }

    /// Counts and validates one IPv4 datagram of `len` bytes at the start of `buf` (its IP
    /// header included; `usize::MAX` when it did not fit): the advert, or `None` when dropped.
    pub(super) fn take_v4(&self, buf: &[u8], len: usize) -> Option<Received> {
        self.stats.count_received();
        let meta = buf
            .get(..len)
            .and_then(ipv4::parse)
            .map(|info| Meta {
                src: IpAddr::V4(info.src),
                dst: IpAddr::V4(info.dst),
                ttl: info.ttl,
                payload: info.payload,
            })
            .ok_or(DropReason::Wire(WireError::Truncated));
        match meta.and_then(|m| self.accept(buf, m)) {
            Ok(received) => {
                self.stats.count_accepted();
                Some(received)
            }
            Err(reason) => {
                self.stats.count_drop(reason);
                None
            }
        }
    }

    pub(super) fn receive_failed(&self, e: io::Error) -> TransportError {
        TransportError::io(format!(
            "receiving VRRP adverts on {}",
            self.config.interface
        ))(e)
    }

    /// Validates one datagram: own packet, peer list, then the codec.
    fn accept(&self, buf: &[u8], meta: Meta) -> Result<Received, DropReason> {
        let Meta {
            src,
            dst,
            ttl,
            payload,
        } = meta;
        let drop = |reason: DropReason| {
            tracing::debug!(%src, %dst, reason = reason.as_str(), "dropped VRRP packet");
            reason
        };
        if src == self.source || self.local.contains(src) {
            return Err(drop(DropReason::OwnPacket));
        }
        if let Mode::Unicast { peers } = &self.config.mode
            && !peers.contains(&src)
        {
            return Err(drop(DropReason::NotAPeer));
        }
        let bytes = buf
            .get(payload)
            .ok_or(DropReason::Wire(WireError::Truncated))?;
        let packet = Packet::new_checked(bytes).map_err(|e| drop(DropReason::Wire(e)))?;
        let ctx = self.rx_ctx.packet(src, dst, ttl);
        let repr = Repr::parse(&packet, &ctx).map_err(|e| drop(DropReason::Wire(e)))?;
        let advert = repr.to_advert(src, &self.config.addresses);
        self.mismatch.note(
            &self.stats,
            src,
            repr.vrid,
            advert.address_mismatch,
            repr.max_advert_interval,
            (self.config.version == Version::V2).then_some(self.config.advert_interval),
        );
        Ok(Received {
            repr,
            source: src,
            destination: dst,
            advert,
        })
    }
}

/// Link-local unicast and link-scope multicast destinations need the interface as scope.
fn needs_scope(a: &Ipv6Addr) -> bool {
    local::is_link_local(a) || (a.is_multicast() && a.segments()[0] & 0x000f == 0x2)
}

/// Registers the socket with the current tokio reactor, for reading only: with write interest,
/// every send would bring an EPOLLOUT edge back (the send buffer drains), waking the reactor
/// once more per advert.
pub(super) fn register(sock: &Arc<Socket>) -> Result<AsyncFd<sys::Shared>, TransportError> {
    sys::register(sys::Shared(Arc::clone(sock)), Interest::READABLE)
        .map_err(TransportError::io("registering the socket"))
}

/// Errors after which the socket is unusable.
pub(super) fn is_fatal(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EBADF | libc::ENOTSOCK | libc::EINVAL | libc::EFAULT)
    )
}

/// What one read brought: up to two IPv4 datagrams (lengths into the receive buffers), or one
/// IPv6 datagram's IP facts.
enum Read {
    V4([Option<usize>; 2]),
    V6(Result<Meta, DropReason>),
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

/// Sends `buf` to `addr` on the non-blocking `sock`. An advert is one small datagram, so the
/// send buffer is full only when the interface is stuck: then it retries after 1 ms, doubling
/// to 16 ms (the runtime bounds the whole send). No reactor registration for writing is needed,
/// so sends cost no wake-ups.
async fn send_now(sock: &Socket, buf: &[u8], addr: &SockAddr) -> io::Result<usize> {
    let mut pause = Duration::from_millis(1);
    loop {
        match sock.send_to(buf, addr) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(16));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            sent => return sent,
        }
    }
}

fn raw_socket(domain: Domain, interface: &str) -> Result<Socket, TransportError> {
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

fn open_v4(interface: &str, ifindex: u32, multicast: bool) -> Result<Socket, TransportError> {
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
    if multicast {
        sock.join_multicast_v4_n(&VRRP_GROUP_V4, &InterfaceIndexOrAddress::Index(ifindex))
            .map_err(step("joining 224.0.0.18"))?;
    }
    Ok(sock)
}

fn open_v6_rx(interface: &str, ifindex: u32, multicast: bool) -> Result<Socket, TransportError> {
    let sock = raw_socket(Domain::IPV6, interface)?;
    let step = |what: &str| TransportError::io(format!("{what} on {interface}"));
    sock.set_recv_hoplimit_v6(true)
        .map_err(step("IPV6_RECVHOPLIMIT"))?;
    sys::set_ipv6_recv_pktinfo(&sock).map_err(step("IPV6_RECVPKTINFO"))?;
    sock.set_multicast_loop_v6(false)
        .map_err(step("IPV6_MULTICAST_LOOP"))?;
    sock.set_multicast_all_v6(false)
        .map_err(step("IPV6_MULTICAST_ALL"))?;
    if multicast {
        sock.join_multicast_v6(&VRRP_GROUP_V6, ifindex)
            .map_err(step("joining ff02::12"))?;
    }
    Ok(sock)
}

fn open_v6_tx(interface: &str, ifindex: u32, source: IpAddr) -> Result<Socket, TransportError> {
    let IpAddr::V6(src) = source else {
        return Err(TransportError::Encode(WireError::FamilyMismatch));
    };
    let sock = raw_socket(Domain::IPV6, interface)?;
    let step = |what: &str| TransportError::io(format!("{what} on {interface}"));
    let hops = u32::from(VRRP_TTL);
    sys::set_ipv6_checksum(&sock, CHECKSUM_OFFSET).map_err(step("IPV6_CHECKSUM"))?;
    sock.set_multicast_hops_v6(hops)
        .map_err(step("IPV6_MULTICAST_HOPS"))?;
    sock.set_unicast_hops_v6(hops)
        .map_err(step("IPV6_UNICAST_HOPS"))?;
    sock.set_multicast_loop_v6(false)
        .map_err(step("IPV6_MULTICAST_LOOP"))?;
    sock.set_multicast_if_v6(ifindex)
        .map_err(step("IPV6_MULTICAST_IF"))?;
    if let Some(index) = NonZeroU32::new(ifindex) {
        sock.bind_device_by_index_v6(Some(index))
            .map_err(step("binding to the interface index"))?;
    }
    let scope = if local::is_link_local(&src) {
        ifindex
    } else {
        0
    };
    sock.bind(&SockAddr::from(SocketAddrV6::new(src, 0, 0, scope)))
        .map_err(step(&format!("binding the send socket to {src}")))?;
    // This socket only sends; the receive socket reads. BPF "return 0" drops every packet
    // before it is queued here.
    sock.attach_filter(&[SockFilter::new(
        (libc::BPF_RET | libc::BPF_K) as u16,
        0,
        0,
        0,
    )])
    .map_err(step("attaching the drop-all filter"))?;
    Ok(sock)
}
