//! [`Transport`]: raw VRRP sockets on one interface, driven by tokio.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::{Domain, SockAddr, SockFilter, Socket};
use vip_core::Priority;
use vip_core::election::Advert;

use super::endpoint::Endpoint;
use super::receiver::{Receiver, raw_socket};
use super::steady::Datagram;
use super::{Mode, TransportConfig, TransportError, TransportStats, ipv4, local, sys};
use crate::wire::{AddressFamily, Packet, Repr, TxContext, VRRP_TTL, WireError};

/// The VRRP IPv4 multicast group (RFC 9568 section 5.1.1.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The VRRP IPv6 multicast group (RFC 9568 section 5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

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
/// - Receiving: the transport attaches to the [`Receiver`] of its interface and family (one
///   socket and one thread per (interface, family) in the process, opened by the first
///   transport and shared by the rest), which reads each packet once and hands it to the
///   transport it concerns by VRID (and, among unicast transports of one VRID, by source).
///   IPv4: the socket is bound to the device and joined to 224.0.0.18 on it once any multicast
///   transport attaches, multicast loop off; TTL, source and destination are read from the IP
///   header. IPv6: the socket is joined to ff02::12 with `IPV6_RECVHOPLIMIT` and
///   `IPV6_RECVPKTINFO`, and the codec verifies checksums (so bad ones are counted).
/// - Sending: IPv4 adverts go out on the receive path's socket with `IP_HDRINCL` (TTL 255,
///   TOS 0xc0, our source address, so the v3 pseudo-header checksum is right; Don't Fragment,
///   and an identification from a per-transport counter, taken once per encoding: a kept advert
///   sent again keeps its value, as RFC 6864 allows for atomic datagrams). IPv6 adverts go out
///   on a send socket of the transport's own, bound to the link-local (or configured) source,
///   with the kernel's `IPV6_CHECKSUM` offload, hop limit 255 and a drop-all receive filter.
///
/// [`Transport::recv`] returns valid adverts only; everything else is dropped and counted in
/// [`Transport::stats`] (packets that concern no transport: in [`Receiver::stats`]). All
/// methods take `&self`, so one task may receive while others send. Build it inside a tokio
/// runtime, on a thread in the network namespace of the interface.
#[derive(Debug)]
pub struct Transport {
    config: TransportConfig,
    family: AddressFamily,
    ifindex: u32,
    source: IpAddr,
    destinations: Vec<IpAddr>,
    /// The shared receive path; IPv4 sends on its socket.
    receiver: Arc<Receiver>,
    /// This transport's place on it (what it accepts, its counters and queue).
    endpoint: Arc<Endpoint>,
    /// IPv6 only; IPv4 sends on the receive path's socket.
    tx: Option<Arc<Socket>>,
    /// IPv4: the identification of each datagram we encode.
    ident: ipv4::Identifier,
    /// The datagrams of the last advert sent by [`Transport::send`].
    last_sent: Mutex<Option<Arc<Encoded>>>,
}

/// The datagrams of one advert, one per destination (see [`Transport::send`]).
#[derive(Debug)]
struct Encoded {
    priority: Priority,
    datagrams: Vec<(IpAddr, Arc<Vec<u8>>)>,
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
        let receiver = Receiver::shared(&config.interface, family)?;
        let tx = match family {
            AddressFamily::Ipv4 => None,
            AddressFamily::Ipv6 => Some(Arc::new(open_v6_tx(&config.interface, ifindex, source)?)),
        };
        let endpoint = Arc::new(Endpoint::new(&config, source));
        receiver.attach(Arc::clone(&endpoint))?;
        tracing::debug!(
            interface = %config.interface, ifindex, %source, vrid = config.vrid,
            "VRRP transport open"
        );
        Ok(Transport {
            family,
            ifindex,
            source,
            destinations,
            receiver,
            endpoint,
            tx,
            ident: ipv4::Identifier::new(),
            last_sent: Mutex::new(None),
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

    /// Its counters, shared: what was handed to it by the receive path, and what it sent.
    pub fn stats(&self) -> Arc<TransportStats> {
        Arc::clone(&self.endpoint.stats)
    }

    /// The receive path it is attached to (shared with every transport on the same interface
    /// and address family).
    pub fn receiver(&self) -> &Arc<Receiver> {
        &self.receiver
    }

    pub(super) fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
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
            .map(|dst| self.encode_to(&repr, *dst).map(|d| (*dst, Arc::new(d))))
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
            Ok(()) => self.endpoint.stats.count_sent(),
            Err(e) => {
                self.endpoint.stats.count_send_error();
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
    fn route(&self, dst: IpAddr) -> Result<(&Arc<Socket>, SockAddr), TransportError> {
        match (dst, &self.tx) {
            (IpAddr::V4(dst4), _) => Ok((
                &self.receiver.core().sock,
                SockAddr::from(SocketAddrV4::new(dst4, 0)),
            )),
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

    /// A master's advert at `priority` as one datagram, if it is encoded already (see
    /// [`Transport::try_send`]): what the steady loop sends.
    pub(super) fn one_datagram(&self, priority: Priority) -> Option<Datagram> {
        let encoded = self.encoded(priority)?;
        let [(dst, bytes)] = encoded.datagrams.as_slice() else {
            return None;
        };
        let (sock, addr) = self.route(*dst).ok()?;
        Some(Datagram {
            sock: Arc::clone(sock),
            addr,
            dst: *dst,
            bytes: Arc::clone(bytes),
        })
    }

    /// Waits for the next valid advert. Malformed, misdirected, foreign and own packets are
    /// dropped and counted (never returned as errors). Cancel-safe: dropping the future loses
    /// no accepted advert.
    ///
    /// # Errors
    /// As [`Transport::poll_recv`].
    pub async fn recv(&self) -> Result<Received, TransportError> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next valid advert the receive path handed to this transport (`Ready(Ok)`), or
    /// `Pending` with `cx`'s waker kept. This is the instance task's
    /// [`vip_core::runtime::AdvertSource`]: no task, channel or allocation per advert.
    ///
    /// # Errors
    /// [`TransportError::Io`] only when the receive path itself is broken (its socket failed
    /// with EBADF, ENOTSOCK, EINVAL or EFAULT, or its thread panicked), after which polling
    /// again is pointless.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Received, TransportError>> {
        self.endpoint.poll_recv(cx).map_err(|e| {
            TransportError::io(format!(
                "receiving VRRP adverts on {}",
                self.config.interface
            ))(e)
        })
    }
}

impl Drop for Transport {
    /// Leaves the receive path (which closes with its last transport).
    fn drop(&mut self) {
        self.receiver.detach(&self.endpoint);
    }
}

/// Link-local unicast and link-scope multicast destinations need the interface as scope.
fn needs_scope(a: &Ipv6Addr) -> bool {
    local::is_link_local(a) || (a.is_multicast() && a.segments()[0] & 0x000f == 0x2)
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
