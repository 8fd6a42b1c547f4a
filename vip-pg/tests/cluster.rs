//! The probes against a real PostgreSQL 15 primary and streaming standby registered with repmgr
//! (vip_pg::harness). Each test brings up its own cluster on free loopback ports. Needs root;
//! skips with one line otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::time::{Duration, Instant};

use vip_core::{Role, RoleProbe, RoleReport};
use vip_pg::harness::{ClusterBuilder, HarnessError, PASSWORD, StopMode};
use vip_pg::{BackoffConfig, NodeSelector, PgError, PostgresProbe, ProbeConfig, RepmgrProbe};

/// The timeout of probes that must fail fast (stopped, frozen, unreachable servers).
const TIMEOUT: Duration = Duration::from_millis(500);
/// The timeout of probes expected to succeed: generous, because a debug build computes SCRAM
/// slowly on a loaded machine. Correctness, not performance.
const OK: Duration = Duration::from_secs(10);
const INTERVAL: Duration = Duration::from_secs(1);
/// A correctness bound (no hang), not a performance figure: the timeout plus slack.
const BOUND: Duration = Duration::from_millis(1500);

macro_rules! cluster_or_skip {
    ($builder:expr) => {
        match $builder.start() {
            Ok(c) => {
                eprintln!(
                    "cluster up in {:?}: {:?}",
                    c.bring_up_time(),
                    c.bring_up_steps()
                );
                c
            }
            Err(HarnessError::Skip(reason)) => {
                eprintln!("skipped: {reason}");
                return;
            }
            Err(e) => panic!("cluster bring-up failed: {e}"),
        }
    };
}

fn settings(conninfo: String) -> ProbeConfig {
    ProbeConfig::new(conninfo)
        .interval(INTERVAL)
        .timeout(OK)
        .backoff(BackoffConfig {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(400),
        })
}

fn reason(report: &RoleReport) -> String {
    match &report.role {
        Role::Unknown { reason } => reason.clone(),
        other => panic!("expected Unknown, got {other} ({report:?})"),
    }
}

