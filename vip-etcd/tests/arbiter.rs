//! The etcd arbiter against a real three-member etcd (Debian's etcd-server) on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use vip_core::{ArbiterError, OwnershipArbiter, Standing};
use vip_etcd::harness::EtcdCluster;
use vip_etcd::{EtcdArbiter, EtcdConfig};

fn config(cluster: &EtcdCluster, ttl: u64) -> EtcdConfig {
    let mut c = EtcdConfig::new(cluster.endpoints());
    c.ttl = Duration::from_secs(ttl);
    c
}

/// Waits for the next standing after `seen`, at most `limit`.
async fn next(a: &EtcdArbiter, seen: u64, limit: Duration) -> Option<(u64, Standing)> {
    tokio::time::timeout(limit, a.watch(seen)).await.ok()
}

/// Waits until the arbiter publishes a loss; returns it and the deadline held just before.
async fn wait_lost(a: &EtcdArbiter, limit: Duration) -> (String, Instant, Instant) {
    let (mut seen, mut standing) = a.watch(0).await;
    let mut deadline = match &standing {
        Standing::Held(g) => g.deadline,
        other => panic!("not held: {other:?}"),
    };
    let start = Instant::now();
    loop {
        match standing {
            Standing::Held(g) => deadline = g.deadline,
            Standing::Lost { reason } => return (reason, deadline, Instant::now()),
            Standing::NotHeld => panic!("released unexpectedly"),
        }
        let left = limit.saturating_sub(start.elapsed());
        (seen, standing) = next(a, seen, left).await.expect("no loss within the limit");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_renew_release() {
    let Some(cluster) = EtcdCluster::start("acq").unwrap() else {
        return;
    };
    let a = EtcdArbiter::new(config(&cluster, 2), "vi1", "node-a").unwrap();
    let g = a.acquire().await.unwrap();
    assert!(g.deadline > Instant::now());
    assert!(
        g.deadline < Instant::now() + Duration::from_secs(2),
        "D is within the TTL"
    );
    let kv = a.client().get(a.key()).await.unwrap().unwrap();
    assert_eq!(kv.value, "node-a");
    assert_eq!(
        kv.create_revision as u64, g.token.0,
        "the token is the key's revision"
    );
    assert_ne!(kv.lease, 0, "the key is under a lease");
    // Acquire again while held: the same grant.
    assert_eq!(a.acquire().await.unwrap().token, g.token);

    // Renewals move the deadline well past the first TTL.
    tokio::time::sleep(Duration::from_secs(5)).await;
    match a.watch(0).await.1 {
        Standing::Held(now) => {
            assert_eq!(now.token, g.token);
            assert!(
                now.deadline > g.deadline + Duration::from_secs(3),
                "renewed"
            );
            assert!(now.deadline > Instant::now());
        }
        other => panic!("not held after 5 s: {other:?}"),
    }

    a.release().await.unwrap();
    assert_eq!(a.watch(0).await.1, Standing::NotHeld);
    assert!(
        a.client().get(a.key()).await.unwrap().is_none(),
        "release revokes: the key is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_node_refused_then_fenced_revoke_lets_it_in_at_once() {
    let Some(cluster) = EtcdCluster::start("fence").unwrap() else {
        return;
    };
    let a = EtcdArbiter::new(config(&cluster, 10), "vi1", "node-a").unwrap();
    let b = EtcdArbiter::new(config(&cluster, 10), "vi1", "node-b").unwrap();
    let ga = a.acquire().await.unwrap();
    let (seen, _) = a.watch(0).await;

    let refused = b.acquire().await.unwrap_err();
    let ArbiterError::HeldElsewhere { holder, token } = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(holder, "node-a");
    assert_eq!(token, Some(ga.token));
    // Still refused a moment later: the holder renews.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(matches!(
        b.acquire().await,
        Err(ArbiterError::HeldElsewhere { .. })
    ));

    // The fencer reported node-a fenced: revoke its lease; b gets in without waiting 10 s.
    let t = Instant::now();
    b.revoke_fenced(ga.token).await.unwrap();
    let gb = b.acquire().await.unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "did not wait out the TTL"
    );
    assert!(gb.token > ga.token, "tokens grow with each holder");

    // The old holder hears of it.
    let mut seen = seen;
    loop {
        let (s, st) = next(&a, seen, Duration::from_secs(5))
            .await
            .expect("a hears the loss");
        seen = s;
        if let Standing::Lost { reason } = st {
            assert!(
                reason.contains("deleted") || reason.contains("gone"),
                "{reason}"
            );
            break;
        }
    }
    // A stale token revokes nothing.
    b.revoke_fenced(ga.token).await.unwrap();
    assert_eq!(b.acquire().await.unwrap().token, gb.token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_of_etcd_lost_is_reported_before_the_deadline() {
    let Some(cluster) = EtcdCluster::start("alllost").unwrap() else {
        return;
    };
    let a = EtcdArbiter::new(config(&cluster, 3), "vi1", "node-a").unwrap();
    a.acquire().await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 0..3 {
        cluster.signal(i, "STOP").unwrap();
    }
    let stopped = Instant::now();
    let (reason, deadline, at) = wait_lost(&a, Duration::from_secs(10)).await;
    for i in 0..3 {
        cluster.signal(i, "CONT").unwrap();
    }
    println!(
        "all etcd stopped: lost after {:?}, {:?} before D; reason: {reason}",
        at - stopped,
        deadline.saturating_duration_since(at)
    );
    assert!(at < deadline, "the loss is published before D ({reason})");
    assert!(reason.contains("ms left to the deadline"), "{reason}");
    assert!(a.time_left_at_last_loss().is_some());
    // Nothing is granted while etcd is away.
    for i in 0..3 {
        cluster.signal(i, "STOP").unwrap();
    }
    let err = a.acquire().await.unwrap_err();
    assert!(matches!(err, ArbiterError::Unavailable { .. }), "{err:?}");
    for i in 0..3 {
        cluster.signal(i, "CONT").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_change_keeps_the_grant() {
    let Some(mut cluster) = EtcdCluster::start("leader").unwrap() else {
        return;
    };
    // The lease must outlast two elections on a loaded machine (each etcd election here takes
    // 1 s of election timeout plus scheduling delay, and the keepalive that meets "no leader"
    // gives up once the next one could not land before D): TTL 10 s leaves about 9 s.
    let a = EtcdArbiter::new(config(&cluster, 10), "vi1", "node-a").unwrap();
    let g = a.acquire().await.unwrap();
    let old = cluster.leader().unwrap();
    cluster.move_leader((old + 1) % 3).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let moved = cluster.leader().unwrap();
    assert_ne!(moved, old, "leadership moved");
    // And the new leader dies: the other two elect again.
    cluster.kill(moved);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (seen, standing) = a.watch(0).await;
    let held = match standing {
        Standing::Held(now) => now,
        other => panic!("grant lost over leader changes: {other:?}"),
    };
    assert_eq!(held.token, g.token);
    // Still renewed: the next keepalive moves the deadline on (no bound on when it lands: a
    // loaded machine may delay it; a loss would be published instead).
    match next(&a, seen, Duration::from_secs(10)).await {
        Some((_, Standing::Held(later))) => {
            assert_eq!(later.token, g.token);
            assert!(later.deadline > held.deadline, "renewed");
        }
        other => panic!("no renewal after the leader changes: {other:?}"),
    }
}

#[test]
fn a_starved_holder_loses_before_anyone_else_gets_in() {
    let Some(cluster) = EtcdCluster::start("starved").unwrap() else {
        return;
    };
    // Holder a on its own single-threaded runtime: blocking that thread starves a entirely,
    // as SIGSTOP would.
    let rt_a = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rt_b = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let a = EtcdArbiter::new(config(&cluster, 2), "vi1", "node-a").unwrap();
    let b = EtcdArbiter::new(config(&cluster, 2), "vi1", "node-b").unwrap();
    let ga = rt_a.block_on(a.acquire()).unwrap();
    let b_got = rt_b.spawn(async move {
        loop {
            match b.acquire().await {
                Ok(g) => return (Instant::now(), g),
                Err(ArbiterError::HeldElsewhere { .. }) => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(e) => panic!("{e}"),
            }
        }
    });
    std::thread::sleep(Duration::from_secs(6)); // a is stopped
    let (b_at, gb) = rt_b.block_on(b_got).unwrap();
    assert!(b_at > ga.deadline, "b got in only after a's deadline");
    assert!(gb.token > ga.token);
    // a resumes and reports the loss.
    let st = rt_a.block_on(async {
        let mut seen = 0;
        loop {
            let (s, st) = tokio::time::timeout(Duration::from_secs(5), a.watch(seen))
                .await
                .unwrap();
            seen = s;
            if !matches!(st, Standing::Held(_)) {
                return st;
            }
        }
    });
    assert!(matches!(st, Standing::Lost { .. }), "{st:?}");
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused_with_a_hint() {
    let Some(cluster) = EtcdCluster::start("auth").unwrap() else {
        return;
    };
    cluster.enable_auth("right-pw").unwrap();
    let mut c = config(&cluster, 2);
    c.user = Some("root".into());
    c.password = Some("wrong-pw".into());
    let bad = EtcdArbiter::new(c.clone(), "vi1", "node-a").unwrap();
    match bad.acquire().await.unwrap_err() {
        ArbiterError::Refused { reason, hint, .. } => {
            assert!(reason.contains("authentication"), "{reason}");
            assert!(hint.contains("etcd.password"), "{hint}");
            assert!(!reason.contains("wrong-pw") && !hint.contains("wrong-pw"));
        }
        other => panic!("{other:?}"),
    }
    c.password = Some("right-pw".into());
    let good = EtcdArbiter::new(c, "vi1", "node-a").unwrap();
    good.acquire().await.unwrap();
    good.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_under_a_foreign_value_is_refused() {
    let Some(cluster) = EtcdCluster::start("foreign").unwrap() else {
        return;
    };
    cluster
        .etcdctl(&["put", "/vip/vi1", "hand-written"])
        .unwrap();
    let a = EtcdArbiter::new(config(&cluster, 2), "vi1", "node-a").unwrap();
    match a.acquire().await.unwrap_err() {
        ArbiterError::Refused { reason, hint, .. } => {
            assert!(reason.contains("without a lease"), "{reason}");
            assert!(hint.contains("etcd.key_prefix"), "{hint}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_against_a_plain_endpoint_is_a_tls_error() {
    let Some(cluster) = EtcdCluster::start("tls").unwrap() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("vip-etcd-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, "").unwrap();
    let mut c = config(&cluster, 2);
    c.endpoints = cluster
        .endpoints()
        .iter()
        .map(|e| e.replace("http://", "https://"))
        .collect();
    c.tls = Some(vip_etcd::TlsConfig {
        ca,
        cert: None,
        key: None,
    });
    let a = EtcdArbiter::new(c, "vi1", "node-a").unwrap();
    let err = a.acquire().await.unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    match err {
        ArbiterError::Refused { reason, hint, .. } => {
            assert!(reason.contains("TLS"), "{reason}");
            assert!(hint.contains("etcd.tls"), "{hint}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unreachable_endpoints_are_unavailable_with_a_hint() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let a = EtcdArbiter::new(
        EtcdConfig::new(vec![format!("http://127.0.0.1:{port}")]),
        "vi1",
        "node-a",
    )
    .unwrap();
    match a.acquire().await.unwrap_err() {
        ArbiterError::Unavailable { reason, hint, .. } => {
            assert!(reason.contains("no etcd endpoint reachable"), "{reason}");
            assert!(hint.contains("etcd.endpoints"), "{hint}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_arbiter_stops_renewing() {
    let Some(cluster) = EtcdCluster::start("drop").unwrap() else {
        return;
    };
    let a = EtcdArbiter::new(config(&cluster, 2), "vi1", "node-a").unwrap();
    let b = EtcdArbiter::new(config(&cluster, 2), "vi1", "node-b").unwrap();
    a.acquire().await.unwrap();
    drop(a);
    let start = Instant::now();
    loop {
        match b.acquire().await {
            Ok(_) => break,
            Err(ArbiterError::HeldElsewhere { .. }) => {
                assert!(
                    start.elapsed() < Duration::from_secs(15),
                    "a's lease never ran out"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// The TLS cluster's endpoints and files in a config, with client certificates or not, and
/// trusting its CA or another one.
fn tls_config(cluster: &EtcdCluster, client_cert: bool, right_ca: bool) -> EtcdConfig {
    let files = cluster.tls().unwrap();
    let mut c = config(cluster, 2);
    c.tls = Some(vip_etcd::TlsConfig {
        ca: if right_ca {
            files.ca.clone()
        } else {
            files.other_ca.clone()
        },
        cert: client_cert.then(|| files.client_cert.clone()),
        key: client_cert.then(|| files.client_key.clone()),
    });
    c
}

/// etcd with TLS on its client URLs and client certificates required (made with `openssl` for
/// the test): with the CA and a client certificate the arbiter acquires, renews over TLS and
/// releases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_client_certificate_acquires_renews_and_releases() {
    let Some(cluster) = EtcdCluster::start_tls("tls-ok").unwrap() else {
        return;
    };
    assert!(cluster.endpoints()[0].starts_with("https://"));
    let a = EtcdArbiter::new(tls_config(&cluster, true, true), "vi1", "node-a").unwrap();
    let grant = a.acquire().await.unwrap();
    let (seen, _) = a.watch(0).await;
    // A renewal over TLS publishes a later deadline.
    let renewed = next(&a, seen, Duration::from_secs(5)).await;
    match renewed {
        Some((_, Standing::Held(g))) => assert!(g.deadline > grant.deadline),
        other => panic!("no renewal over TLS: {other:?}"),
    }
    let key = cluster
        .etcdctl(&["get", "/vip/vi1", "--print-value-only"])
        .unwrap();
    assert_eq!(key.trim(), "node-a");
    a.release().await.unwrap();
    let key = cluster.etcdctl(&["get", "/vip/vi1"]).unwrap();
    assert!(key.trim().is_empty(), "released: {key}");
}

/// A server certificate that the configured CA did not sign: a TLS refusal naming the
/// handshake, with the hint to check etcd.tls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_server_certificate_is_a_tls_refusal_with_a_hint() {
    let Some(cluster) = EtcdCluster::start_tls("tls-ca").unwrap() else {
        return;
    };
    let a = EtcdArbiter::new(tls_config(&cluster, true, false), "vi1", "node-a").unwrap();
    match a.acquire().await.unwrap_err() {
        ArbiterError::Refused { reason, hint, .. } => {
            assert!(reason.contains("TLS"), "{reason}");
            assert!(reason.contains("certificate"), "{reason}");
            assert!(hint.contains("etcd.tls.ca"), "{hint}");
        }
        other => panic!("{other:?}"),
    }
}

/// No client certificate where etcd requires one: a TLS refusal (not an unreachable
/// endpoint), with the hint to check etcd.tls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_client_certificate_is_a_tls_refusal_with_a_hint() {
    let Some(cluster) = EtcdCluster::start_tls("tls-client").unwrap() else {
        return;
    };
    let a = EtcdArbiter::new(tls_config(&cluster, false, true), "vi1", "node-a").unwrap();
    match a.acquire().await.unwrap_err() {
        ArbiterError::Refused { reason, hint, .. } => {
            assert!(reason.contains("TLS"), "{reason}");
            assert!(hint.contains("etcd.tls"), "{hint}");
        }
        other => panic!("{other:?}"),
    }
}

/// The harness restarts a killed member as itself: same member id (its data directory), and the
/// three answer again with a leader, the key written while it was down readable.
#[test]
fn a_killed_member_restarts_as_itself() {
    let Some(mut cluster) = EtcdCluster::start("restart").unwrap() else {
        return;
    };
    // A follower: killing the leader would make the write below wait for an election, which
    // a loaded machine can stretch past etcdctl's command timeout (what is tested here is the
    // restart, not the election).
    let victim = (cluster.leader().unwrap() + 1) % 3;
    let id = cluster.member_id(victim).unwrap();
    cluster.kill(victim);
    cluster.etcdctl(&["put", "while-down", "yes"]).unwrap();
    cluster.restart(victim).unwrap();
    cluster.wait_ready(Duration::from_secs(30)).unwrap();
    assert_eq!(cluster.member_id(victim).unwrap(), id, "the same member");
    assert_eq!(
        cluster
            .etcdctl(&["get", "--print-value-only", "while-down"])
            .unwrap()
            .trim(),
        "yes"
    );
    assert!(cluster.log(victim).lines().count() > 1);
}
