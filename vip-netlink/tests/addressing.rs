//! Lab tests: add, add again, list, remove, remove again, against the kernel; admin addresses
//! untouched; typed errors for a missing interface and a missing capability.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{find, lab, run_in};
use vip_core::{AddressManager, Error, Vip};
use vip_netlink::{ManagerConfig, NetlinkAddressManager, Tag, VIP_IFA_PROTO, VIP_IFA_RT_PRIORITY};

fn v4_vip() -> Vip {
    let mut vip = Vip::host("198.51.100.100".parse().unwrap(), "eth0");
    vip.label = Some("eth0:vip".to_string());
    vip
}

fn v6_vip() -> Vip {
    Vip::host("2001:db8::100".parse().unwrap(), "eth0")
}

#[test]
fn add_list_remove_ipv4_and_ipv6_idempotent() {
    let Some((_lab, nodes)) = lab("vnl-addr", &["a"]) else {
        return;
    };
    let a = &nodes[0];
    let config = ManagerConfig {
        noprefixroute: true,
        ..ManagerConfig::default()
    };
    let vips = vec![v4_vip(), v6_vip()];
    let (listed, listed_again) = {
        let vips = vips.clone();
        run_in(a, move || async move {
            let m = NetlinkAddressManager::new(config).unwrap();
            m.add(&vips).await.unwrap();
            m.add(&vips).await.unwrap(); // again: idempotent
            let listed = m.list("eth0").await.unwrap();
            let m2 = NetlinkAddressManager::with_defaults().unwrap();
            // A fresh manager (a restarted daemon) sees the same tagged VIPs.
            let listed_again = m2.list("eth0").await.unwrap();
            (listed, listed_again)
        })
    };
    let v4 = find(a, "eth0", "198.51.100.100");
    assert_eq!(v4.len(), 1, "{v4:?}");
    assert_eq!(v4[0].prefixlen, 32);
    assert_eq!(v4[0].label.as_deref(), Some("eth0:vip"));
    assert!(v4[0].noprefixroute);
    let v6 = find(a, "eth0", "2001:db8::100");
    assert_eq!(v6.len(), 1, "{v6:?}");
    assert_eq!(v6[0].prefixlen, 128);
    assert!(v6[0].nodad && v6[0].noprefixroute, "{v6:?}");
    let mut listed = listed;
    listed.sort();
    let mut expected = vips.clone();
    expected.sort();
    assert_eq!(listed, expected);
    let mut listed_again = listed_again;
    listed_again.sort();
    assert_eq!(listed_again, expected);

    let after = {
        let vips = vips.clone();
        run_in(a, move || async move {
            let m = NetlinkAddressManager::with_defaults().unwrap();
            m.remove(&vips).await.unwrap();
            m.remove(&vips).await.unwrap(); // again: idempotent
            m.list("eth0").await.unwrap()
        })
    };
    assert!(after.is_empty(), "{after:?}");
    assert!(find(a, "eth0", "198.51.100.100").is_empty());
    assert!(find(a, "eth0", "2001:db8::100").is_empty());
}

#[test]
fn other_prefixes_are_supported() {
    let Some((_lab, nodes)) = lab("vnl-prefix", &["a"]) else {
        return;
    };
    let a = &nodes[0];
    let vips = vec![
        Vip::with_prefix("203.0.113.7".parse().unwrap(), 24, "eth0"),
        Vip::with_prefix("2001:db8:1::7".parse().unwrap(), 64, "eth0"),
    ];
    let listed = {
        let vips = vips.clone();
        run_in(a, move || async move {
            let m = NetlinkAddressManager::with_defaults().unwrap();
            m.add(&vips).await.unwrap();
            m.list("eth0").await.unwrap()
        })
    };
    assert_eq!(find(a, "eth0", "203.0.113.7")[0].prefixlen, 24);
    assert_eq!(find(a, "eth0", "2001:db8:1::7")[0].prefixlen, 64);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().all(|v| v.label.is_none()));
}

