//! ARP frames (RFC 826): gratuitous requests and replies (announcements) and RFC 5227 probes.

use std::net::Ipv4Addr;

use pnet_base::MacAddr as PnetMac;
use pnet_packet::Packet;
use pnet_packet::arp::{
    ArpHardwareTypes, ArpOperation, ArpOperations, ArpPacket, MutableArpPacket,
};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use vip_core::MacAddr;

const ETH_HEADER: usize = 14;
const ARP_LEN: usize = 28;
/// Length of an ARP frame on Ethernet (without padding; the NIC pads to 60).
pub(crate) const ARP_FRAME_LEN: usize = ETH_HEADER + ARP_LEN;

/// ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArpOp {
    /// Request (1).
    Request,
    /// Reply (2).
    Reply,
}

fn pmac(m: MacAddr) -> PnetMac {
    PnetMac::new(m[0], m[1], m[2], m[3], m[4], m[5])
}

fn octets(m: PnetMac) -> MacAddr {
    [m.0, m.1, m.2, m.3, m.4, m.5]
}

/// An ARP frame to `eth_dst` from `sender_mac`.
///
/// - Gratuitous request: `ArpOp::Request`, sender IP = target IP = VIP, target MAC zero, to
///   broadcast.
/// - Gratuitous reply: `ArpOp::Reply`, sender IP = target IP = VIP, target MAC = sender MAC
///   (Linux treats a reply as gratuitous only then, as `arping -A` sends it).
/// - RFC 5227 probe: `ArpOp::Request`, sender IP 0.0.0.0, target IP = VIP, target MAC zero.
pub(crate) fn arp_frame(
    op: ArpOp,
    eth_dst: MacAddr,
    sender_mac: MacAddr,
    sender_ip: Ipv4Addr,
    target_mac: MacAddr,
    target_ip: Ipv4Addr,
) -> [u8; ARP_FRAME_LEN] {
    let mut frame = [0u8; ARP_FRAME_LEN];
    if let Some(mut eth) = MutableEthernetPacket::new(&mut frame) {
        eth.set_destination(pmac(eth_dst));
        eth.set_source(pmac(sender_mac));
        eth.set_ethertype(EtherTypes::Arp);
    }
    if let Some(mut arp) = MutableArpPacket::new(&mut frame[ETH_HEADER..]) {
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(match op {
            ArpOp::Request => ArpOperations::Request,
            ArpOp::Reply => ArpOperations::Reply,
        });
        arp.set_sender_hw_addr(pmac(sender_mac));
        arp.set_sender_proto_addr(sender_ip);
        arp.set_target_hw_addr(pmac(target_mac));
        arp.set_target_proto_addr(target_ip);
    }
    frame
}

/// The outcome of looking at a received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Another host claims or probes for the address; its MAC.
    Claim(MacAddr),
    /// Not about the address (or our own frame).
    Unrelated,
    /// Not a well-formed frame of the expected kind.
    Malformed,
}

/// Whether an ARP frame shows that a host other than `ours` uses (or probes for) `vip`: a
/// request or reply whose sender IP is the VIP, or an RFC 5227 probe (sender IP 0.0.0.0) for it.
pub(crate) fn parse_arp_claim(frame: &[u8], vip: Ipv4Addr, ours: MacAddr) -> Seen {
    let Some(eth) = EthernetPacket::new(frame) else {
        return Seen::Malformed;
    };
    if eth.get_ethertype() != EtherTypes::Arp {
        return Seen::Unrelated;
    }
    let Some(arp) = ArpPacket::new(eth.payload()) else {
        return Seen::Malformed;
    };
    if arp.get_hardware_type() != ArpHardwareTypes::Ethernet
        || arp.get_protocol_type() != EtherTypes::Ipv4
        || arp.get_hw_addr_len() != 6
        || arp.get_proto_addr_len() != 4
    {
        return Seen::Malformed;
    }
    let sender = octets(arp.get_sender_hw_addr());
    if sender == ours || octets(eth.get_source()) == ours {
        return Seen::Unrelated;
    }
    let op: ArpOperation = arp.get_operation();
    let spa = arp.get_sender_proto_addr();
    let claims = spa == vip
        || (op == ArpOperations::Request
            && spa.is_unspecified()
            && arp.get_target_proto_addr() == vip);
    if claims {
        Seen::Claim(sender)
    } else {
        Seen::Unrelated
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const A: MacAddr = [2, 0, 0, 0, 0, 0xa];
    const B: MacAddr = [2, 0, 0, 0, 0, 0xb];

    #[test]
    fn gratuitous_request_layout() {
        let vip: Ipv4Addr = "198.51.100.10".parse().unwrap();
        let f = arp_frame(ArpOp::Request, super::super::BROADCAST, A, vip, [0; 6], vip);
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &A);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[14..22], &[0, 1, 0x08, 0, 6, 4, 0, 1]);
        assert_eq!(&f[22..28], &A);
        assert_eq!(&f[28..32], &[198, 51, 100, 10]);
        assert_eq!(&f[38..42], &[198, 51, 100, 10]);
    }

    #[test]
    fn claims_are_recognised() {
        let vip: Ipv4Addr = "198.51.100.10".parse().unwrap();
        let other: Ipv4Addr = "198.51.100.11".parse().unwrap();
        let zero = Ipv4Addr::UNSPECIFIED;
        let reply = arp_frame(ArpOp::Reply, A, B, vip, A, zero);
        assert_eq!(parse_arp_claim(&reply, vip, A), Seen::Claim(B));
        // Our own frame is not a claim.
        assert_eq!(parse_arp_claim(&reply, vip, B), Seen::Unrelated);
        // Another host's probe for the VIP is a claim.
        let probe = arp_frame(
            ArpOp::Request,
            super::super::BROADCAST,
            B,
            zero,
            [0; 6],
            vip,
        );
        assert_eq!(parse_arp_claim(&probe, vip, A), Seen::Claim(B));
        // A request for another address is not.
        let req = arp_frame(
            ArpOp::Request,
            super::super::BROADCAST,
            B,
            other,
            [0; 6],
            vip,
        );
        assert_eq!(parse_arp_claim(&req, vip, A), Seen::Unrelated);
        assert_eq!(parse_arp_claim(&reply[..20], vip, A), Seen::Malformed);
        let mut bad = reply;
        bad[18] = 16; // hw len
        assert_eq!(parse_arp_claim(&bad, vip, A), Seen::Malformed);
    }
}