/// Probes until `want` (or `deadline` passes), returning the last report.
async fn probe_until(probe: &dyn RoleProbe, want: &Role, deadline: Duration) -> RoleReport {
    let end = Instant::now() + deadline;
    loop {
        let r = probe.probe(OK).await;
        if &r.role == want || Instant::now() > end {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn roles_follow_recovery_state_and_promotion() {
    let mut cluster = cluster_or_skip!(ClusterBuilder::new());
    let (p, s) = (cluster.primary().clone(), cluster.standby().clone());
    let pg1 = PostgresProbe::new(settings(p.postgres_conninfo())).unwrap();
    let pg2 = PostgresProbe::new(settings(s.postgres_conninfo())).unwrap();
    let rm1 = RepmgrProbe::new(
        settings(p.repmgr_conninfo()),
        NodeSelector::Name("node1".into()),
    )
    .unwrap();
    let rm2 = RepmgrProbe::new(settings(s.repmgr_conninfo()), NodeSelector::Id(2)).unwrap();

    let r = pg1.probe(OK).await;
    assert_eq!(r.role, Role::Primary, "{r:?}");
    assert_eq!(r.timeline, Some(1));
    let r = pg2.probe(OK).await;
    assert_eq!(r.role, Role::Standby, "{r:?}");
    assert_eq!(r.timeline, Some(1));

    let r = rm1.probe(OK).await;
    assert_eq!(r.role, Role::Primary, "{r:?}");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let rp = r.recorded_primary.expect("recorded primary");
    assert_eq!(
        (rp.node_id, rp.node_name.as_str(), rp.host.as_deref()),
        (1, "node1", Some("127.0.0.1"))
    );
    let r = rm2.probe(OK).await;
    assert_eq!(r.role, Role::Standby, "{r:?}");
    assert_eq!(r.recorded_primary.map(|p| p.node_id), Some(1));
    let d = rm2.try_probe_detailed(OK).await.unwrap();
    assert_eq!(
        (
            d.node.node_id,
            d.node.node_type.as_str(),
            d.node.priority,
            d.in_recovery
        ),
        (2, "standby", 100, true)
    );
    assert_eq!(d.node.upstream_node_id, Some(1));
    assert_eq!(d.primaries.len(), 1);

    // Failover: the primary stops, repmgr promotes the standby.
    cluster.stop(0, StopMode::Fast).unwrap();
    cluster.promote(1).unwrap();
    let promoted = Instant::now();
    // The very next probe (due within one interval) over the kept connection says Primary.
    let r = pg2.probe(OK).await;
    assert!(
        promoted.elapsed() < INTERVAL,
        "probe took {:?}",
        promoted.elapsed()
    );
    assert_eq!(r.role, Role::Primary, "{r:?}");
    assert_eq!(r.timeline, Some(2), "promotion starts timeline 2");
    assert!(
        pg2.is_connected().await,
        "the kept connection survives the promotion"
    );
    let r = rm2.probe(OK).await;
    assert_eq!(r.role, Role::Primary, "{r:?}");
    assert_eq!(
        r.recorded_primary.as_ref().map(|p| p.node_name.as_str()),
        Some("node2")
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(
        promoted.elapsed() < INTERVAL,
        "both probes within one interval: {:?}",
        promoted.elapsed()
    );

    // The stopped old primary: Unknown, within the timeout.
    let t0 = Instant::now();
    let r = pg1.probe(TIMEOUT).await;
    assert!(t0.elapsed() < BOUND, "{:?}", t0.elapsed());
    assert!(!reason(&r).is_empty());
    let r = rm1.probe(TIMEOUT).await;
    reason(&r);

    // The old primary rejoins as a standby of the new one (pg_rewind, repmgr node rejoin).
    cluster.rejoin(0, 1).unwrap();
    let r = probe_until(&pg1, &Role::Standby, Duration::from_secs(5)).await;
    assert_eq!(r.role, Role::Standby, "{r:?}");
    let r = probe_until(&rm1, &Role::Standby, Duration::from_secs(5)).await;
    assert_eq!(r.role, Role::Standby, "{r:?}");
    assert_eq!(
        r.recorded_primary.map(|p| p.node_name),
        Some("node2".to_owned())
    );
}

#[tokio::test]
async fn stopped_and_frozen_servers_give_unknown_within_the_timeout() {
    let mut cluster = cluster_or_skip!(ClusterBuilder::primary_only());
    let p = cluster.primary().clone();
    let pg = PostgresProbe::new(settings(p.postgres_conninfo())).unwrap();
    let rm = RepmgrProbe::new(
        settings(p.repmgr_conninfo()),
        NodeSelector::Name("node1".into()),
    )
    .unwrap();
    assert_eq!(pg.probe(OK).await.role, Role::Primary);
    assert_eq!(rm.probe(OK).await.role, Role::Primary);

    // Frozen (SIGSTOP on the postmaster and its children): the kept connection hangs.
    cluster.freeze(0).unwrap();
    for probe in [&pg as &dyn RoleProbe, &rm] {
        let t0 = Instant::now();
        let r = probe.probe(TIMEOUT).await;
        let took = t0.elapsed();
        assert!(took < BOUND, "{} took {took:?}", probe.name());
        assert!(reason(&r).contains("timed out"), "{r:?}");
    }
    assert!(!pg.is_connected().await, "the stuck connection was dropped");
    // Next probe has to connect to the frozen postmaster: that hangs too, and is bounded too.
    for _ in 0..3 {
        let t0 = Instant::now();
        let r = pg.try_probe(TIMEOUT).await.unwrap_err();
        assert!(t0.elapsed() < BOUND, "{:?}", t0.elapsed());
        assert!(
            matches!(r, PgError::Timeout { .. } | PgError::BackingOff { .. }),
            "{r}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cluster.thaw(0).unwrap();
    let r = probe_until(&pg, &Role::Primary, Duration::from_secs(5)).await;
    assert_eq!(r.role, Role::Primary, "recovers after thaw: {r:?}");

    // Stopped: immediate mode kills the backend under the kept connection.
    cluster.stop(0, StopMode::Immediate).unwrap();
    for probe in [&pg as &dyn RoleProbe, &rm] {
        let t0 = Instant::now();
        let r = probe.probe(TIMEOUT).await;
        assert!(t0.elapsed() < BOUND, "{:?}", t0.elapsed());
        reason(&r);
    }
    let e = pg.try_probe(TIMEOUT).await.unwrap_err();
    assert!(
        matches!(e, PgError::Connect { .. } | PgError::BackingOff { .. }),
        "{e}"
    );

    // Restarted: the probe reconnects on its own (bounded back-off).
    cluster.start_node(0).unwrap();
    let r = probe_until(&pg, &Role::Primary, Duration::from_secs(5)).await;
    assert_eq!(r.role, Role::Primary, "{r:?}");
    let r = probe_until(&rm, &Role::Primary, Duration::from_secs(5)).await;
    assert_eq!(r.role, Role::Primary, "{r:?}");
}

#[tokio::test]
async fn metadata_disagreeing_with_recovery_state_and_missing_nodes() {
    let cluster = cluster_or_skip!(ClusterBuilder::new());
    let (p, s) = (cluster.primary(), cluster.standby());
    let rm1 = RepmgrProbe::new(
        settings(p.repmgr_conninfo()),
        NodeSelector::Name("node1".into()),
    )
    .unwrap();
    let rm2 = RepmgrProbe::new(
        settings(s.repmgr_conninfo()),
        NodeSelector::Name("node2".into()),
    )
    .unwrap();

    // Metadata says standby, server is not in recovery: Primary, with a warning.
    cluster
        .psql(
            0,
            "repmgr",
            "UPDATE repmgr.nodes SET type = 'standby' WHERE node_id = 1",
        )
        .unwrap();
    let r = rm1.probe(OK).await;
    assert_eq!(r.role, Role::Primary, "{r:?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("as standby but the server is not in recovery")),
        "{:?}",
        r.warnings
    );
    assert_eq!(
        r.recorded_primary, None,
        "no active primary recorded any more"
    );
    cluster
        .psql(
            0,
            "repmgr",
            "UPDATE repmgr.nodes SET type = 'primary' WHERE node_id = 1",
        )
        .unwrap();

    // Metadata says primary, server is in recovery: not Primary (Standby, with a warning).
    cluster
        .psql(
            0,
            "repmgr",
            "UPDATE repmgr.nodes SET type = 'primary', upstream_node_id = NULL WHERE node_id = 2",
        )
        .unwrap();
    cluster
        .wait_for(
            1,
            "repmgr",
            "SELECT type FROM repmgr.nodes WHERE node_id = 2",
            "primary",
            Duration::from_secs(10),
        )
        .unwrap();
    let r = rm2.probe(OK).await;
    assert_eq!(r.role, Role::Standby, "{r:?}");
    assert!(
        r.warnings.iter().any(|w| w.contains("stale metadata")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("2 active primaries")),
        "{:?}",
        r.warnings
    );
    assert_eq!(
        r.recorded_primary.map(|p| p.node_id),
        Some(1),
        "lowest id first"
    );

    cluster
        .psql(
            0,
            "repmgr",
            "UPDATE repmgr.nodes SET type = 'standby', upstream_node_id = 1 WHERE node_id = 2",
        )
        .unwrap();
    cluster
        .wait_for(
            1,
            "repmgr",
            "SELECT type FROM repmgr.nodes WHERE node_id = 2",
            "standby",
            Duration::from_secs(10),
        )
        .unwrap();
    assert!(rm2.probe(OK).await.warnings.is_empty());

    // A node that is not registered: a clear error, and Unknown from probe().
    for selector in [
        NodeSelector::Name("no-such-node".into()),
        NodeSelector::Id(99),
    ] {
        let probe = RepmgrProbe::new(settings(p.repmgr_conninfo()), selector).unwrap();
        let r = probe.probe(OK).await;
        assert!(reason(&r).contains("not registered"), "{r:?}");
        let e = probe.try_probe(OK).await.unwrap_err();
        assert!(matches!(e, PgError::NodeNotRegistered { .. }), "{e}");
        let core: vip_core::Error = e.into();
        assert!(!core.is_transient());
    }
    // Names go in as parameters: quotes are data, not SQL.
    let probe = RepmgrProbe::new(
        settings(p.repmgr_conninfo()),
        NodeSelector::Name("x' OR '1'='1".into()),
    )
    .unwrap();
    let e = probe.try_probe(OK).await.unwrap_err();
    assert!(matches!(e, PgError::NodeNotRegistered { .. }), "{e}");

    // A database without repmgr metadata.
    let probe = RepmgrProbe::new(
        settings(p.postgres_conninfo()),
        NodeSelector::Name("node1".into()),
    )
    .unwrap();
    let e = probe.try_probe(OK).await.unwrap_err();
    assert!(matches!(e, PgError::MetadataMissing { .. }), "{e}");
}

fn assert_secret_absent(secret: &str, e: &PgError) {
    let shown = format!("{e} | {e:?}");
    assert!(!shown.contains(secret), "secret leaked: {shown}");
    let core: vip_core::Error = e.clone().into();
    let shown = format!("{core} | {core:?}");
    assert!(!shown.contains(secret), "secret leaked: {shown}");
}

#[tokio::test]
async fn wrong_password_and_unreachable_host_are_typed_errors_without_the_secret() {
    let cluster = cluster_or_skip!(ClusterBuilder::primary_only());
    let p = cluster.primary();

    let good = PostgresProbe::new(settings(p.good_password_conninfo())).unwrap();
    assert_eq!(good.probe(OK).await.role, Role::Primary);
    assert!(!format!("{:?}", good.config()).contains(PASSWORD));

    let wrong = "Wrong-Pass-Word-4711";
    for conninfo in [
        p.password_conninfo(wrong),
        format!("postgresql://vip_pw:{wrong}@{}:{}/postgres", p.host, p.port),
    ] {
        let probe = PostgresProbe::new(settings(conninfo)).unwrap();
        let e = probe.try_probe(OK).await.unwrap_err();
        assert!(matches!(e, PgError::Auth { .. }), "{e}");
        assert!(
            e.to_string().contains("password authentication failed"),
            "{e}"
        );
        assert_secret_absent(wrong, &e);
        assert!(!format!("{:?}", probe.config()).contains(wrong));
        assert!(!format!("{probe:?}").contains(wrong));
        let r = probe.probe(OK).await;
        assert!(!format!("{r:?}").contains(wrong));
    }

    // Unreachable: a loopback port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let secret = "Unreachable-Secret-0815";
    let probe = PostgresProbe::new(settings(format!(
        "host=127.0.0.1 port={closed} user=x password={secret}"
    )))
    .unwrap();
    let t0 = Instant::now();
    let e = probe.try_probe(TIMEOUT).await.unwrap_err();
    assert!(t0.elapsed() < BOUND);
    assert!(matches!(e, PgError::Connect { .. }), "{e}");
    assert!(e.to_string().contains("hint"), "{e}");
    assert_secret_absent(secret, &e);
    // While backing off, the answer is immediate and still secret-free.
    let e = probe.try_probe(TIMEOUT).await.unwrap_err();
    assert!(matches!(e, PgError::BackingOff { .. }), "{e}");
    assert_secret_absent(secret, &e);
}

#[tokio::test]
async fn teardown_removes_a_frozen_cluster_completely() {
    let cluster = cluster_or_skip!(ClusterBuilder::primary_only());
    let dir = cluster.dir().to_owned();
    let pid = cluster.postmaster_pid(0).expect("postmaster runs");
    cluster.freeze(0).unwrap();
    drop(cluster);
    assert!(!dir.exists(), "{} left behind", dir.display());
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
    assert!(
        stat.is_err() || stat.unwrap().contains(") Z"),
        "postmaster {pid} survived"
    );
}
