//! Frames the announcer and the in-use probe send and recognise: gratuitous ARP, ARP probes,
//! unsolicited neighbour advertisements and DAD-style neighbour solicitations. Built and parsed
//! with pnet_packet; the ICMPv6 checksum is computed here.

mod arp;
mod checksum;
mod ndp;

pub(crate) use arp::{ArpOp, Seen, arp_frame, parse_arp_claim};
pub(crate) use ndp::{neighbour_solicitation, parse_nd_claim, unsolicited_na};

/// Ethernet broadcast.
pub(crate) const BROADCAST: [u8; 6] = [0xff; 6];
/// EtherType of ARP.
pub(crate) const ETH_P_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub(crate) const ETH_P_IPV6: u16 = 0x86dd;
