//! Two vipd over IPv6 (VRRPv3 from link-local sources to ff02::12, a /128 VIP, unsolicited NA
//! and a DAD-style in-use probe): election by priority and failover on a graceful stop and on
//! SIGKILL of the master (the VIP left behind is fenced before the takeover). The overlap
//! checker watches both nodes across every step and the preemptions back: never two holders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;

use lab_support::{Cluster, NodeConf, SOON, VIP6, transition, wait_until};
use nix::sys::signal::Signal;

fn holds6(c: &Cluster, i: usize) -> bool {
    c.nodes[i]
        .ns
        .run(&["ip", "-6", "-o", "addr", "show", "dev", "eth0"])
        .unwrap()
        .contains(&format!(" {VIP6}/128 "))
}

#[test]
fn ipv6_pair_elects_fails_over_and_fences() {
    let Some(mut c) = Cluster::new("vipex-lab-ipv6", 2, 0) else {
        return;
    };
    for (i, prio) in [(0, 200u8), (1, 100)] {
        let mut conf = NodeConf::new(prio);
        conf.vips = format!("\"{VIP6}/128\"");
        c.configure(i, &conf);
        c.start(i);
    }
    let master_is = |c: &Cluster, i: usize| {
        wait_until(SOON, || {
            c.state(i) == "master" && holds6(c, i) && !holds6(c, 1 - i)
        })
    };
    assert!(
        master_is(&c, 0),
        "node1 master over IPv6: {} {}",
        c.state(0),
        c.state(1)
    );
    assert!(wait_until(SOON, || c.state(1) == "backup"));
    let master = c.status(1).unwrap().instances[0].master.clone().unwrap();
    assert!(
        master.starts_with("fe80::"),
        "adverts come from the link-local address: {master}"
    );

    c.signal(0, Signal::SIGTERM);
    assert!(master_is(&c, 1), "graceful failover: {}", c.state(1));

    c.start(0);
    assert!(master_is(&c, 0), "preempt back");
    c.signal(0, Signal::SIGKILL);
    assert!(holds6(&c, 0), "SIGKILL leaves the VIP");
    assert!(master_is(&c, 1), "takeover after SIGKILL: {}", c.state(1));
    let log = c.log(1);
    assert!(
        log.contains(&transition("claiming", "master", "holder fenced, VIP free")),
        "the in-use probe (NS) found the VIP and the fencer removed it:\n{log}"
    );
}
