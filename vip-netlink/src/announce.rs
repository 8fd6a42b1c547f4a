//! The announcer: gratuitous ARP for IPv4 VIPs and unsolicited neighbour advertisements for
//! IPv6 VIPs, so that neighbours and switches learn the new holder at once.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use vip_core::{Error, MacAddr, Vip};

use crate::config::{AnnounceConfig, GarpForm};
use crate::errno;
use crate::packet_socket::PacketSender;
use crate::wire::{ArpOp, BROADCAST, ETH_P_ARP, ETH_P_IPV6, arp_frame, unsolicited_na};

/// A lazily opened send-only packet socket shared by the announcer and the probe. Opening it
/// needs CAP_NET_RAW; without it, the first announcement returns PermissionDenied.
#[derive(Debug, Default)]
pub(crate) struct SharedSender {
    slot: Mutex<Option<Arc<PacketSender>>>,
}

impl SharedSender {
    /// The socket, opened on first use.
    pub(crate) fn get(&self, interface: &str, operation: &str) -> Result<Arc<PacketSender>, Error> {
        let mut slot = self.slot.lock().map_err(|_| Error::Other {
            operation: operation.to_string(),
            message: "packet socket lock poisoned".to_string(),
            transient: false,
        })?;
        if let Some(s) = slot.as_ref() {
            return Ok(Arc::clone(s));
        }
        let s =
            Arc::new(PacketSender::new().map_err(|e| errno::from_io(&e, operation, interface))?);
        *slot = Some(Arc::clone(&s));
        Ok(s)
    }
}

/// One frame to send: EtherType, link-layer destination and the whole Ethernet frame.
pub(crate) struct Frame {
    pub(crate) ethertype: u16,
    pub(crate) dst: MacAddr,
    pub(crate) bytes: Vec<u8>,
}

/// The announcement frames for one VIP held by `mac`.
pub(crate) fn announcement_frames(form: GarpForm, mac: MacAddr, addr: IpAddr) -> Vec<Frame> {
    match addr {
        IpAddr::V4(v4) => {
            let request = || Frame {
                ethertype: ETH_P_ARP,
                dst: BROADCAST,
                bytes: arp_frame(ArpOp::Request, BROADCAST, mac, v4, [0; 6], v4).to_vec(),
            };
            let reply = || Frame {
                ethertype: ETH_P_ARP,
                dst: BROADCAST,
                bytes: arp_frame(ArpOp::Reply, BROADCAST, mac, v4, mac, v4).to_vec(),
            };
            match form {
                GarpForm::Request => vec![request()],
                GarpForm::Reply => vec![reply()],
                GarpForm::Both => vec![request(), reply()],
            }
        }
        IpAddr::V6(v6) => {
            let bytes = unsolicited_na(mac, v6);
            let dst = [0x33, 0x33, 0, 0, 0, 1];
            vec![Frame {
                ethertype: ETH_P_IPV6,
                dst,
                bytes,
            }]
        }
    }
}

/// A VIP with the interface facts the announcer needs.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) vip: Vip,
    pub(crate) ifindex: u32,
    pub(crate) mac: MacAddr,
}

/// Sends announcements as configured.
#[derive(Debug, Clone)]
pub(crate) struct Announcer {
    config: AnnounceConfig,
    sender: Arc<SharedSender>,
}

impl Announcer {
    pub(crate) fn new(config: AnnounceConfig, sender: Arc<SharedSender>) -> Self {
        Announcer { config, sender }
    }

    pub(crate) fn config(&self) -> &AnnounceConfig {
        &self.config
    }

    /// Sends one round: every frame for every target once.
    pub(crate) fn round(&self, targets: &[Target]) -> Result<(), Error> {
        for t in targets {
            let sender = self.sender.get(&t.vip.interface, "announce")?;
            for f in announcement_frames(self.config.garp_form, t.mac, t.vip.addr) {
                sender
                    .send(t.ifindex, f.ethertype, f.dst, &f.bytes)
                    .map_err(|e| errno::from_io(&e, "announce", &t.vip.interface))?;
            }
        }
        Ok(())
    }

    /// The configured burst: `repeat` rounds, `interval` apart (all at once when zero).
    pub(crate) async fn burst(&self, targets: &[Target]) -> Result<(), Error> {
        let rounds = self.config.repeat.max(1);
        for r in 0..rounds {
            self.round(targets)?;
            if r + 1 < rounds && !self.config.interval.is_zero() {
                tokio::time::sleep(self.config.interval).await;
            }
        }
        Ok(())
    }

    /// Re-announces `targets` every `refresh` period until the task is aborted.
    pub(crate) fn spawn_refresh(
        &self,
        targets: Vec<Target>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let period = self.config.refresh?;
        let me = self.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await; // the first tick is immediate; the burst already went out
            loop {
                tick.tick().await;
                if let Err(e) = me.round(&targets) {
                    tracing::warn!(error = %e, "periodic announcement failed");
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn forms_give_the_right_frames() {
        let mac = [2, 0, 0, 0, 0, 1];
        let v4: IpAddr = "198.51.100.10".parse().unwrap();
        let ops = |form| {
            announcement_frames(form, mac, v4)
                .iter()
                .map(|f| f.bytes[21])
                .collect::<Vec<_>>()
        };
        assert_eq!(ops(GarpForm::Request), vec![1]);
        assert_eq!(ops(GarpForm::Reply), vec![2]);
        assert_eq!(ops(GarpForm::Both), vec![1, 2]);
        let v6: IpAddr = "2001:db8::10".parse().unwrap();
        let f = announcement_frames(GarpForm::Reply, mac, v6);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].ethertype, ETH_P_IPV6);
    }
}
