//! SIGHUP reload: an unchanged instance keeps its state and its VIP (no flap); an added
//! instance starts, a removed one releases its VIP, and a changed one restarts cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;

use std::time::Duration;

use lab_support::{Cluster, NodeConf, SOON, metric, transition, wait_until};
use nix::sys::signal::Signal;

const EXTRA: &str = r#"
[[instance]]
name = "extra"
interface = "eth0"
vrid = 52
priority = 150
advert_interval = "10cs"
vips = ["198.51.100.101/32"]
"#;

fn holds_extra(c: &Cluster, i: usize) -> bool {
    c.nodes[i]
        .ns
        .run(&["ip", "-o", "addr", "show", "dev", "eth0"])
        .unwrap()
        .contains(" 198.51.100.101/32 ")
}

fn transitions(c: &Cluster, i: usize) -> f64 {
    c.metrics(i)
        .lines()
        .filter(|l| l.starts_with("vip_transitions_total{vrrp_instance=\"vip\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn sighup_reload_keeps_an_unchanged_master_and_its_vip() {
    let Some(mut c) = Cluster::new("vipex-lab-reload", 2, 0) else {
        return;
    };
    c.configure(0, &NodeConf::new(200));
    c.configure(1, &NodeConf::new(100));
    c.start(0);
    c.start(1);
    c.wait_master(0);
    assert!(wait_until(SOON, || c.state(1) == "backup"));
    let before = transitions(&c, 0);
    assert!(
        before >= 2.0,
        "initialize -> backup -> claiming -> master counted"
    );

    let sampler = c.sampler();
    // Reload node1 with an added instance; "vip" unchanged.
    let mut with_extra = NodeConf::new(200);
    with_extra.tail = EXTRA.into();
    c.configure(0, &with_extra);
    c.signal(0, Signal::SIGHUP);
    assert!(
        wait_until(SOON, || holds_extra(&c, 0)
            && c.state_of(0, "extra") == "master"),
        "the added instance started: {}",
        c.state_of(0, "extra")
    );
    // Reload node2 with a changed priority: it restarts, node1 stays master.
    let mut changed = NodeConf::new(110);
    changed.fencer = true;
    c.configure(1, &changed);
    c.signal(1, Signal::SIGHUP);
    assert!(wait_until(SOON, || c.log(1).contains("reload done")));
    assert!(wait_until(SOON, || c.status(1).is_some_and(|s| s
        .instances[0]
        .base_priority
        == 110
        && s.instances[0].state == "backup")));
    // Reload node1 again without the extra instance: its VIP is released.
    c.configure(0, &NodeConf::new(200));
    c.signal(0, Signal::SIGHUP);
    assert!(
        wait_until(SOON, || !holds_extra(&c, 0)),
        "the removed instance released its VIP"
    );
    std::thread::sleep(Duration::from_millis(500));

    let samples = sampler.assert_never_two_holders();
    assert!(
        samples.iter().all(|(_, h)| h[0] && !h[1]),
        "node1 held the VIP at every sample across three reloads"
    );
    assert_eq!(c.state(0), "master");
    assert_eq!(
        transitions(&c, 0),
        before,
        "no transition of the unchanged instance"
    );
    let log = c.log(0);
    assert!(log.contains("reload done"), "{log}");
    assert!(
        metric(
            &c.metrics(0),
            "vip_instance_state{vrrp_instance=\"vip\",state=\"master\"}"
        ) == 1.0
    );
    let log2 = c.log(1);
    assert!(
        log2.matches(&transition("initialize", "backup", "started"))
            .count()
            >= 2,
        "node2's changed instance restarted:\n{log2}"
    );
}
