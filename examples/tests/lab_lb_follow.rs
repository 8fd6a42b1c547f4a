//! The service follows the VIP: a vipd pair balances VIP:80 over two real servers (tcp_check);
//! only the VIP's holder has the service active (`vipctl lb`, `vip_lb_service_active`). When the
//! holder's vipd is killed, the other fences it, takes the VIPs (the client's VIP and the real
//! servers' gateway) and activates the service: the client's connections through the VIP are
//! answered again. The old holder, restarted, preempts back and the service follows; a vipd
//! stopped gracefully leaves no table of vip's own in the kernel, and the other takes over.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;
mod lb_support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use lab_support::{Cluster, SOON, VIP, metric, wait_until};
use lb_support::{answering_real_servers, ask, lb_is, lb_table, node_conf, real_addr};
use nix::sys::signal::Signal;

const CHECKS: Duration = Duration::from_secs(30);

fn answers(c: &Cluster, n: usize) -> BTreeSet<String> {
    let vip: SocketAddr = format!("{VIP}:80").parse().unwrap();
    (0..n)
        .map(|_| ask(&c.extras[0], vip, Duration::from_secs(3)))
        .collect()
}

fn nft_tables(c: &Cluster, i: usize) -> String {
    c.nodes[i]
        .ns
        .run(&["nft", "list", "tables"])
        .unwrap_or_default()
}

#[test]
fn the_service_moves_with_the_vip_when_the_holder_fails() {
    let Some(mut c) = Cluster::new("vipex-lb-follow", 2, 1) else {
        return;
    };
    answering_real_servers(&mut c, 2);
    let (a0, a1) = (real_addr(0), real_addr(1));
    let vs = format!(
        r#"[[virtual_server]]
name = "web"
instance = "vip"
address = "{VIP}"
port = 80
lb_algo = "rr"
delay_loop = "1s"

[[virtual_server.real_server]]
address = "{a0}"
tcp_check = {{ connect_timeout = "2s" }}

[[virtual_server.real_server]]
address = "{a1}"
tcp_check = {{ connect_timeout = "2s" }}
"#
    );
    for (i, prio) in [(0, 200), (1, 100)] {
        c.configure(i, &node_conf(&c, i, prio, &vs));
    }
    c.start(0);
    c.start(1);
    c.wait_master(0);
    let both = [a0.as_str(), a1.as_str()];
    assert!(
        wait_until(CHECKS, || lb_is(&c, 0, "web", true, &both)
            && lb_is(&c, 1, "web", false, &both)),
        "node1:\n{}\nnode2:\n{}",
        lb_table(&c, 0),
        lb_table(&c, 1)
    );
    let all: BTreeSet<String> = ["r1", "r2"].map(str::to_owned).into();
    assert_eq!(answers(&c, 8), all, "{}", lb_table(&c, 0));

    // The holder's vipd dies: node2 fences it (both VIPs go), takes over, and its service
    // becomes active.
    c.signal(0, Signal::SIGKILL);
    c.wait_master(1);
    assert!(
        wait_until(SOON, || lb_is(&c, 1, "web", true, &both)),
        "{}",
        lb_table(&c, 1)
    );
    let m = c.metrics(1);
    assert_eq!(
        metric(
            &m,
            "vip_lb_service_active{service=\"web\",vrrp_instance=\"vip\"}"
        ),
        1.0,
        "{m}"
    );
    assert!(
        wait_until(SOON, || answers(&c, 8) == all),
        "through node2: {:?}\n{}",
        answers(&c, 8),
        lb_table(&c, 1)
    );

    // node1 comes back and preempts: the service follows the VIP back.
    c.start(0);
    c.wait_master(0);
    assert!(
        wait_until(CHECKS, || lb_is(&c, 0, "web", true, &both)
            && lb_is(&c, 1, "web", false, &both)),
        "node1:\n{}\nnode2:\n{}",
        lb_table(&c, 0),
        lb_table(&c, 1)
    );
    assert!(wait_until(SOON, || answers(&c, 8) == all));

    // The holder stops gracefully: its table goes with it, and node2 takes over the service.
    assert!(
        nft_tables(&c, 0).contains("vip_lb"),
        "{}",
        nft_tables(&c, 0)
    );
    c.signal(0, Signal::SIGTERM);
    assert!(
        !nft_tables(&c, 0).contains("vip_lb"),
        "{}",
        nft_tables(&c, 0)
    );
    c.wait_master(1);
    assert!(
        wait_until(SOON, || lb_is(&c, 1, "web", true, &both)),
        "{}",
        lb_table(&c, 1)
    );
    assert!(wait_until(SOON, || answers(&c, 8) == all));
}
