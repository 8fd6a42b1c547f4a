//! Patroni follow mode against a real three-member etcd, with the leader key written the way
//! Patroni's etcd3 DCS writes it: `/<namespace>/<scope>/leader` = member name, under a lease.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use vip_core::{ArbiterError, OwnershipArbiter, Standing};
use vip_etcd::harness::EtcdCluster;
use vip_etcd::{EtcdConfig, PatroniConfig, PatroniLeader};

const KEY: &str = "/service/batman/leader";

fn follower(cluster: &EtcdCluster, member: &str) -> PatroniLeader {
    PatroniLeader::new(PatroniConfig {
        etcd: EtcdConfig::new(cluster.endpoints()),
        namespace: "/service/".into(),
        scope: "batman".into(),
        member: member.into(),
        interval: Duration::from_millis(500),
    })
    .unwrap()
}

/// Writes the leader key as Patroni does: a lease of `ttl` seconds, then a put bound to it.
fn patroni_writes_leader(cluster: &EtcdCluster, member: &str, ttl: u64) -> String {
    let out = cluster
        .etcdctl(&["lease", "grant", &ttl.to_string()])
        .unwrap();
    // "lease 694d8a2b5c1f1234 granted with TTL(30s)"
    let lease = out.split_whitespace().nth(1).unwrap().to_string();
    cluster
        .etcdctl(&["put", &format!("--lease={lease}"), KEY, member])
        .unwrap();
    lease
}

async fn wait_not_held(f: &PatroniLeader, limit: Duration) -> (Standing, Instant) {
    let mut seen = 0;
    let start = Instant::now();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        let (s, st) = tokio::time::timeout(left, f.watch(seen))
            .await
            .expect("no loss in time");
        seen = s;
        if !matches!(st, Standing::Held(_)) {
            return (st, Instant::now());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_the_leader_key_through_a_failover() {
    let Some(cluster) = EtcdCluster::start("patroni").unwrap() else {
        return;
    };
    let pg1 = follower(&cluster, "pg1");
    let pg2 = follower(&cluster, "pg2");
    assert_eq!(pg1.key(), KEY);

    // No leader yet: nobody may hold the VIP.
    assert!(matches!(
        pg1.acquire().await,
        Err(ArbiterError::HeldElsewhere { .. })
    ));

    let lease1 = patroni_writes_leader(&cluster, "pg1", 30);
    let g = pg1.acquire().await.unwrap();
    let left = g.deadline - Instant::now();
    assert!(
        left > Duration::from_secs(20) && left < Duration::from_secs(30),
        "{left:?}"
    );
    match pg2.acquire().await.unwrap_err() {
        ArbiterError::HeldElsewhere { holder, .. } => assert_eq!(holder, "pg1"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        pg1.revoke_fenced(g.token).await,
        Err(ArbiterError::Refused { .. })
    ));

    // Patroni fails over: the old leader's lease goes, pg2 writes the key.
    let changed = Instant::now();
    cluster.etcdctl(&["lease", "revoke", &lease1]).unwrap();
    patroni_writes_leader(&cluster, "pg2", 30);
    let (st, at) = wait_not_held(&pg1, Duration::from_secs(5)).await;
    assert!(matches!(st, Standing::Lost { .. }), "{st:?}");
    println!("pg1 saw the leader key change after {:?}", at - changed);
    pg2.acquire().await.unwrap();
    assert!(matches!(
        pg1.acquire().await,
        Err(ArbiterError::HeldElsewhere { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_key_that_is_not_refreshed_is_dropped_before_its_lease_ends() {
    let Some(cluster) = EtcdCluster::start("patroni-ttl").unwrap() else {
        return;
    };
    let pg1 = follower(&cluster, "pg1");
    patroni_writes_leader(&cluster, "pg1", 5);
    let granted = Instant::now();
    let g = pg1.acquire().await.unwrap();
    assert!(
        g.deadline < granted + Duration::from_secs(5),
        "the deadline is inside the lease"
    );
    let (st, at) = wait_not_held(&pg1, Duration::from_secs(10)).await;
    assert!(matches!(st, Standing::Lost { .. }), "{st:?}");
    assert!(
        at < granted + Duration::from_secs(5),
        "lost before the key's lease ran out"
    );
}