#[test]
fn admin_addresses_are_neither_listed_nor_touched() {
    let Some((_lab, nodes)) = lab("vnl-admin", &["a"]) else {
        return;
    };
    let a = &nodes[0];
    a.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])
        .unwrap();
    a.run(&["ip", "addr", "add", "198.51.100.200/32", "dev", "eth0"])
        .unwrap();
    a.run(&[
        "ip",
        "addr",
        "add",
        "2001:db8::200/128",
        "dev",
        "eth0",
        "nodad",
    ])
    .unwrap();
    let (listed_before, listed_after) = run_in(a, || async {
        let m = NetlinkAddressManager::with_defaults().unwrap();
        let before = m.list("eth0").await.unwrap();
        // Adding an address the admin already has succeeds and leaves it as it is; removing
        // it does not delete the admin's address.
        let admin = vec![
            Vip::host("198.51.100.200".parse().unwrap(), "eth0"),
            Vip::host("2001:db8::200".parse().unwrap(), "eth0"),
        ];
        m.add(&admin).await.unwrap();
        let ours = Vip::host("198.51.100.100".parse().unwrap(), "eth0");
        m.add(std::slice::from_ref(&ours)).await.unwrap();
        m.remove(&admin).await.unwrap();
        let after = m.list("eth0").await.unwrap();
        (before, after)
    });
    assert!(listed_before.is_empty(), "{listed_before:?}");
    assert_eq!(
        listed_after,
        vec![Vip::host("198.51.100.100".parse().unwrap(), "eth0")]
    );
    assert_eq!(find(a, "eth0", "198.51.100.1").len(), 1);
    assert_eq!(find(a, "eth0", "198.51.100.200").len(), 1);
    assert_eq!(find(a, "eth0", "2001:db8::200").len(), 1);
}

#[test]
fn missing_interface_is_a_typed_error() {
    let Some((_lab, nodes)) = lab("vnl-nodev", &["a"]) else {
        return;
    };
    let errors = run_in(&nodes[0], || async {
        let m = NetlinkAddressManager::with_defaults().unwrap();
        let vip = Vip::host("198.51.100.100".parse().unwrap(), "nosuch0");
        let vips = std::slice::from_ref(&vip);
        vec![
            m.add(vips).await.unwrap_err(),
            m.list("nosuch0").await.unwrap_err(),
            m.announce(vips).await.unwrap_err(),
            m.probe_in_use(vips, std::time::Duration::from_millis(10))
                .await
                .unwrap_err(),
        ]
    });
    for e in errors {
        assert!(
            matches!(&e, Error::InterfaceNotFound { interface } if interface == "nosuch0"),
            "{e:?}"
        );
        assert!(e.hint().is_some());
    }
}

#[test]
fn invalid_vips_are_config_errors() {
    let Some((_lab, nodes)) = lab("vnl-badvip", &["a"]) else {
        return;
    };
    let errors = run_in(&nodes[0], || async {
        let m = NetlinkAddressManager::with_defaults().unwrap();
        let mut labelled_v6 = Vip::host("2001:db8::1".parse().unwrap(), "eth0");
        labelled_v6.label = Some("eth0:x".into());
        let too_long = Vip::with_prefix("198.51.100.1".parse().unwrap(), 33, "eth0");
        vec![
            m.add(&[labelled_v6]).await.unwrap_err(),
            m.add(&[too_long]).await.unwrap_err(),
        ]
    });
    for e in errors {
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
    }
}

#[test]
fn without_cap_net_admin_add_is_permission_denied() {
    let Some((_lab, nodes)) = lab("vnl-noperm", &["a"]) else {
        return;
    };
    let a = &nodes[0];
    // Capabilities are per thread on Linux: this namespace thread drops CAP_NET_ADMIN from its
    // effective set before it opens the netlink socket, and the kernel checks both the opener's
    // and the sender's capabilities.
    let add = run_in(a, || async {
        caps::drop(
            None,
            caps::CapSet::Effective,
            caps::Capability::CAP_NET_ADMIN,
        )
        .unwrap();
        assert!(
            !caps::has_cap(
                None,
                caps::CapSet::Effective,
                caps::Capability::CAP_NET_ADMIN
            )
            .unwrap()
        );
        let m = NetlinkAddressManager::with_defaults().unwrap();
        let vip = Vip::host("198.51.100.100".parse().unwrap(), "eth0");
        let add = m.add(std::slice::from_ref(&vip)).await;
        let list = m.list("eth0").await; // reading needs no capability
        assert!(list.is_ok(), "{list:?}");
        add
    });
    let e = add.unwrap_err();
    assert!(matches!(e, Error::PermissionDenied { .. }), "{e:?}");
    assert!(e.to_string().contains("CAP_NET_ADMIN"), "{e}");
    assert!(find(a, "eth0", "198.51.100.100").is_empty());
}

