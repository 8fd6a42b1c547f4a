//! `ReplicaProbe` against a real PostgreSQL 15 primary and streaming standby (vip_pg::harness, on
//! loopback): the primary is not in recovery and has no lag; the standby is, and its replay lag
//! (WAL received but not replayed) grows while replay is paused and the primary writes, and
//! falls back to zero once resumed. Needs root; skips with one line otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use vip_pg::harness::{ClusterBuilder, HarnessError};
use vip_pg::{ProbeConfig, ReplicaProbe};

const OK: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_status_reads_recovery_and_replay_lag() {
    let c = match ClusterBuilder::new().start() {
        Ok(c) => c,
        Err(HarnessError::Skip(reason)) => {
            eprintln!("skipped: {reason}");
            return;
        }
        Err(e) => panic!("cluster bring-up failed: {e}"),
    };
    let primary = ReplicaProbe::new(ProbeConfig::new(c.primary().postgres_conninfo())).unwrap();
    let standby = ReplicaProbe::new(ProbeConfig::new(c.standby().postgres_conninfo())).unwrap();
    let p = primary.status(OK).await.unwrap();
    assert!(!p.in_recovery && p.lag_bytes.is_none(), "{p:?}");
    let s = standby.status(OK).await.unwrap();
    assert!(s.in_recovery, "{s:?}");

    c.psql(1, "postgres", "select pg_wal_replay_pause()")
        .unwrap();
    c.psql(
        0,
        "postgres",
        "create table lag_maker as select g, repeat('x', 100) as pad from generate_series(1, 100000) g",
    )
    .unwrap();
    // The standby receives the ~16 MB of WAL but does not replay it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let lagging = loop {
        let s = standby.status(OK).await.unwrap();
        if s.lag_bytes.is_some_and(|l| l > 1 << 20) || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        lagging.lag_bytes.is_some_and(|l| l > 1 << 20),
        "{lagging:?}"
    );

    c.psql(1, "postgres", "select pg_wal_replay_resume()")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let caught_up = loop {
        let s = standby.status(OK).await.unwrap();
        if s.lag_bytes == Some(0) || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(caught_up.lag_bytes, Some(0), "{caught_up:?}");
}
