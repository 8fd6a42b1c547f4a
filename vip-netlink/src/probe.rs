//! The in-use probe: does another host answer for a VIP on the segment right now?
//!
//! - IPv4: RFC 5227 ARP probes (sender IP 0.0.0.0, target IP = VIP, our MAC). Any ARP frame from
//!   another MAC whose sender IP is the VIP (a reply, a request, an announcement), or another
//!   host's probe for it, means "in use".
//! - IPv6: DAD-style neighbour solicitations (source `::`, to the VIP's solicited-node group).
//!   The holder answers with a neighbour advertisement to ff02::1; an NA for the VIP from
//!   another MAC, or another host's DAD solicitation for it, means "in use".
//!
//! A receive socket bound to the interface and the EtherType is opened before the first probe
//! is sent, so no answer is missed. The probe waits at most the timeout given: on a LAN a holder
//! answers within a millisecond or so, so a free address costs the whole timeout.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use vip_core::{Error, InUse, MacAddr, Vip};

use crate::announce::SharedSender;
use crate::config::ProbeConfig;
use crate::errno;
use crate::packet_socket::{ND_FILTER, PacketReceiver};
use crate::wire::{
    ArpOp, BROADCAST, ETH_P_ARP, ETH_P_IPV6, Seen, arp_frame, neighbour_solicitation,
    parse_arp_claim, parse_nd_claim,
};

/// Probes VIPs; counts malformed frames it dropped.
#[derive(Debug)]
pub(crate) struct Prober {
    config: ProbeConfig,
    sender: Arc<SharedSender>,
    malformed: AtomicU64,
}

impl Prober {
    pub(crate) fn new(config: ProbeConfig, sender: Arc<SharedSender>) -> Self {
        Prober {
            config,
            sender,
            malformed: AtomicU64::new(0),
        }
    }

    /// Malformed frames seen (and dropped) while probing.
    pub(crate) fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    /// Probes one VIP on `ifindex` from `mac`, waiting at most `timeout`.
    pub(crate) async fn probe(
        &self,
        vip: &Vip,
        ifindex: u32,
        mac: MacAddr,
        timeout: Duration,
    ) -> Result<InUse, Error> {
        let op = "probe in use";
        let iface = vip.interface.as_str();
        let (ethertype, dst, frame, filter) = match vip.addr {
            IpAddr::V4(v4) => (
                ETH_P_ARP,
                BROADCAST,
                arp_frame(
                    ArpOp::Request,
                    BROADCAST,
                    mac,
                    std::net::Ipv4Addr::UNSPECIFIED,
                    [0; 6],
                    v4,
                )
                .to_vec(),
                None,
            ),
            IpAddr::V6(v6) => {
                let f = neighbour_solicitation(mac, v6);
                let mut dst = [0u8; 6];
                dst.copy_from_slice(&f[0..6]);
                (ETH_P_IPV6, dst, f, Some(&ND_FILTER[..]))
            }
        };
        let rx = PacketReceiver::new(ifindex, ethertype, filter)
            .map_err(|e| errno::from_io(&e, op, iface))?;
        let sender = self.sender.get(iface, op)?;
        let probes = self.config.probes.max(1);
        let start = Instant::now();
        let deadline = start + timeout;
        let gap = timeout / probes;
        let mut sent = 0u32;
        let mut next_send = start;
        let mut buf = vec![0u8; 2048];
        loop {
            let now = Instant::now();
            if sent < probes && now >= next_send {
                sender
                    .send(ifindex, ethertype, dst, &frame)
                    .map_err(|e| errno::from_io(&e, op, iface))?;
                sent += 1;
                next_send = start + gap * sent;
            }
            if now >= deadline {
                return Ok(InUse::Free);
            }
            let wake = if sent < probes {
                next_send.min(deadline)
            } else {
                deadline
            };
            match tokio::time::timeout_at(wake, rx.recv(&mut buf)).await {
                Err(_elapsed) => continue,
                Ok(Err(e)) => return Err(errno::from_io(&e, op, iface)),
                Ok(Ok(n)) => {
                    let seen = match vip.addr {
                        IpAddr::V4(v4) => parse_arp_claim(&buf[..n], v4, mac),
                        IpAddr::V6(v6) => parse_nd_claim(&buf[..n], v6, mac),
                    };
                    match seen {
                        Seen::Claim(holder) => {
                            return Ok(InUse::Held {
                                vip: vip.clone(),
                                holder: Some(holder),
                            });
                        }
                        Seen::Malformed => {
                            self.malformed.fetch_add(1, Ordering::Relaxed);
                        }
                        Seen::Unrelated => {}
                    }
                }
            }
        }
    }
}
