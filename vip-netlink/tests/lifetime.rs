//! Lab tests: a VIP given a valid lifetime is removed by the kernel when it runs out; `None`
//! makes it permanent again; an absent VIP is a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{find, lab, run_in};
use vip_core::{AddressManager, Error, Vip};
use vip_netlink::NetlinkAddressManager;

fn vips() -> Vec<Vip> {
    let mut v4 = Vip::host("198.51.100.10".parse().unwrap(), "eth0");
    v4.label = Some("eth0:vip".to_string());
    vec![v4, Vip::host("2001:db8::10".parse().unwrap(), "eth0")]
}

#[test]
fn the_kernel_removes_a_vip_whose_lifetime_runs_out() {
    let Some((_lab, nodes)) = lab("vnl-lft", &["a"]) else {
        return;
    };
    let a = &nodes[0];
    run_in(a, move || async move {
        let m = NetlinkAddressManager::with_defaults().unwrap();
        m.add(&vips()).await.unwrap();
        m.set_valid_lifetime(&vips(), Some(Duration::from_millis(2900)))
            .await
            .unwrap();
    });
    for addr in ["198.51.100.10", "2001:db8::10"] {
        let found = find(a, "eth0", addr);
        assert_eq!(found.len(), 1, "{addr}: {found:?}");
        assert!(
            found[0].valid_lft <= 2,
            "whole seconds, rounded down: {found:?}"
        );
    }
    // Replace semantics: the label and flags stay.
    assert_eq!(
        find(a, "eth0", "198.51.100.10")[0].label.as_deref(),
        Some("eth0:vip")
    );
    assert!(find(a, "eth0", "2001:db8::10")[0].nodad);
    // Nobody refreshes it: the kernel removes both (it checks lifetimes about once a second).
    let gone = vip_core::lab::wait_until(Duration::from_secs(10), || {
        find(a, "eth0", "198.51.100.10").is_empty() && find(a, "eth0", "2001:db8::10").is_empty()
    });
    assert!(
        gone,
        "the kernel removed the VIPs when their lifetime ran out"
    );
}

#[test]
fn refreshing_and_clearing_the_lifetime_keeps_the_vip() {
    let Some((_lab, nodes)) = lab("vnl-lft2", &["a"]) else {
        return;
    };
    let a = &nodes[0];
    run_in(a, move || async move {
        let m = NetlinkAddressManager::with_defaults().unwrap();
        m.add(&vips()).await.unwrap();
        for _ in 0..3 {
            m.set_valid_lifetime(&vips(), Some(Duration::from_secs(2)))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        m.set_valid_lifetime(&vips(), None).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
    });
    for addr in ["198.51.100.10", "2001:db8::10"] {
        let found = find(a, "eth0", addr);
        assert_eq!(
            found.len(),
            1,
            "{addr} survived its refreshed lifetimes: {found:?}"
        );
        assert_eq!(found[0].valid_lft, u64::from(u32::MAX), "forever again");
    }
    let err = run_in(a, move || async move {
        let m = NetlinkAddressManager::with_defaults().unwrap();
        m.remove(&vips()).await.unwrap();
        m.set_valid_lifetime(&vips(), Some(Duration::from_secs(2)))
            .await
            .unwrap_err()
    });
    assert!(matches!(err, Error::AddressNotAvailable { .. }), "{err:?}");
}
