//! The Internet checksum (RFC 1071) over the IPv6 pseudo-header (RFC 8200 8.1).

use std::net::Ipv6Addr;

/// One's-complement sum of 16-bit words, folded.
fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// The ICMPv6 checksum of `message` (with its checksum field zero, or as received: a valid
/// received message then yields 0) between `src` and `dst`.
pub(crate) fn icmpv6(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut acc = sum(0, &src.octets());
    acc = sum(acc, &dst.octets());
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    acc += len >> 16;
    acc += len & 0xffff;
    acc += 58; // next header: ICMPv6
    acc = sum(acc, message);
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pnet_packet::icmpv6::Icmpv6Packet;

    #[test]
    fn matches_pnet_and_verifies_to_zero() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "ff02::1".parse().unwrap();
        let mut msg = vec![136u8, 0, 0, 0, 0x20, 0, 0, 0];
        msg.extend_from_slice(&src.octets());
        msg.extend_from_slice(&[2, 1, 2, 0, 0, 0, 0, 7]);
        let ours = icmpv6(src, dst, &msg);
        let pkt = Icmpv6Packet::new(&msg).unwrap();
        assert_eq!(ours, pnet_packet::icmpv6::checksum(&pkt, &src, &dst));
        msg[2..4].copy_from_slice(&ours.to_be_bytes());
        assert_eq!(icmpv6(src, dst, &msg), 0);
        // Odd length: padded with a zero byte, as pnet does.
        let odd = [1u8, 2, 0, 0, 5];
        let pkt = Icmpv6Packet::new(&odd).unwrap();
        assert_eq!(
            icmpv6(src, dst, &odd),
            pnet_packet::icmpv6::checksum(&pkt, &src, &dst)
        );
    }
}
