//! Test support: the VRRP frames of the keepalived captures in `tests/data`.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod fuzz_body;

use std::fs::File;
use std::net::IpAddr;
use std::path::PathBuf;

use pcap_file::pcap::PcapReader;
use pnet_packet::Packet as _;
use pnet_packet::ethernet::{EtherTypes, EthernetPacket};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;

/// One VRRP message with the IP facts the codec needs.
#[derive(Debug, Clone)]
pub struct Frame {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub vrrp: Vec<u8>,
}

/// The path of a capture in `tests/data`.
pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Every VRRP frame (IP protocol 112) of the capture `name`, in capture order.
pub fn vrrp_frames(name: &str) -> Vec<Frame> {
    let file = File::open(data_path(name)).unwrap();
    let mut reader = PcapReader::new(file).unwrap();
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.unwrap();
        let eth = EthernetPacket::new(&packet.data).unwrap();
        match eth.get_ethertype() {
            EtherTypes::Ipv4 => {
                let ip = Ipv4Packet::new(eth.payload()).unwrap();
                if ip.get_next_level_protocol() == IpNextHeaderProtocols::Vrrp {
                    frames.push(Frame {
                        src: ip.get_source().into(),
                        dst: ip.get_destination().into(),
                        ttl: ip.get_ttl(),
                        vrrp: ip.payload().to_vec(),
                    });
                }
            }
            EtherTypes::Ipv6 => {
                let ip = Ipv6Packet::new(eth.payload()).unwrap();
                if ip.get_next_header() == IpNextHeaderProtocols::Vrrp {
                    frames.push(Frame {
                        src: ip.get_source().into(),
                        dst: ip.get_destination().into(),
                        ttl: ip.get_hop_limit(),
                        vrrp: ip.payload().to_vec(),
                    });
                }
            }
            _ => {}
        }
    }
    frames
}
