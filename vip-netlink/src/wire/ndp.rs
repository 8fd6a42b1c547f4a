//! IPv6 neighbour discovery frames (RFC 4861): unsolicited neighbour advertisements (Override
//! flag, target link-layer address option, to ff02::1) and DAD-style neighbour solicitations
//! (source `::`, to the target's solicited-node group, RFC 4862 5.4.2).

use std::net::Ipv6Addr;

use pnet_base::MacAddr as PnetMac;
use pnet_packet::Packet;
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, MutableNeighborSolicitPacket, NdpOptionTypes, NeighborAdvertFlags,
    NeighborAdvertPacket, NeighborSolicitPacket,
};
use pnet_packet::icmpv6::{Icmpv6Code, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::{Ipv6Packet, MutableIpv6Packet};
use vip_core::MacAddr;

use super::Seen;
use super::checksum::icmpv6;

const ETH_HEADER: usize = 14;
const IPV6_HEADER: usize = 40;
/// NA: 24 bytes of message and an 8-byte target link-layer address option.
const NA_LEN: usize = 32;
/// NS without options (a DAD-style solicitation carries no source link-layer option).
const NS_LEN: usize = 24;

/// ff02::1, all nodes.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

fn pmac(m: MacAddr) -> PnetMac {
    PnetMac::new(m[0], m[1], m[2], m[3], m[4], m[5])
}

/// The Ethernet address of an IPv6 multicast group (RFC 2464 7): 33:33 and the last 32 bits.
fn multicast_mac(group: Ipv6Addr) -> MacAddr {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// The solicited-node multicast group of `addr` (RFC 4291 2.7.1).
pub(crate) fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// Writes the Ethernet and IPv6 headers (hop limit 255, as ND requires).
fn headers(frame: &mut [u8], src_mac: MacAddr, src: Ipv6Addr, dst: Ipv6Addr, payload_len: u16) {
    if let Some(mut eth) = MutableEthernetPacket::new(frame) {
        eth.set_destination(pmac(multicast_mac(dst)));
        eth.set_source(pmac(src_mac));
        eth.set_ethertype(EtherTypes::Ipv6);
    }
    if let Some(mut ip) = MutableIpv6Packet::new(&mut frame[ETH_HEADER..]) {
        ip.set_version(6);
        ip.set_payload_length(payload_len);
        ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
        ip.set_hop_limit(255);
        ip.set_source(src);
        ip.set_destination(dst);
    }
}

/// Fills in the ICMPv6 checksum of the message that starts after the IPv6 header.
fn finish_checksum(frame: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) {
    let msg = &mut frame[ETH_HEADER + IPV6_HEADER..];
    msg[2] = 0;
    msg[3] = 0;
    let sum = icmpv6(src, dst, msg);
    msg[2..4].copy_from_slice(&sum.to_be_bytes());
}

/// An unsolicited neighbour advertisement for `target` from `mac`, sent from `target` to
/// ff02::1 with the Override flag and a target link-layer address option.
pub(crate) fn unsolicited_na(mac: MacAddr, target: Ipv6Addr) -> Vec<u8> {
    let mut frame = vec![0u8; ETH_HEADER + IPV6_HEADER + NA_LEN];
    headers(&mut frame, mac, target, ALL_NODES, NA_LEN as u16);
    if let Some(mut na) = MutableNeighborAdvertPacket::new(&mut frame[ETH_HEADER + IPV6_HEADER..]) {
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_icmpv6_code(Icmpv6Code(0));
        na.set_flags(NeighborAdvertFlags::Override);
        na.set_target_addr(target);
    }
    // Target link-layer address option: type 2, length 1 (8 bytes), the MAC.
    let opt = ETH_HEADER + IPV6_HEADER + 24;
    frame[opt] = NdpOptionTypes::TargetLLAddr.0;
    frame[opt + 1] = 1;
    frame[opt + 2..opt + 8].copy_from_slice(&mac);
    finish_checksum(&mut frame, target, ALL_NODES);
    frame
}

/// A DAD-style neighbour solicitation for `target` from `mac`: source `::`, destination the
/// target's solicited-node group, no options.
pub(crate) fn neighbour_solicitation(mac: MacAddr, target: Ipv6Addr) -> Vec<u8> {
    let dst = solicited_node(target);
    let mut frame = vec![0u8; ETH_HEADER + IPV6_HEADER + NS_LEN];
    headers(&mut frame, mac, Ipv6Addr::UNSPECIFIED, dst, NS_LEN as u16);
    if let Some(mut ns) = MutableNeighborSolicitPacket::new(&mut frame[ETH_HEADER + IPV6_HEADER..])
    {
        ns.set_icmpv6_type(Icmpv6Types::NeighborSolicit);
        ns.set_icmpv6_code(Icmpv6Code(0));
        ns.set_target_addr(target);
    }
    finish_checksum(&mut frame, Ipv6Addr::UNSPECIFIED, dst);
    frame
}

/// The target link-layer address option of an NA, if present and well formed.
fn target_ll_option(options: &[u8]) -> Option<MacAddr> {
    let mut rest = options;
    while rest.len() >= 8 {
        let len = usize::from(rest[1]) * 8;
        if len == 0 || len > rest.len() {
            return None;
        }
        if rest[0] == NdpOptionTypes::TargetLLAddr.0 && len >= 8 {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&rest[2..8]);
            return Some(mac);
        }
        rest = &rest[len..];
    }
    None
}

/// Whether a frame shows that a host other than `ours` holds (or probes for) `vip`: a neighbour
/// advertisement for it, or a DAD solicitation for it from another MAC. Frames with a bad
/// checksum or hop limit are malformed.
pub(crate) fn parse_nd_claim(frame: &[u8], vip: Ipv6Addr, ours: MacAddr) -> Seen {
    let Some(eth) = EthernetPacket::new(frame) else {
        return Seen::Malformed;
    };
    if eth.get_ethertype() != EtherTypes::Ipv6 {
        return Seen::Unrelated;
    }
    let src_mac = {
        let m = eth.get_source();
        [m.0, m.1, m.2, m.3, m.4, m.5]
    };
    if src_mac == ours {
        return Seen::Unrelated;
    }
    let Some(ip) = Ipv6Packet::new(eth.payload()) else {
        return Seen::Malformed;
    };
    if ip.get_next_header() != IpNextHeaderProtocols::Icmpv6 {
        return Seen::Unrelated;
    }
    let plen = usize::from(ip.get_payload_length());
    let Some(msg) = eth.payload().get(IPV6_HEADER..IPV6_HEADER + plen) else {
        return Seen::Malformed;
    };
    let Some(icmp) = Icmpv6Packet::new(msg) else {
        return Seen::Malformed;
    };
    let kind = icmp.get_icmpv6_type();
    if kind != Icmpv6Types::NeighborAdvert && kind != Icmpv6Types::NeighborSolicit {
        return Seen::Unrelated;
    }
    if ip.get_hop_limit() != 255 || icmpv6(ip.get_source(), ip.get_destination(), msg) != 0 {
        return Seen::Malformed;
    }
    if kind == Icmpv6Types::NeighborAdvert {
        let Some(na) = NeighborAdvertPacket::new(msg) else {
            return Seen::Malformed;
        };
        if na.get_target_addr() != vip {
            return Seen::Unrelated;
        }
        let holder = msg.get(24..).and_then(target_ll_option).unwrap_or(src_mac);
        if holder == ours {
            return Seen::Unrelated;
        }
        Seen::Claim(holder)
    } else {
        let Some(ns) = NeighborSolicitPacket::new(msg) else {
            return Seen::Malformed;
        };
        if ns.get_target_addr() == vip && ip.get_source().is_unspecified() {
            Seen::Claim(src_mac)
        } else {
            Seen::Unrelated
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const A: MacAddr = [2, 0, 0, 0, 0, 0xa];
    const B: MacAddr = [2, 0, 0, 0, 0, 0xb];

    #[test]
    fn solicited_node_group() {
        let a: Ipv6Addr = "2001:db8::1:2345:6789".parse().unwrap();
        assert_eq!(
            solicited_node(a),
            "ff02::1:ff45:6789".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            multicast_mac(solicited_node(a)),
            [0x33, 0x33, 0xff, 0x45, 0x67, 0x89]
        );
    }

    #[test]
    fn na_layout_and_checksum() {
        let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let f = unsolicited_na(B, vip);
        assert_eq!(f.len(), 14 + 40 + 32);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(f[14 + 7], 255);
        let msg = &f[54..];
        assert_eq!(msg[0], 136);
        assert_eq!(msg[4], 0x20); // Override only
        assert_eq!(icmpv6(vip, ALL_NODES, msg), 0);
        let pkt = Icmpv6Packet::new(msg).unwrap();
        let mut zeroed = msg.to_vec();
        zeroed[2] = 0;
        zeroed[3] = 0;
        let zp = Icmpv6Packet::new(&zeroed).unwrap();
        assert_eq!(
            pkt.get_checksum(),
            pnet_packet::icmpv6::checksum(&zp, &vip, &ALL_NODES)
        );
        assert_eq!(parse_nd_claim(&f, vip, A), Seen::Claim(B));
        assert_eq!(parse_nd_claim(&f, vip, B), Seen::Unrelated);
        let other: Ipv6Addr = "2001:db8::11".parse().unwrap();
        assert_eq!(parse_nd_claim(&f, other, A), Seen::Unrelated);
        let mut bad = f.clone();
        bad[60] ^= 1;
        assert_eq!(parse_nd_claim(&bad, vip, A), Seen::Malformed);
        assert_eq!(parse_nd_claim(&f[..40], vip, A), Seen::Malformed);
    }

    #[test]
    fn dad_solicitation() {
        let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let f = neighbour_solicitation(A, vip);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0xff, 0, 0, 0x10]);
        assert_eq!(f.len(), 14 + 40 + 24);
        // Another host's DAD probe is a claim; our own is not.
        assert_eq!(parse_nd_claim(&f, vip, B), Seen::Claim(A));
        assert_eq!(parse_nd_claim(&f, vip, A), Seen::Unrelated);
    }
}
