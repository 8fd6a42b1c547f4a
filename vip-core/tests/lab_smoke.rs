//! The lab support itself: namespaces on a bridge reach each other, `enter` really runs inside
//! the namespace, and dropping the lab removes everything.
#![cfg(feature = "lab")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use vip_core::lab::Lab;

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
