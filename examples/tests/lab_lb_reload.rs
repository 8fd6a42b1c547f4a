//! Reload and the load balancer: a changed `[[virtual_server]]` restarts the balancer with the
//! new real servers while the instance keeps running untouched; removing it removes the service
//! (and vip's table) from the kernel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;
mod lb_support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use lab_support::{Cluster, NodeConf, SOON, VIP, wait_until};
use lb_support::{
    answering_real_servers, ask, director_conf, lb, lb_is, lb_table, real_addr, reload,
};

const CHECKS: Duration = Duration::from_secs(30);

/// The director's config with a virtual server "web" over `reals` (none: no virtual server).
fn conf(reals: &[&str]) -> NodeConf {
    let mut vs = String::new();
    if !reals.is_empty() {
        vs = format!(
            "[[virtual_server]]\nname = \"web\"\ninstance = \"vip\"\naddress = \"{VIP}\"\nport = 80\nlb_algo = \"rr\"\ndelay_loop = \"1s\"\n"
        );
        for r in reals {
            vs.push_str(&format!(
                "[[virtual_server.real_server]]\naddress = \"{r}\"\ntcp_check = {{ connect_timeout = \"1s\" }}\n"
            ));
        }
    }
    director_conf(200, &vs)
}

fn answers(c: &Cluster, n: usize) -> BTreeSet<String> {
    let vip: SocketAddr = format!("{VIP}:80").parse().unwrap();
    (0..n)
        .map(|_| ask(&c.extras[0], vip, Duration::from_secs(2)))
        .collect()
}

#[test]
fn a_reload_restarts_the_balancer_only_when_virtual_servers_change() {
    let Some(mut c) = Cluster::new("vipex-lb-reload", 1, 1) else {
        return;
    };
    answering_real_servers(&mut c, 2);
    let (a0, a1) = (real_addr(0), real_addr(1));
    c.configure(0, &conf(&[&a0]));
    c.start(0);
    c.wait_master(0);
    assert!(
        wait_until(CHECKS, || lb_is(&c, 0, "web", true, &[a0.as_str()])),
        "{}",
        lb_table(&c, 0)
    );
    assert_eq!(answers(&c, 4), BTreeSet::from(["r1".to_owned()]));

    // A second real server: the balancer restarts with it; the instance is untouched.
    c.configure(0, &conf(&[&a0, &a1]));
    let report = reload(&c, 0);
    assert!(report.contains("unchanged: vip"), "{report}");
    assert!(
        wait_until(CHECKS, || lb_is(
            &c,
            0,
            "web",
            true,
            &[a0.as_str(), a1.as_str()]
        )),
        "{}",
        lb_table(&c, 0)
    );
    let both: BTreeSet<String> = ["r1", "r2"].map(str::to_owned).into();
    assert!(wait_until(SOON, || answers(&c, 6) == both));
    assert!(c.holds(0));

    // No virtual server any more: the service and vip's table leave the kernel.
    c.configure(0, &conf(&[]));
    let report = reload(&c, 0);
    assert!(report.contains("unchanged: vip"), "{report}");
    assert!(lb(&c, 0).is_empty(), "{}", lb_table(&c, 0));
    assert!(lb_table(&c, 0).contains("no virtual servers"));
    let tables = c.nodes[0].ns.run(&["nft", "list", "tables"]).unwrap();
    assert!(!tables.contains("vip_lb"), "{tables}");
    assert_eq!(answers(&c, 2), BTreeSet::from([String::new()]));
    assert!(c.holds(0));
}
