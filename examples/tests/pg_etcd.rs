//! A two-node PostgreSQL 15 / repmgr pair (vip-pg's harness, see pg_support) whose vipd are
//! gated on a three-member etcd: one member on each database node and the third on a witness
//! namespace, so that either node with the witness is a quorum. The VIP follows the repmgr
//! primary (role probe) only while that node holds its etcd key: after a primary failure and
//! `repmgr standby promote` it moves to the new primary and the key names it; when that node
//! loses the etcd quorum (the other two members stopped) it drops the VIP by its deadline and
//! nobody holds it until the quorum is back. The lab's overlap checker asserts that both nodes
//! never hold the VIP at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pg_support;

use std::time::{Duration, Instant};

use pg_support::{PgLab, SOON, VIP, wait_until};
use vip_etcd::harness::EtcdCluster;
use vip_pg::harness::StopMode;

/// etcd members: node1, node2, the witness.
const ETCD: [&str; 3] = ["198.51.100.1", "198.51.100.2", "198.51.100.60"];

/// The key the instance `pg` holds (the default prefix).
const KEY: &str = "/vip/pg";

fn holder_in_etcd(etcd: &EtcdCluster) -> String {
    etcd.etcdctl(&["get", KEY, "--print-value-only"])
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn pg_pair_with_an_etcd_witness_vip_follows_the_primary_only_under_its_key() {
    let tag = "vipex-pgetcd";
    let Some(mut lab) = PgLab::with_witness(tag) else {
        return;
    };
    let names: Vec<String> = [
        lab.nodes[0].ns.name(),
        lab.nodes[1].ns.name(),
        lab.witness.as_ref().unwrap().name(),
    ]
    .map(str::to_owned)
    .to_vec();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let Some(etcd) = EtcdCluster::start_in(tag, &names, &ETCD).unwrap() else {
        return;
    };
    let endpoints = ETCD.map(|a| format!("\"http://{a}:2379\"")).join(", ");
    for i in 0..2 {
        lab.configure(
            i,
            &format!(
                "[instance.etcd]\nendpoints = [{endpoints}]\nmember = \"node{}\"\nttl = \"2s\"\n",
                i + 1
            ),
        );
    }
    lab.start_all_expect(0);
    assert_eq!(holder_in_etcd(&etcd), "node1", "the primary holds the key");

    // Primary failure: the database on node1 stops, repmgr promotes node2.
    let sampler = lab.sampler();
    lab.db().stop(0, StopMode::Fast).unwrap();
    let stopped = Instant::now();
    lab.db().promote(1).unwrap();
    lab.wait_sole_holder(1, SOON);
    println!(
        "pg + etcd: VIP on the new primary {:?} after the old one stopped",
        stopped.elapsed()
    );
    assert_eq!(
        holder_in_etcd(&etcd),
        "node2",
        "the new primary holds the key"
    );
    assert_eq!(lab.client_query("select pg_is_in_recovery()").unwrap(), "f");

    // node2 loses the etcd quorum (node1's member and the witness stop answering): it drops
    // the VIP by its deadline, and nobody holds it while the quorum is gone.
    etcd.signal(0, "STOP").unwrap();
    etcd.signal(2, "STOP").unwrap();
    let cut = Instant::now();
    let gone = wait_until(Duration::from_secs(5), || !lab.holds(1));
    let gone_after = cut.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    let during = (lab.holds(0), lab.holds(1));
    etcd.signal(0, "CONT").unwrap();
    etcd.signal(2, "CONT").unwrap();
    assert!(gone, "node2 dropped the VIP without an etcd quorum");
    assert_eq!(
        during,
        (false, false),
        "nobody holds the VIP without quorum"
    );
    println!("pg + etcd: node2 dropped {VIP} {gone_after:?} after losing the etcd quorum");
    // Quorum back: the primary takes the key and the VIP again.
    lab.wait_sole_holder(1, Duration::from_secs(30));
    assert_eq!(holder_in_etcd(&etcd), "node2");
    sampler.assert_never_two_holders();
}
