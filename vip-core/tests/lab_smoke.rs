//! The lab support itself: namespaces on a bridge reach each other, `enter` really runs inside
//! the namespace, dropping the lab removes everything, and the guard refuses to act outside it.
#![cfg(feature = "lab")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use vip_core::lab::{Lab, LabError, OverlapChecker};

#[test]
fn segment_connects_namespaces_and_drop_cleans_up() {
    let Some(mut lab) = Lab::new_or_skip("core-labsmoke").unwrap() else {
        return;
    };
    let a = lab.namespace("a").unwrap();
    let b = lab.namespace("b").unwrap();
    lab.segment(&[&a, &b]).unwrap();
    a.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])
        .unwrap();
    b.run(&["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"])
        .unwrap();
    a.run(&["ping", "-c1", "-W2", "198.51.100.2"]).unwrap();

    // /proc/self/net follows the calling thread's network namespace.
    let dev = a
        .enter(|| std::fs::read_to_string("/proc/thread-self/net/dev").unwrap())
        .unwrap();
    assert!(
        dev.contains("eth0:"),
        "eth0 not visible inside the namespace: {dev}"
    );

    let prefix = lab.prefix().to_string();
    drop(lab);
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&prefix),
        "namespaces left behind"
    );
}

#[test]
fn the_guard_refuses_host_addresses_and_foreign_namespaces() {
    let Some(mut lab) = Lab::new_or_skip("core-labguard").unwrap() else {
        return;
    };
    let a = lab.namespace("a").unwrap();
    lab.segment(&[&a]).unwrap();
    // The machine's own network (eth0 192.0.2.2/24, gateway .1): never configured by a lab.
    let err = a
        .run(&["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"])
        .unwrap_err();
    assert!(matches!(err, LabError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("outside the lab ranges"), "{err}");
    let err = a
        .spawn(&["ip", "netns", "exec", "not-ours", "sleep", "10"], None)
        .unwrap_err();
    assert!(
        err.to_string().contains("not one this lab created"),
        "{err}"
    );
    let listed = a.run(&["ip", "-o", "addr", "show", "dev", "eth0"]).unwrap();
    assert!(!listed.contains("192.0.2."), "{listed}");
}

#[test]
fn the_overlap_checker_counts_every_copy_from_kernel_events() {
    let Some(mut lab) = Lab::new_or_skip("core-laboverlap").unwrap() else {
        return;
    };
    let a = lab.namespace("a").unwrap();
    let b = lab.namespace("b").unwrap();
    lab.segment(&[&a, &b]).unwrap();
    let v4: std::net::IpAddr = "198.51.100.100".parse().unwrap();
    let v6: std::net::IpAddr = "2001:db8::100".parse().unwrap();
    // a holds the VIP before the checker starts: the initial dump must see it.
    a.run(&["ip", "addr", "add", "198.51.100.100/32", "dev", "eth0"])
        .unwrap();
    let checker = OverlapChecker::start(&[&a, &b], &[v4, v6]).unwrap();
    // An untagged copy with another prefix length and a label counts as much as vipd's.
    b.run(&[
        "ip",
        "addr",
        "add",
        "198.51.100.100/24",
        "dev",
        "eth0",
        "label",
        "eth0:x",
    ])
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    a.run(&["ip", "addr", "del", "198.51.100.100/32", "dev", "eth0"])
        .unwrap();
    b.run(&[
        "ip",
        "-6",
        "addr",
        "add",
        "2001:db8::100/64",
        "dev",
        "eth0",
        "nodad",
    ])
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let timeline = checker.finish().unwrap();
    let overlaps = timeline.overlaps();
    assert_eq!(overlaps.len(), 1, "{timeline:?}");
    assert_eq!(overlaps[0].vip, v4);
    assert_eq!(overlaps[0].holders, [0, 1]);
    assert!(timeline.two_holder_time() > std::time::Duration::ZERO);
    let samples = timeline.samples();
    assert_eq!(samples[0].1, [true, false], "{samples:?}");
    assert_eq!(samples.last().unwrap().1, [false, true], "{samples:?}");
    let last = timeline.changes.last().unwrap();
    assert_eq!(last.copies, [vec![0, 1], vec![0, 1]], "IPv6 copy counted");
    let caught = std::panic::catch_unwind(|| timeline.assert_never_two_holders());
    assert!(caught.is_err(), "the overlap must fail the assertion");
}
