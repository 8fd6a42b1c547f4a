//! The IPv4 header around VRRP: parsed on receipt (raw IPv4 sockets return it) and written on
//! sending (`IP_HDRINCL`, so that the source address, TTL 255 and TOS 0xc0 are exactly ours and
//! the pseudo-header checksum is computed over the address actually sent; the identification is
//! ours too, so the kernel does not pick one per send).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU16, Ordering};

use crate::wire::{VRRP_PROTOCOL, VRRP_TTL};

/// Length of the IPv4 header we write (no options).
pub(crate) const HEADER_LEN: usize = 20;

/// The TOS keepalived sends VRRP with (precedence "internetwork control").
pub(crate) const TOS: u8 = 0xc0;

/// The IP facts of a received IPv4 VRRP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ipv4Info {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// TTL it arrived with.
    pub ttl: u8,
    /// Where the VRRP message starts and ends in the buffer.
    pub payload: std::ops::Range<usize>,
}

/// Parses the IPv4 header at the start of `datagram` (as a raw socket returns it). `None` if it
/// is not a well-formed IPv4 header carrying VRRP: too short, wrong version, header length
/// below 20 or beyond the data, total length beyond the data.
pub(crate) fn parse(datagram: &[u8]) -> Option<Ipv4Info> {
    let head = datagram.get(..HEADER_LEN)?;
    let version = head[0] >> 4;
    let ihl = usize::from(head[0] & 0x0f) * 4;
    if version != 4 || ihl < HEADER_LEN || ihl > datagram.len() {
        return None;
    }
    // Linux delivers raw IPv4 packets with the total length field in network order as sent.
    let total = usize::from(u16::from_be_bytes([head[2], head[3]]));
    if total < ihl || total > datagram.len() || head[9] != VRRP_PROTOCOL {
        return None;
    }
    Some(Ipv4Info {
        src: Ipv4Addr::new(head[12], head[13], head[14], head[15]),
        dst: Ipv4Addr::new(head[16], head[17], head[18], head[19]),
        ttl: head[8],
        payload: ihl..total,
    })
}

/// Flags and fragment offset of every header we write: Don't Fragment, offset 0. An advert is
/// then an atomic datagram (RFC 6864 section 4), whose identification the source may set to
/// any value.
pub(crate) const FLAGS_DF: u16 = 0x4000;

/// Writes a 20-byte IPv4 header for a VRRP message of `payload_len` bytes into `out[..20]`,
/// with identification `id` and Don't Fragment set.
///
/// With `IP_HDRINCL` the kernel always fills in the total length and the header checksum
/// (raw(7); `raw_send_hdrinc` in net/ipv4/raw.c), so the checksum is left at zero here. It
/// keeps a non-zero identification as it is; for zero it calls `ip_select_ident`, which costs a
/// keyed hash per send when DF is clear. Callers pass a non-zero `id` (see [`Identifier`]), so
/// the kernel does not touch the field.
pub(crate) fn write_header(
    out: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload_len: usize,
    id: u16,
) {
    let total = u16::try_from(HEADER_LEN + payload_len).unwrap_or(u16::MAX);
    let Some(h) = out.get_mut(..HEADER_LEN) else {
        return;
    };
    h.fill(0);
    h[0] = 0x45;
    h[1] = TOS;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&FLAGS_DF.to_be_bytes());
    h[8] = VRRP_TTL;
    h[9] = VRRP_PROTOCOL;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
}

/// The identifications of one sender's IPv4 headers: a 16-bit counter that skips 0, one value
/// per encoded datagram. Uniqueness is not needed (atomic datagrams, RFC 6864), only a value the
/// kernel does not replace.
#[derive(Debug)]
pub(crate) struct Identifier(AtomicU16);

impl Identifier {
    /// A counter whose first value is 1.
    pub(crate) fn new() -> Identifier {
        Identifier(AtomicU16::new(1))
    }

    /// The next identification: never 0 (after 65535 comes 1).
    pub(crate) fn next(&self) -> u16 {
        loop {
            let id = self.0.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn write_then_parse() {
        let mut buf = [0u8; 40];
        let (src, dst) = (Ipv4Addr::new(198, 51, 100, 1), Ipv4Addr::new(224, 0, 0, 18));
        write_header(&mut buf, src, dst, 20, 0x1234);
        let info = parse(&buf).unwrap();
        assert_eq!((info.src, info.dst, info.ttl), (src, dst, 255));
        assert_eq!(info.payload, 20..40);
        assert_eq!(buf[1], 0xc0);
        assert_eq!(&buf[4..6], &[0x12, 0x34], "identification");
        assert_eq!(&buf[6..8], &[0x40, 0x00], "DF set, offset 0");
        assert_eq!(&buf[10..12], &[0, 0], "checksum left to the kernel");
    }

    #[test]
    fn identifications_are_never_zero() {
        let ids = Identifier::new();
        assert_eq!(ids.next(), 1);
        ids.0.store(u16::MAX, Ordering::Relaxed);
        assert_eq!(ids.next(), u16::MAX);
        assert_eq!(ids.next(), 1, "0 is skipped on wrap-around");
        assert_eq!(ids.next(), 2);
    }

    #[test]
    fn rejects_malformed_headers() {
        let mut buf = [0u8; 40];
        write_header(&mut buf, Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 20, 1);
        assert!(parse(&buf[..19]).is_none(), "short");
        assert!(parse(&buf[..39]).is_none(), "total length beyond data");
        let mut bad = buf;
        bad[0] = 0x44;
        assert!(parse(&bad).is_none(), "ihl below 20");
        let mut bad = buf;
        bad[0] = 0x65;
        assert!(parse(&bad).is_none(), "version 6");
        let mut bad = buf;
        bad[9] = 17;
        assert!(parse(&bad).is_none(), "not VRRP");
        let mut bad = buf;
        bad[0] = 0x4f;
        assert!(parse(&bad).is_none(), "ihl beyond data");
        // Any bytes at all: never a panic.
        for n in 0..40 {
            let _ = parse(&buf[..n]);
        }
    }
}
