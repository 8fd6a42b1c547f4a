//! Lab tests: the in-use probe says "held" (with the holder's MAC) while another namespace holds
//! the VIP, and "free" after it is removed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{lab, mac, run_in};
use vip_core::{AddressManager, InUse, Vip};
use vip_netlink::NetlinkAddressManager;

fn held_then_free(tag: &str, vip: &str) {
    let Some((_lab, nodes)) = lab(tag, &["holder", "prober"]) else {
        return;
    };
    let (holder, prober) = (&nodes[0], &nodes[1]);
    // The holder is an ordinary host with the address (added with `ip`, as an admin would).
    let plen = if vip.contains(':') { "128" } else { "32" };
    let cidr = format!("{vip}/{plen}");
    holder
        .run(&["ip", "addr", "add", &cidr, "dev", "eth0"])
        .unwrap();
    let holder_mac = mac(holder, "eth0");
    let vip_v = Vip::host(vip.parse().unwrap(), "eth0");
    let probe = |v: Vip| {
        run_in(prober, move || async move {
            let m = NetlinkAddressManager::with_defaults().unwrap();
            m.probe_in_use(&[v], Duration::from_millis(200))
                .await
                .unwrap()
        })
    };
    let held = probe(vip_v.clone());
    assert_eq!(
        held,
        InUse::Held {
            vip: vip_v.clone(),
            holder: Some(holder_mac)
        }
    );
    holder
        .run(&["ip", "addr", "del", &cidr, "dev", "eth0"])
        .unwrap();
    assert_eq!(probe(vip_v), InUse::Free);
}

#[test]
fn arp_probe_sees_holder_then_free() {
    held_then_free("vnl-probe4", "198.51.100.100");
}

#[test]
fn ns_probe_sees_holder_then_free() {
    held_then_free("vnl-probe6", "2001:db8::100");
}

#[test]
fn probe_ignores_our_own_address() {
    // The prober holding the VIP itself is not "another host".
    let Some((_lab, nodes)) = lab("vnl-probeself", &["a", "b"]) else {
        return;
    };
    let result = run_in(&nodes[0], || async {
        let m = NetlinkAddressManager::with_defaults().unwrap();
        let vips = [
            Vip::host("198.51.100.100".parse().unwrap(), "eth0"),
            Vip::host("2001:db8::100".parse().unwrap(), "eth0"),
        ];
        m.add(&vips).await.unwrap();
        m.probe_in_use(&vips, Duration::from_millis(100))
            .await
            .unwrap()
    });
    assert_eq!(result, InUse::Free);
}
