//! docs/recipes/etcd-three-nodes.md, run as written: three namespaces, a real three-member etcd
//! (one member in each node's namespace, on the node's address, started by vip-etcd's harness)
//! and vipd in each with the recipe's config (only the control socket's path replaced). The
//! holder's vipd is killed, then the next holder is cut off with its etcd member; the VIP ends on
//! the third node, and the lab's overlap checker fails the test if two nodes ever held it at
//! once. Needs root, etcd-server and etcd-client; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;
mod recipe_support;

use std::time::{Duration, Instant};

use lab_support::{Cluster, wait_until};
use recipe_support::{block, replace_all};
use vip_etcd::harness::EtcdCluster;

const DOC: &str = include_str!("../../docs/recipes/etcd-three-nodes.md");
/// Long enough for a lease (TTL 2 s) to run out and the claim back-off to come round, on a
/// loaded machine; not a figure.
const LEASE_BOUND: Duration = Duration::from_secs(20);

#[test]
fn holder_killed_then_cut_off() {
    let tag = "rcp-etcd";
    let Some(mut c) = Cluster::new(tag, 3, 0) else {
        return;
    };
    let names: Vec<&str> = c.nodes.iter().map(|n| n.ns.name()).collect();
    let addrs: Vec<&str> = c.nodes.iter().map(|n| n.addr.as_str()).collect();
    let Some(_etcd) = EtcdCluster::start_in(tag, &names, &addrs).unwrap() else {
        return;
    };
    for i in 0..3 {
        let text = replace_all(
            &block(DOC, &format!("node{}.toml", i + 1)),
            &[("/run/vipd/vipd.sock", c.nodes[i].sock.to_str().unwrap())],
        );
        std::fs::write(&c.nodes[i].config, text).unwrap();
    }
    for i in 0..3 {
        c.start(i);
    }
    assert!(
        wait_until(LEASE_BOUND, || c.holders() == vec![0]),
        "node1 holds the VIP: holders {:?}\n{}",
        c.holders(),
        c.log(0)
    );
    assert_eq!(c.state_of(0, "web"), "master");

    // node1's vipd killed: the kernel drops its VIP by the deadline, node2 takes over after the
    // lease.
    let killed = Instant::now();
    c.signal(0, nix::sys::signal::Signal::SIGKILL);
    assert!(
        wait_until(Duration::from_secs(5), || !c.holders().contains(&0)),
        "the kernel removed the dead node's VIP"
    );
    let gone = killed.elapsed();
    assert!(
        wait_until(LEASE_BOUND, || c.holders() == vec![1]),
        "node2 holds the VIP: holders {:?}\n{}",
        c.holders(),
        c.log(1)
    );
    println!(
        "node1 killed: its VIP gone after {gone:?}, node2 holds after {:?}",
        killed.elapsed()
    );

    // node2 cut off with its etcd member: node3 (with node1's member, the majority) takes over.
    let cut = Instant::now();
    c.link(1, false);
    assert!(
        wait_until(LEASE_BOUND, || c.holders() == vec![2]),
        "node3 holds the VIP: holders {:?}\n{}",
        c.holders(),
        c.log(2)
    );
    println!("node2 cut off: node3 holds after {:?}", cut.elapsed());
    assert_eq!(c.state_of(2, "web"), "master");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(c.holders(), vec![2], "still node3 only");
}
