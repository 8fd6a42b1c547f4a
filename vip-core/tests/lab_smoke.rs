//! The lab support itself: namespaces on a bridge reach each other, `enter` really runs inside
//! the namespace, dropping the lab removes everything, and the guard refuses to act outside it.
#![cfg(feature = "lab")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use vip_core::lab::{Lab, LabError};

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
