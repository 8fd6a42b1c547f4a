//! The read VIP over healthy standbys: a real PostgreSQL 15 primary and two streaming standbys
//! (vip-pg's harness) in namespaces behind a vipd that holds the VIP and balances VIP:5432 over
//! the standbys, each checked by a pg_check (role standby, max_lag_bytes 1 MiB). Clients'
//! connections through the VIP reach both standbys; a standby whose replay is paused
//! (`pg_wal_replay_pause()`) while the primary writes falls more than the bound behind and
//! leaves the pool (every new connection goes to the other); resumed, it catches up and comes
//! back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;
mod lb_support;

use std::collections::BTreeMap;
use std::time::Duration;

use lab_support::{Cluster, VIP, wait_until};
use lb_support::{GATEWAY, director_conf, lb, lb_is, lb_table, real_addr};
use vip_pg::harness::{Cluster as PgCluster, ClusterBuilder, NodeSpec, pg_bin};

const CHECKS: Duration = Duration::from_secs(30);
/// The lag bound: 1 MiB of WAL received but not replayed.
const MAX_LAG: u64 = 1 << 20;

/// `inet_server_addr()` through the VIP, from the client namespace (None when it fails).
fn server_via_vip(c: &Cluster) -> Option<String> {
    let psql = pg_bin("psql").display().to_string();
    let out = c.extras[0]
        .output(&[
            &psql,
            "-X",
            "-A",
            "-t",
            "-d",
            &format!("host={VIP} port=5432 user=postgres dbname=postgres connect_timeout=3"),
            "-c",
            "select host(inet_server_addr())",
        ])
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn spread(c: &Cluster, n: usize) -> BTreeMap<Option<String>, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        *seen.entry(server_via_vip(c)).or_default() += 1;
    }
    seen
}

#[test]
fn read_vip_over_standbys_drops_a_lagging_standby_and_takes_it_back() {
    if let Some(reason) = PgCluster::skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    let Some(mut c) = Cluster::new("vipex-lb-pg", 1, 1) else {
        return;
    };
    let reals = c.real_server_segment(3, GATEWAY);
    let specs: Vec<NodeSpec> = reals
        .iter()
        .enumerate()
        .map(|(j, r)| {
            let mut s = NodeSpec::in_netns(
                format!("pg{}", j + 1),
                r.name(),
                real_addr(j).parse().unwrap(),
            );
            s.extra_postgresql_conf
                .push("listen_addresses = '*'".to_owned());
            s
        })
        .collect();
    let db = ClusterBuilder::with_nodes(specs).start().unwrap();
    let (s1, s2) = (db.node(1), db.node(2));
    let real = |n: &vip_pg::harness::Node| {
        format!(
            "[[virtual_server.real_server]]\naddress = \"{}\"\nport = {}\npg_check = {{ conninfo = \"{}\", role = \"standby\", max_lag_bytes = {MAX_LAG}, timeout = \"2s\" }}\n",
            n.host,
            n.port,
            n.postgres_conninfo()
        )
    };
    let conf = director_conf(
        200,
        &format!(
            "[[virtual_server]]\nname = \"pg_read\"\ninstance = \"vip\"\naddress = \"{VIP}\"\nport = 5432\nlb_algo = \"rr\"\ndelay_loop = \"1s\"\nretry = 1\ndelay_before_retry = \"500ms\"\n\n{}\n{}",
            real(s1),
            real(s2)
        ),
    );
    c.configure(0, &conf);
    c.start(0);
    c.wait_master(0);
    let (a1, a2) = (s1.host.to_string(), s2.host.to_string());
    let both = [a1.as_str(), a2.as_str()];
    assert!(
        wait_until(CHECKS, || lb_is(&c, 0, "pg_read", true, &both)),
        "{}",
        lb_table(&c, 0)
    );
    let seen = spread(&c, 10);
    assert!(
        seen.get(&Some(a1.clone())).is_some_and(|n| *n >= 2)
            && seen.get(&Some(a2.clone())).is_some_and(|n| *n >= 2),
        "through the read VIP: {seen:?}\n{}",
        lb_table(&c, 0)
    );

    // Pause replay on the first standby and write on the primary: it falls behind.
    db.psql(1, "postgres", "select pg_wal_replay_pause()")
        .unwrap();
    db.psql(
        0,
        "postgres",
        "create table lag_maker as select g, repeat('x', 100) as pad from generate_series(1, 100000) g",
    )
    .unwrap();
    assert!(
        wait_until(CHECKS, || lb_is(&c, 0, "pg_read", true, &[a2.as_str()])),
        "{}",
        lb_table(&c, 0)
    );
    eprintln!("a standby lagging:\n{}", lb_table(&c, 0));
    let why = lb(&c, 0)[0].backends[0]
        .last_error
        .clone()
        .unwrap_or_default();
    assert!(why.contains("above max_lag_bytes"), "{why}");
    let seen = spread(&c, 6);
    assert_eq!(
        seen,
        BTreeMap::from([(Some(a2.clone()), 6)]),
        "with the first standby lagging\n{}",
        lb_table(&c, 0)
    );

    // Resumed: it catches up and comes back.
    db.psql(1, "postgres", "select pg_wal_replay_resume()")
        .unwrap();
    assert!(
        wait_until(CHECKS, || lb_is(&c, 0, "pg_read", true, &both)),
        "{}",
        lb_table(&c, 0)
    );
    let seen = spread(&c, 10);
    assert!(
        seen.contains_key(&Some(a1.clone())),
        "after catching up: {seen:?}"
    );
    // The servers stop before their namespaces go.
    drop(db);
    drop(c);
}
