//! The etcd arbiter under network partitions: three etcd members and two arbiter nodes, each
//! in its own network namespace on one bridge; nftables rules in the switch namespace cut it.
//! The holder, cut off with one etcd member, must report the loss before its deadline D, and
//! the node on the majority side must get the grant only after D.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use vip_core::lab::{Lab, Ns};
use vip_core::{ArbiterError, OwnershipArbiter, Standing};
use vip_etcd::harness::EtcdCluster;
use vip_etcd::{EtcdArbiter, EtcdConfig};

const ETCD: [&str; 3] = ["198.51.100.11", "198.51.100.12", "198.51.100.13"];

/// A tokio runtime whose worker thread lives in `ns`, so that every socket its tasks open is
/// in that namespace.
fn runtime_in(ns: &Ns) -> tokio::runtime::Runtime {
    ns.enter(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
    .unwrap()
}

/// Cuts the bridge between the ports of `side` and the rest (`one_way`: only frames from the
/// rest to `side` are dropped).
fn cut(sw: &Ns, side: &[&str], rest: &[&str], one_way: bool) {
    let set = |ports: &[&str]| format!("{{ {} }}", ports.join(", "));
    sw.run(&["nft", "add table bridge vipcut"]).unwrap();
    sw.run(&[
        "nft",
        "add chain bridge vipcut cutfw { type filter hook forward priority 0 ; }",
    ])
    .unwrap();
    sw.run(&[
        "nft",
        &format!(
            "add rule bridge vipcut cutfw iifname {} oifname {} drop",
            set(rest),
            set(side)
        ),
    ])
    .unwrap();
    if !one_way {
        sw.run(&[
            "nft",
            &format!(
                "add rule bridge vipcut cutfw iifname {} oifname {} drop",
                set(side),
                set(rest)
            ),
        ])
        .unwrap();
    }
}

fn heal(sw: &Ns) {
    sw.run(&["nft", "delete table bridge vipcut"]).unwrap();
}

fn partition_case(tag: &str, one_way: bool) {
    let Some(mut lab) = Lab::new_or_skip(tag).unwrap() else {
        return;
    };
    let names = ["e0", "e1", "e2", "a", "b"];
    let nodes: Vec<Ns> = names.iter().map(|n| lab.namespace(n).unwrap()).collect();
    let sw = lab.segment(&nodes.iter().collect::<Vec<_>>()).unwrap(); // ports p0..p4
    let addrs = [ETCD[0], ETCD[1], ETCD[2], "198.51.100.21", "198.51.100.22"];
    for (n, a) in nodes.iter().zip(addrs) {
        n.run(&["ip", "addr", "add", &format!("{a}/24"), "dev", "eth0"])
            .unwrap();
    }
    let ns_names: Vec<&str> = nodes[..3].iter().map(|n| n.name()).collect();
    let Some(_cluster) = EtcdCluster::start_in(tag, &ns_names, &ETCD).unwrap() else {
        return;
    };

    let mut config = EtcdConfig::new(ETCD.iter().map(|a| format!("http://{a}:2379")).collect());
    config.ttl = Duration::from_secs(3);
    let rt_a = runtime_in(&nodes[3]);
    let rt_b = runtime_in(&nodes[4]);
    let a = std::sync::Arc::new(EtcdArbiter::new(config.clone(), "vi1", "node-a").unwrap());
    let b = std::sync::Arc::new(EtcdArbiter::new(config, "vi1", "node-b").unwrap());

    let a2 = a.clone();
    let ga = rt_a
        .block_on(rt_a.spawn(async move { a2.acquire().await }))
        .unwrap()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2)); // a few renewals

    // a and e0 on one side; b, e1 and e2 (the majority) on the other.
    cut(&sw, &["p0", "p3"], &["p1", "p2", "p4"], one_way);
    let cut_at = Instant::now();

    let b2 = b.clone();
    let b_task = rt_b.spawn(async move {
        let start = Instant::now();
        loop {
            match b2.acquire().await {
                Ok(g) => return (Instant::now(), g),
                Err(ArbiterError::HeldElsewhere { .. } | ArbiterError::Unavailable { .. }) => {
                    assert!(
                        start.elapsed() < Duration::from_secs(30),
                        "b never got the grant"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("{e}"),
            }
        }
    });
    let a3 = a.clone();
    let a_task = rt_a.spawn(async move {
        let (mut seen, mut st) = a3.watch(0).await;
        let mut deadline = ga.deadline;
        loop {
            match st {
                Standing::Held(g) => deadline = g.deadline,
                Standing::Lost { reason } => return (Instant::now(), deadline, reason),
                Standing::NotHeld => panic!("released"),
            }
            (seen, st) = tokio::time::timeout(Duration::from_secs(20), a3.watch(seen))
                .await
                .expect("a never reported the loss");
        }
    });
    let (a_lost_at, a_deadline, reason) = rt_a.block_on(a_task).unwrap();
    let (b_at, gb) = rt_b.block_on(b_task).unwrap();
    println!(
        "{tag}: a lost the grant {:?} after the cut, {:?} before its D ({reason}); b got it {:?} after the cut, {:?} after a's D",
        a_lost_at - cut_at,
        a_deadline.saturating_duration_since(a_lost_at),
        b_at - cut_at,
        b_at.saturating_duration_since(a_deadline),
    );
    assert!(
        a_lost_at < a_deadline,
        "the cut-off holder reports the loss before D"
    );
    assert!(
        b_at > a_deadline,
        "never two holders: b is granted only after a's D"
    );
    assert!(gb.token > ga.token);

    heal(&sw);
    let a4 = a.clone();
    let again = rt_a.block_on(rt_a.spawn(async move {
        let start = Instant::now();
        loop {
            match a4.acquire().await {
                Err(ArbiterError::HeldElsewhere { holder, .. }) => return holder,
                Err(ArbiterError::Unavailable { .. })
                    if start.elapsed() < Duration::from_secs(20) =>
                {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                other => panic!("after healing: {other:?}"),
            }
        }
    }));
    assert_eq!(again.unwrap(), "node-b");
    drop(rt_a);
    drop(rt_b);
}

#[test]
fn symmetric_partition_of_the_holder_never_gives_two_holders() {
    partition_case("etcdsym", false);
}

#[test]
fn one_way_loss_towards_the_holder_never_gives_two_holders() {
    partition_case("etcdoneway", true);
}
