//! AF_PACKET sockets: one that only sends (protocol 0, so the kernel queues nothing to it) and
//! one that receives a single EtherType on a single interface (for the in-use probe).
//!
//! Opening either needs CAP_NET_RAW.

use std::io::{self, Read};

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, SockFilter, Socket, Type};
use tokio::io::unix::AsyncFd;
use vip_core::MacAddr;

/// A link-layer socket address for `ifindex`, `ethertype` and destination `dst`.
fn link_addr(ifindex: u32, ethertype: u16, dst: MacAddr) -> io::Result<SockAddr> {
    let ifindex = i32::try_from(ifindex).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
    let mut storage = SockAddrStorage::zeroed();
    #[allow(unsafe_code)]
    // SAFETY: sockaddr_ll is a sockaddr type of this platform and is smaller than
    // sockaddr_storage; the storage is zeroed, a valid sockaddr_ll.
    let ll: &mut libc::sockaddr_ll = unsafe { storage.view_as() };
    ll.sll_family = libc::AF_PACKET as u16;
    ll.sll_protocol = ethertype.to_be();
    ll.sll_ifindex = ifindex;
    ll.sll_halen = 6;
    ll.sll_addr[..6].copy_from_slice(&dst);
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    #[allow(unsafe_code)]
    // SAFETY: the storage holds an initialised sockaddr_ll of length `len`.
    Ok(unsafe { SockAddr::new(storage, len) })
}

const BPF_LD_B_ABS: u16 = 0x30;
const BPF_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;

/// A classic BPF program for an IPv6 packet socket that keeps only neighbour solicitations and
/// advertisements (next header 58 at offset 20, ICMPv6 type 135 or 136 at offset 54), so the
/// probe's socket does not queue the rest of the segment's IPv6 traffic.
pub(crate) const ND_FILTER: [SockFilter; 7] = [
    SockFilter::new(BPF_LD_B_ABS, 0, 0, 20),
    SockFilter::new(BPF_JEQ_K, 0, 4, 58),
    SockFilter::new(BPF_LD_B_ABS, 0, 0, 54),
    SockFilter::new(BPF_JEQ_K, 1, 0, 135),
    SockFilter::new(BPF_JEQ_K, 0, 1, 136),
    SockFilter::new(BPF_RET_K, 0, 0, 0xffff),
    SockFilter::new(BPF_RET_K, 0, 0, 0),
];

/// A send-only packet socket. Created with protocol 0 and never bound to a protocol, so the
/// kernel delivers no frames to it and nothing is queued.
#[derive(Debug)]
pub(crate) struct PacketSender {
    socket: Socket,
}

impl PacketSender {
    /// Opens the socket (needs CAP_NET_RAW).
    pub(crate) fn new() -> io::Result<Self> {
        let socket = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))?;
        socket.set_nonblocking(true)?;
        Ok(PacketSender { socket })
    }

    /// Sends a complete Ethernet frame on `ifindex`.
    pub(crate) fn send(
        &self,
        ifindex: u32,
        ethertype: u16,
        dst: MacAddr,
        frame: &[u8],
    ) -> io::Result<()> {
        let addr = link_addr(ifindex, ethertype, dst)?;
        let mut tries = 0;
        loop {
            match self.socket.send_to(frame, &addr) {
                Ok(_) => return Ok(()),
                // The device queue is full: a short busy wait is cheaper than a poller here.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && tries < 100 => {
                    tries += 1;
                    std::thread::yield_now();
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A packet socket that receives frames of one EtherType arriving on one interface.
///
/// Closing a packet socket waits for an RCU grace period in the kernel (`synchronize_net` in
/// `packet_release`), typically 10 ms or more. So that the probe does not pay for it, dropping
/// the receiver hands the socket to tokio's blocking pool to be closed there.
#[derive(Debug)]
pub(crate) struct PacketReceiver {
    fd: Option<AsyncFd<Socket>>,
}

impl Drop for PacketReceiver {
    fn drop(&mut self) {
        let Some(fd) = self.fd.take() else { return };
        // Deregister from the reactor here (cheap); close elsewhere (slow).
        let socket = fd.into_inner();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn_blocking(move || drop(socket));
            }
            Err(_) => drop(socket),
        }
    }
}

impl PacketReceiver {
    /// Opens the socket and binds it to `ifindex` and `ethertype` (needs CAP_NET_RAW and a tokio
    /// runtime). The socket is created with protocol 0 and gets its protocol at bind, so it
    /// never sees frames from other interfaces.
    pub(crate) fn new(
        ifindex: u32,
        ethertype: u16,
        filter: Option<&[SockFilter]>,
    ) -> io::Result<Self> {
        let socket = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))?;
        socket.set_nonblocking(true)?;
        // The filter goes on before the bind: nothing is received before it applies.
        if let Some(filter) = filter {
            socket.attach_filter(filter)?;
        }
        socket.bind(&link_addr(ifindex, ethertype, [0; 6])?)?;
        #[allow(unsafe_code)]
        // SAFETY: the Socket owns a valid file descriptor, which is neither replaced nor closed
        // while the AsyncFd owns the Socket.
        let fd = unsafe { AsyncFd::register(socket) }.map_err(io::Error::from)?;
        Ok(PacketReceiver { fd: Some(fd) })
    }

    /// Receives one frame into `buf`; returns its length.
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self
            .fd
            .as_ref()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EBADF))?;
        loop {
            let mut guard = fd.readable().await?;
            match guard.try_io(|inner| inner.get_ref().read(buf)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}
