//! Lab tests: an announcement moves a client's neighbour entry from node A's MAC to node B's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{lab, neigh_lladdr, run_in};
use vip_core::{AddressManager, Vip};
use vip_netlink::{AnnounceConfig, GarpForm, ManagerConfig, NetlinkAddressManager};

/// Client, A and B on one segment; the client's entry for `vip` points at A (stale, as after
/// an earlier conversation); B adds the VIP and announces; the entry must now show B's MAC.
fn moves_entry(tag: &str, vip: &str, client_addr: &str, form: GarpForm) {
    let Some((_lab, nodes)) = lab(tag, &["client", "a", "b"]) else {
        return;
    };
    let (client, a, b) = (&nodes[0], &nodes[1], &nodes[2]);
    client
        .run(&["ip", "addr", "add", client_addr, "dev", "eth0"])
        .unwrap();
    let mac_a = a.mac("eth0").unwrap();
    let mac_b = b.mac("eth0").unwrap();
    client
        .run(&[
            "ip", "neigh", "replace", vip, "lladdr", &mac_a, "dev", "eth0", "nud", "stale",
        ])
        .unwrap();
    assert_eq!(
        neigh_lladdr(client, "eth0", vip).as_deref(),
        Some(mac_a.as_str())
    );

    let vip_v = Vip::host(vip.parse().unwrap(), "eth0");
    let config = ManagerConfig {
        announce: AnnounceConfig {
            garp_form: form,
            repeat: 1,
            ..AnnounceConfig::default()
        },
        ..ManagerConfig::default()
    };
    let vip_add = vip_v.clone();
    run_in(b, move || async move {
        let m = NetlinkAddressManager::with_defaults().unwrap();
        m.add(std::slice::from_ref(&vip_add)).await.unwrap();
    });
    // Control: adding alone does not move the client's entry.
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(
        neigh_lladdr(client, "eth0", vip).as_deref(),
        Some(mac_a.as_str())
    );
    run_in(b, move || async move {
        let m = NetlinkAddressManager::new(config).unwrap();
        m.announce(std::slice::from_ref(&vip_v)).await.unwrap();
    });
    // The frame crosses a veth pair and a bridge; give the client a moment to process it.
    let mut seen = None;
    for _ in 0..50 {
        seen = neigh_lladdr(client, "eth0", vip);
        if seen.as_deref() == Some(mac_b.as_str()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(seen.as_deref(), Some(mac_b.as_str()), "A was {mac_a}");
}

#[test]
fn gratuitous_arp_request_moves_neighbour_entry() {
    moves_entry(
        "vnl-garpreq",
        "198.51.100.100",
        "198.51.100.1/24",
        GarpForm::Request,
    );
}

#[test]
fn gratuitous_arp_reply_moves_neighbour_entry() {
    moves_entry(
        "vnl-garprep",
        "198.51.100.100",
        "198.51.100.1/24",
        GarpForm::Reply,
    );
}

#[test]
fn unsolicited_na_moves_neighbour_entry() {
    moves_entry(
        "vnl-na",
        "2001:db8::100",
        "2001:db8::1/64",
        GarpForm::Request,
    );
}

/// The ARP frames from `mac` with sender IP `vip` queued on `sock`: their operations.
fn drain_arp(sock: &socket2::Socket, mac: [u8; 6], vip: [u8; 4]) -> Vec<u8> {
    use std::io::Read;
    let mut ops = Vec::new();
    let mut buf = [0u8; 1600];
    loop {
        match (&*sock).read(&mut buf) {
            Ok(n) if n >= 42 => {
                if buf[12..14] == [0x08, 0x06] && buf[22..28] == mac && buf[28..32] == vip {
                    ops.push(buf[21]);
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return ops,
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn announcer_repeats_refreshes_and_stops_on_remove() {
    use std::time::Duration;
    let Some((_lab, nodes)) = lab("vnl-refresh", &["client", "b"]) else {
        return;
    };
    let (client, b) = (&nodes[0], &nodes[1]);
    let mac_b = common::mac(b, "eth0");
    let sock = client
        .enter(|| {
            let s = socket2::Socket::new(
                socket2::Domain::PACKET,
                socket2::Type::RAW,
                Some(socket2::Protocol::from(i32::from(0x0806u16.to_be()))),
            )
            .unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .unwrap();
    let config = ManagerConfig {
        announce: AnnounceConfig {
            garp_form: GarpForm::Both,
            repeat: 3,
            interval: Duration::from_millis(20),
            refresh: Some(Duration::from_millis(100)),
        },
        ..ManagerConfig::default()
    };
    let (burst, refreshed, after_remove) = run_in(b, move || async move {
        let vip = [Vip::host("198.51.100.100".parse().unwrap(), "eth0")];
        let m = NetlinkAddressManager::new(config).unwrap();
        m.add(&vip).await.unwrap();
        m.announce(&vip).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let burst = drain_arp(&sock, mac_b, [198, 51, 100, 100]);
        tokio::time::sleep(Duration::from_millis(350)).await;
        let refreshed = drain_arp(&sock, mac_b, [198, 51, 100, 100]);
        m.remove(&vip).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _in_flight = drain_arp(&sock, mac_b, [198, 51, 100, 100]);
        tokio::time::sleep(Duration::from_millis(300)).await;
        (
            burst,
            refreshed,
            drain_arp(&sock, mac_b, [198, 51, 100, 100]),
        )
    });
    // Three rounds of request (1) then reply (2).
    assert_eq!(burst, vec![1, 2, 1, 2, 1, 2]);
    // Refresh rounds (one round each) while held: about three in 350 ms.
    assert!(
        refreshed.len() >= 4 && refreshed.len() % 2 == 0,
        "{refreshed:?}"
    );
    // None once removed.
    assert!(after_remove.is_empty(), "{after_remove:?}");
}
