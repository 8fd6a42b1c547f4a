//! The few system calls socket2 has no API for: interface index and addresses, `IPV6_CHECKSUM`,
//! `IPV6_RECVPKTINFO`, `IP_MULTICAST_IF` by index, `recvmsg` with ancillary data and
//! `recvmmsg`. Every `unsafe` block of the transport lives here.

#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::mem::{MaybeUninit, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};

/// The index of interface `name` in the calling thread's network namespace.
pub(crate) fn if_index(name: &str) -> io::Result<u32> {
    let c = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; if_nametoindex only
    // reads it.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(index)
    }
}

/// Every (interface name, address) pair of the calling thread's network namespace, in the
/// kernel's order (an interface's primary address comes first).
pub(crate) fn interface_addresses() -> io::Result<Vec<(String, IpAddr)>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a pointer to a list it allocates into `head`; we free it below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a non-null node of the list getifaddrs returned, valid until
        // freeifaddrs; we only read it.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: ifa_addr is non-null and points to a sockaddr whose family field is valid;
        // it is at least as large as the structure its family names.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        let addr = match family {
            libc::AF_INET => {
                // SAFETY: family AF_INET means the sockaddr is a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
            }
            libc::AF_INET6 => {
                // SAFETY: family AF_INET6 means the sockaddr is a sockaddr_in6.
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr))
            }
            _ => continue,
        };
        out.push((name, addr));
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed exactly once; no reference
    // into the list outlives this point (names and addresses were copied).
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `value` points to a live, initialised T of `len` bytes, which the kernel only
    // reads; `fd` is an open socket owned by the caller.
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `IPV6_CHECKSUM`: the kernel computes the checksum (IPv6 pseudo-header included) at byte
/// `offset` of every packet sent, whatever the field held, and verifies it on receipt.
pub(crate) fn set_ipv6_checksum(sock: &impl AsRawFd, offset: i32) -> io::Result<()> {
    setsockopt(
        sock.as_raw_fd(),
        libc::IPPROTO_IPV6,
        libc::IPV6_CHECKSUM,
        &offset,
    )
}

/// `IPV6_RECVPKTINFO`: every received packet carries its destination address and interface.
pub(crate) fn set_ipv6_recv_pktinfo(sock: &impl AsRawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    setsockopt(
        sock.as_raw_fd(),
        libc::IPPROTO_IPV6,
        libc::IPV6_RECVPKTINFO,
        &on,
    )
}

/// `IP_MULTICAST_IF` by interface index (`struct ip_mreqn`).
pub(crate) fn set_ipv4_multicast_if_index(sock: &impl AsRawFd, ifindex: u32) -> io::Result<()> {
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: libc::c_int::try_from(ifindex)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
    };
    setsockopt(
        sock.as_raw_fd(),
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_IF,
        &mreqn,
    )
}

/// Receives up to `bufs.len()` datagrams (at most 8) from a non-blocking socket in one
/// `recvmmsg`, one into each buffer, and sets `lens[i]` to the length of each (`usize::MAX` for
/// a datagram longer than its buffer). Returns how many were read; EAGAIN when none.
pub(crate) fn recv_batch(
    sock: &impl AsRawFd,
    bufs: &mut [Vec<u8>],
    lens: &mut [usize],
) -> io::Result<usize> {
    const MAX: usize = 8;
    let count = bufs.len().min(lens.len()).min(MAX);
    // SAFETY: all-zero iovec and mmsghdr values are valid "empty" values; the pointers are set
    // below.
    let mut iov: [libc::iovec; MAX] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; MAX] = unsafe { std::mem::zeroed() };
    for ((buf, io), msg) in bufs
        .iter_mut()
        .zip(iov.iter_mut())
        .zip(msgs.iter_mut())
        .take(count)
    {
        io.iov_base = buf.as_mut_ptr().cast();
        io.iov_len = buf.len();
        msg.msg_hdr.msg_iov = io;
        msg.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: the first `count` mmsghdrs each point to one live iovec describing a live buffer
    // of the stated length; no name or control buffers are passed; the kernel writes at most
    // those lengths and fills msg_len and msg_flags of the messages it returns.
    let n = unsafe {
        libc::recvmmsg(
            sock.as_raw_fd(),
            msgs.as_mut_ptr(),
            count as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    for (len, msg) in lens.iter_mut().zip(msgs.iter()).take(n) {
        *len = if msg.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
            usize::MAX
        } else {
            msg.msg_len as usize
        };
    }
    Ok(n)
}

/// One IPv6 datagram received with [`recv_v6`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecvV6 {
    /// Bytes written into the buffer.
    pub len: usize,
    /// True if the datagram was longer than the buffer.
    pub truncated: bool,
    /// The IP source address.
    pub src: Ipv6Addr,
    /// The IP destination address (`IPV6_PKTINFO`), if the kernel sent it.
    pub dst: Option<Ipv6Addr>,
    /// The hop limit it arrived with (`IPV6_HOPLIMIT`), if the kernel sent it.
    pub hop_limit: Option<u8>,
}