#[test]
fn without_cap_net_raw_announce_is_permission_denied() {
    let Some((_lab, nodes)) = lab("vnl-noraw", &["a"]) else {
        return;
    };
    let result = run_in(&nodes[0], || async {
        caps::drop(None, caps::CapSet::Effective, caps::Capability::CAP_NET_RAW).unwrap();
        let m = NetlinkAddressManager::with_defaults().unwrap();
        let vip = Vip::host("198.51.100.100".parse().unwrap(), "eth0");
        m.add(std::slice::from_ref(&vip)).await.unwrap();
        m.announce(std::slice::from_ref(&vip)).await
    });
    let e = result.unwrap_err();
    assert!(matches!(e, Error::PermissionDenied { .. }), "{e:?}");
    assert!(e.to_string().contains("CAP_NET_RAW"), "{e}");
}

#[test]
fn route_priority_tag_for_old_kernels_works_and_is_distinct() {
    let Some((_lab, nodes)) = lab("vnl-oldtag", &["a"]) else {
        return;
    };
    let (old_list, new_list) = run_in(&nodes[0], || async {
        let old = NetlinkAddressManager::new(ManagerConfig {
            tag: Tag::RoutePriority(VIP_IFA_RT_PRIORITY),
            ..ManagerConfig::default()
        })
        .unwrap();
        let new = NetlinkAddressManager::new(ManagerConfig {
            tag: Tag::Proto(VIP_IFA_PROTO),
            ..ManagerConfig::default()
        })
        .unwrap();
        let vips = [
            Vip::host("198.51.100.100".parse().unwrap(), "eth0"),
            Vip::host("2001:db8::100".parse().unwrap(), "eth0"),
        ];
        old.add(&vips).await.unwrap();
        let lists = (
            old.list("eth0").await.unwrap(),
            new.list("eth0").await.unwrap(),
        );
        // The other scheme does not own them, so it does not remove them.
        new.remove(&vips).await.unwrap();
        assert_eq!(old.list("eth0").await.unwrap().len(), 2);
        old.remove(&vips).await.unwrap();
        assert!(old.list("eth0").await.unwrap().is_empty());
        lists
    });
    assert_eq!(old_list.len(), 2, "{old_list:?}");
    assert!(new_list.is_empty(), "{new_list:?}");
}

#[test]
fn recreated_interface_is_found_again() {
    let Some((_lab, nodes)) = lab("vnl-recreate", &["a"]) else {
        return;
    };
    let a = nodes[0].clone();
    run_in(&nodes[0], move || async move {
        let m = NetlinkAddressManager::with_defaults().unwrap();
        let vip = [Vip::host("198.51.100.100".parse().unwrap(), "eth0")];
        m.add(&vip).await.unwrap(); // caches eth0's index
        let a2 = a.clone();
        tokio::task::spawn_blocking(move || {
            a2.run(&["ip", "link", "del", "eth0"]).unwrap();
            a2.run(&[
                "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
            ])
            .unwrap();
            a2.run(&["ip", "link", "set", "eth0", "up"]).unwrap();
        })
        .await
        .unwrap();
        // The cached index is gone (ENODEV): the manager looks the name up again.
        m.add(&vip).await.unwrap();
        assert_eq!(m.list("eth0").await.unwrap(), vip.to_vec());
    });
    assert_eq!(find(&nodes[0], "eth0", "198.51.100.100").len(), 1);
}
