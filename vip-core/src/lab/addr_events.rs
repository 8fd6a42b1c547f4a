//! Kernel address events of one network namespace, read from a `NETLINK_ROUTE` socket opened
//! inside it (subscribed to the IPv4 and IPv6 address groups), plus address dumps on the same
//! socket.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    setsockopt, sockopt,
};

const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// One address on one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct AddrKey {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
}

/// What one netlink message said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AddrMsg {
    /// An address appeared (event, `seq` 0) or is present (dump reply, `seq` of the request).
    New { seq: u32, key: AddrKey },
    /// An address went away.
    Del { key: AddrKey },
    /// The end of the dump with this sequence number.
    Done { seq: u32 },
}

/// A netlink route socket in the namespace of the thread that opened it.
#[derive(Debug)]
pub(super) struct AddrSocket {
    fd: OwnedFd,
}

impl AddrSocket {
    /// Opens the socket in the calling thread's current network namespace, subscribed to
    /// address changes, non-blocking, with a 4 MiB receive buffer (so that a burst never
    /// overflows it; an overflow is reported as an error by [`AddrSocket::drain`]).
    pub fn open() -> io::Result<AddrSocket> {
        let fd = nix::sys::socket::socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        let size = 4 << 20;
        if setsockopt(&fd, sockopt::RcvBufForce, &size).is_err() {
            setsockopt(&fd, sockopt::RcvBuf, &size)?;
        }
        bind(
            fd.as_raw_fd(),
            &NetlinkAddr::new(0, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR),
        )?;
        Ok(AddrSocket { fd })
    }

    /// The socket, for polling.
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Asks for a dump of every address (replies carry `seq`).
    pub fn request_dump(&self, seq: u32) -> io::Result<()> {
        let mut msg = Vec::with_capacity(24);
        msg.extend_from_slice(&24u32.to_ne_bytes());
        msg.extend_from_slice(&RTM_GETADDR.to_ne_bytes());
        msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        msg.extend_from_slice(&seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(&[0u8; 8]); // ifaddrmsg, family AF_UNSPEC: all families
        send(self.fd.as_raw_fd(), &msg, MsgFlags::empty())?;
        Ok(())
    }

    /// Reads every datagram queued now and appends its messages to `out`.
    ///
    /// # Errors
    /// Any read error, including `ENOBUFS` (the kernel dropped events: the record would have a
    /// gap), and any netlink error message.
    pub fn drain(&self, out: &mut Vec<AddrMsg>) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(n) => parse(buf.get(..n).unwrap_or_default(), out)?,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(io::Error::from(e)),
            }
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("netlink: {what}"))
}

/// Parses the netlink messages of one datagram.
pub(super) fn parse(mut b: &[u8], out: &mut Vec<AddrMsg>) -> io::Result<()> {
    while b.len() >= 16 {
        let len = u32_at(b, 0).ok_or_else(|| bad("short header"))? as usize;
        let kind = u16_at(b, 4).ok_or_else(|| bad("short header"))?;
        let seq = u32_at(b, 8).ok_or_else(|| bad("short header"))?;
        if len < 16 || len > b.len() {
            return Err(bad("message length out of range"));
        }
        let body = b.get(16..len).unwrap_or_default();
        match kind {
            NLMSG_DONE => out.push(AddrMsg::Done { seq }),
            NLMSG_OVERRUN => return Err(bad("overrun (events lost)")),
            NLMSG_ERROR => {
                let code = u32_at(body, 0).map_or(0, |c| c as i32);
                if code != 0 {
                    return Err(io::Error::from_raw_os_error(-code));
                }
            }
            RTM_NEWADDR | RTM_DELADDR => {
                if let Some(key) = parse_addr(body) {
                    out.push(if kind == RTM_NEWADDR {
                        AddrMsg::New { seq, key }
                    } else {
                        AddrMsg::Del { key }
                    });
                }
            }
            _ => {}
        }
        b = b.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    Ok(())
}

/// The address of an `ifaddrmsg` with its attributes (IPv4: `IFA_LOCAL`, the address itself,
/// else `IFA_ADDRESS`; IPv6: `IFA_ADDRESS`).
fn parse_addr(body: &[u8]) -> Option<AddrKey> {
    let family = *body.first()?;
    let prefix_len = *body.get(1)?;
    let ifindex = u32_at(body, 4)?;
    let mut attrs = body.get(8..)?;
    let (mut local, mut address) = (None, None);
    while attrs.len() >= 4 {
        let len = usize::from(u16_at(attrs, 0)?);
        let kind = u16_at(attrs, 2)?;
        if len < 4 || len > attrs.len() {
            return None;
        }
        let data = attrs.get(4..len)?;
        let addr = match (family, data.len()) {
            (AF_INET, 4) => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(data).ok()?))),
            (AF_INET6, 16) => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(data).ok()?))),
            _ => None,
        };
        match kind {
            IFA_LOCAL => local = addr,
            IFA_ADDRESS => address = addr,
            _ => {}
        }
        attrs = attrs.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    let addr = if family == AF_INET {
        local.or(address)
    } else {
        address
    }?;
    Some(AddrKey {
        ifindex,
        addr,
        prefix_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u16, seq: u32, family: u8, ifindex: u32, attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = vec![family, 32, 0, 0];
        body.extend_from_slice(&ifindex.to_ne_bytes());
        for (t, d) in attrs {
            body.extend_from_slice(&((4 + d.len()) as u16).to_ne_bytes());
            body.extend_from_slice(&t.to_ne_bytes());
            body.extend_from_slice(d);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn parses_ipv4_local_ipv6_address_and_done() {
        let mut dgram = msg(
            RTM_NEWADDR,
            0,
            AF_INET,
            2,
            &[
                (IFA_ADDRESS, &[198, 51, 100, 9]),
                (IFA_LOCAL, &[198, 51, 100, 100]),
            ],
        );
        let v6: Ipv6Addr = "2001:db8::100".parse().unwrap();
        dgram.extend(msg(
            RTM_DELADDR,
            0,
            AF_INET6,
            3,
            &[(IFA_ADDRESS, &v6.octets())],
        ));
        dgram.extend(msg(NLMSG_DONE, 7, 0, 0, &[]));
        let mut out = Vec::new();
        parse(&dgram, &mut out).unwrap();
        let key = |ifindex, addr: &str| AddrKey {
            ifindex,
            addr: addr.parse().unwrap(),
            prefix_len: 32,
        };
        assert_eq!(
            out,
            [
                AddrMsg::New {
                    seq: 0,
                    key: key(2, "198.51.100.100")
                },
                AddrMsg::Del {
                    key: key(3, "2001:db8::100")
                },
                AddrMsg::Done { seq: 7 },
            ]
        );
    }

    #[test]
    fn an_error_message_or_overrun_is_an_error() {
        let mut err = msg(NLMSG_ERROR, 1, 0, 0, &[]);
        err[16..20].copy_from_slice(&(-105i32).to_ne_bytes());
        assert_eq!(
            parse(&err, &mut Vec::new()).unwrap_err().raw_os_error(),
            Some(105)
        );
        assert!(parse(&msg(NLMSG_OVERRUN, 0, 0, 0, &[]), &mut Vec::new()).is_err());
        assert!(
            parse(
                &[40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                &mut Vec::new()
            )
            .is_err()
        );
    }
}