/// Room for the IPV6_PKTINFO and IPV6_HOPLIMIT control messages, with margin; u64 elements keep
/// it aligned for `cmsghdr`.
const CONTROL_WORDS: usize = 32;

/// Receives one datagram from a non-blocking raw IPv6 socket with `recvmsg`, returning its
/// source and the hop limit and destination from the ancillary data.
pub(crate) fn recv_v6(sock: &impl AsRawFd, buf: &mut [u8]) -> io::Result<RecvV6> {
    let mut name = MaybeUninit::<libc::sockaddr_in6>::zeroed();
    let mut control = [0u64; CONTROL_WORDS];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid "empty" value; the pointers are set just below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = name.as_mut_ptr().cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; CONTROL_WORDS]>();
    // SAFETY: every pointer in `msg` refers to a live local buffer of the stated length (name,
    // iov -> buf, control), all of which outlive the call; the kernel writes at most those
    // lengths.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    let len = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    // SAFETY: the kernel filled `name` (it was zeroed before, so any unwritten bytes are still
    // valid zeroes for this plain-data struct).
    let name = unsafe { name.assume_init() };
    let src = Ipv6Addr::from(name.sin6_addr.s6_addr);
    let mut out = RecvV6 {
        len,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        src,
        dst: None,
        hop_limit: None,
    };
    // SAFETY: `msg` was filled by a successful recvmsg, so msg_control/msg_controllen describe
    // the control messages inside `control`; CMSG_FIRSTHDR/CMSG_NXTHDR stay within them and
    // return null at the end, and each header's cmsg_len bounds its data.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let hdr = &*cmsg;
            let data = libc::CMSG_DATA(cmsg);
            let data_len = hdr.cmsg_len.saturating_sub(libc::CMSG_LEN(0) as usize);
            if hdr.cmsg_level == libc::IPPROTO_IPV6 {
                if hdr.cmsg_type == libc::IPV6_HOPLIMIT && data_len >= size_of::<libc::c_int>() {
                    let hops = std::ptr::read_unaligned(data.cast::<libc::c_int>());
                    out.hop_limit = u8::try_from(hops).ok();
                } else if hdr.cmsg_type == libc::IPV6_PKTINFO
                    && data_len >= size_of::<libc::in6_pktinfo>()
                {
                    let info = std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                    out.dst = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(out)
}

/// A non-blocking, close-on-exec eventfd (a steady loop's wake-up).
pub(crate) fn eventfd() -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: eventfd takes no pointers; a non-negative return is a new descriptor we own.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by eventfd and is owned by nothing else.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// Adds one to an eventfd (wakes whoever polls it). A full counter is as good as a wake-up.
pub(crate) fn eventfd_signal(fd: &impl AsRawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to a descriptor the caller holds open.
    let _ = unsafe { libc::write(fd.as_raw_fd(), (&raw const one).cast(), 8) };
}

/// Resets an eventfd's counter (a non-blocking read; nothing to read is fine).
pub(crate) fn eventfd_drain(fd: &impl AsRawFd) {
    let mut value: u64 = 0;
    // SAFETY: reads at most 8 bytes into a live u64 from a descriptor the caller holds open.
    let _ = unsafe { libc::read(fd.as_raw_fd(), (&raw mut value).cast(), 8) };
}

/// Waits up to `timeout` until `wake` is signalled, with `ppoll`. Returns whether it was.
pub(crate) fn wait_one(wake: &impl AsRawFd, timeout: std::time::Duration) -> io::Result<bool> {
    let mut fd = libc::pollfd {
        fd: wake.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos()),
    };
    // SAFETY: `fd` is one live pollfd and `ts` a live timespec; no signal mask.
    let n = unsafe { libc::ppoll(&raw mut fd, 1, &raw const ts, std::ptr::null()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd.revents & libc::POLLIN != 0)
}

/// Waits up to `timeout` until `sock` has data or `wake` is signalled, with `ppoll` (nanosecond
/// timeout). Returns whether each is readable; both false on timeout.
pub(crate) fn wait_two(
    sock: &impl AsRawFd,
    wake: &impl AsRawFd,
    timeout: std::time::Duration,
) -> io::Result<(bool, bool)> {
    let mut fds = [
        libc::pollfd {
            fd: sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: wake.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos()),
    };
    // SAFETY: `fds` is a live array of two pollfds and `ts` a live timespec; no signal mask.
    let n = unsafe { libc::ppoll(fds.as_mut_ptr(), 2, &raw const ts, std::ptr::null()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let readable =
        |p: &libc::pollfd| p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0;
    Ok((readable(&fds[0]), readable(&fds[1])))
}
