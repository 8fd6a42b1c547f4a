//! The seed setup (shared/setups/keepalived-lvs-mariadb.conf) on vipd: a real MariaDB pair
//! (Debian's mariadbd, a datadir of its own each) behind the VIP, each checked as the seed does
//! (`mariadb -e 'select now()'`, 3 s bound) by a misc_check, balanced by the vipd that holds the
//! VIP. A client's connections through VIP:3306 reach both servers (rr); a stopped server leaves
//! the pool (all new connections go to the other) and comes back when it is started again. With
//! the seed's own `lb_algo dh` (after a reload), every connection goes to one server (one VIP,
//! one hash) until it stops, then to the other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;
mod lb_support;

use std::collections::BTreeMap;
use std::time::Duration;

use lab_support::{Cluster, VIP, metric, wait_until};
use lb_support::{
    GATEWAY, MariaDb, lb_is, lb_table, mariadb_available, node_conf, real_addr, reload,
    server_id_via,
};

/// Long enough for a check round (delay_loop 1 s, a retry after 0.5 s, 3 s bound each) on a
/// loaded machine.
const CHECKS: Duration = Duration::from_secs(30);

fn spread(c: &Cluster, n: usize) -> BTreeMap<Option<u32>, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        *seen.entry(server_id_via(&c.extras[0], VIP)).or_default() += 1;
    }
    seen
}

#[test]
fn mariadb_pair_behind_the_vip_spreads_and_a_stopped_server_leaves_the_pool() {
    if !mariadb_available() {
        eprintln!("skipped: mariadb-server is not installed");
        return;
    }
    let Some(mut c) = Cluster::new("vipex-lb-maria", 2, 1) else {
        return;
    };
    let reals = c.real_server_segment(2, GATEWAY);
    let mut dbs: Vec<MariaDb> = (0..2)
        .map(|j| MariaDb::start(&reals[j], &c.dir, &real_addr(j), j as u32 + 1))
        .collect();
    let vs = format!(
        r#"[[virtual_server]]
name = "mariadb"
instance = "vip"
address = "{VIP}"
port = 3306
lb_algo = "rr"
delay_loop = "1s"
retry = 1
delay_before_retry = "500ms"

[[virtual_server.real_server]]
address = "{a0}"
weight = 100
{c0}

[[virtual_server.real_server]]
address = "{a1}"
weight = 100
{c1}
"#,
        a0 = dbs[0].addr,
        a1 = dbs[1].addr,
        c0 = dbs[0].misc_check(),
        c1 = dbs[1].misc_check(),
    );
    for (i, prio) in [(0, 200), (1, 100)] {
        c.configure(i, &node_conf(&c, i, prio, &vs));
    }
    c.start(0);
    c.start(1);
    c.wait_master(0);
    let (a0, a1) = (real_addr(0), real_addr(1));
    let both = [a0.as_str(), a1.as_str()];
    assert!(
        wait_until(CHECKS, || lb_is(&c, 0, "mariadb", true, &both)),
        "node1: {}",
        lb_table(&c, 0)
    );
    // The backup runs the checks too, with the service inactive.
    assert!(
        wait_until(CHECKS, || lb_is(&c, 1, "mariadb", false, &both)),
        "node2: {}",
        lb_table(&c, 1)
    );

    // rr over two healthy servers: both answer.
    let seen = spread(&c, 12);
    assert!(
        seen.get(&Some(1)).is_some_and(|n| *n >= 3) && seen.get(&Some(2)).is_some_and(|n| *n >= 3),
        "connections through the VIP: {seen:?}\n{}",
        lb_table(&c, 0)
    );
    let table = lb_table(&c, 0);
    assert!(
        table.contains(&format!("TCP  {VIP}:3306 rr mariadb on vip, active")),
        "{table}"
    );
    let m = c.metrics(0);
    assert_eq!(
        metric(
            &m,
            "vip_lb_service_active{service=\"mariadb\",vrrp_instance=\"vip\"}"
        ),
        1.0,
        "{m}"
    );
    let m1 = c.metrics(1);
    assert_eq!(
        metric(
            &m1,
            "vip_lb_service_active{service=\"mariadb\",vrrp_instance=\"vip\"}"
        ),
        0.0
    );
    for d in &dbs {
        let series = format!(
            "vip_lb_backend_healthy{{service=\"mariadb\",backend=\"{}:3306\"}}",
            d.addr
        );
        assert_eq!(metric(&m, &series), 1.0, "{series}\n{m}");
    }

    // The second server stops: its check fails, it leaves the pool, all new connections go to
    // the first.
    dbs[1].stop();
    assert!(
        wait_until(CHECKS, || lb_is(
            &c,
            0,
            "mariadb",
            true,
            &[dbs[0].addr.as_str()]
        )),
        "{}",
        lb_table(&c, 0)
    );
    let seen = spread(&c, 8);
    assert_eq!(
        seen,
        BTreeMap::from([(Some(1), 8)]),
        "after the stop\n{}",
        lb_table(&c, 0)
    );
    let table = lb_table(&c, 0);
    assert!(
        table.contains(&format!("{}:3306", dbs[1].addr)) && table.contains("down"),
        "{table}"
    );

    // Started again: back in the pool.
    dbs[1].run(&reals[1]);
    assert!(
        wait_until(CHECKS, || lb_is(&c, 0, "mariadb", true, &both)),
        "{}",
        lb_table(&c, 0)
    );
    let seen = spread(&c, 12);
    assert!(seen.contains_key(&Some(2)), "after the restart: {seen:?}");

    // The seed's lb_algo dh: one VIP, one hash, one server for every connection.
    let vs_dh = vs.replace("lb_algo = \"rr\"", "lb_algo = \"dh\"");
    c.configure(0, &node_conf(&c, 0, 200, &vs_dh));
    let report = reload(&c, 0);
    assert!(report.contains("unchanged: vip"), "{report}");
    assert!(
        wait_until(CHECKS, || lb_table(&c, 0)
            .contains(&format!("{VIP}:3306 dh"))
            && lb_is(&c, 0, "mariadb", true, &both)),
        "{}",
        lb_table(&c, 0)
    );
    let seen = spread(&c, 8);
    assert_eq!(seen.len(), 1, "dh: {seen:?}");
    let chosen = seen.keys().next().cloned().flatten().unwrap();
    let (stop, other) = if chosen == 1 { (0, 1) } else { (1, 0) };
    dbs[stop].stop();
    let left = real_addr(other);
    assert!(
        wait_until(CHECKS, || lb_is(&c, 0, "mariadb", true, &[left.as_str()])),
        "{}",
        lb_table(&c, 0)
    );
    let seen = spread(&c, 6);
    assert_eq!(
        seen,
        BTreeMap::from([(Some(other as u32 + 1), 6)]),
        "dh after server {} stopped",
        chosen
    );
}
