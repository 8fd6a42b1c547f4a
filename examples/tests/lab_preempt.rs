//! nopreempt: a higher-priority vipd that starts while a lower-priority one is master stays
//! backup, and takes over only when the master goes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;

use std::time::Duration;

use lab_support::{Cluster, NodeConf, SOON, wait_until};
use nix::sys::signal::Signal;

#[test]
fn nopreempt_keeps_the_incumbent_master() {
    let Some(mut c) = Cluster::new("vipex-lab-nopreempt", 2, 0) else {
        return;
    };
    let mut high = NodeConf::new(200);
    high.preempt = false;
    c.configure(0, &high);
    c.configure(1, &NodeConf::new(100));
    // node2 (100) first: it becomes master alone.
    c.start(1);
    c.wait_master(1);
    // node1 (200, nopreempt) joins: it stays backup.
    c.start(0);
    assert!(
        wait_until(SOON, || c.state(0) == "backup"),
        "node1: {}",
        c.state(0)
    );
    let sampler = c.sampler();
    // Several Master_Down_Intervals (~0.35 s each): nothing moves.
    std::thread::sleep(Duration::from_millis(1500));
    let samples = sampler.assert_never_two_holders();
    assert!(
        samples.iter().all(|(_, h)| !h[0] && h[1]),
        "the VIP stayed on node2 at every sample"
    );
    assert_eq!(c.state(0), "backup");
    assert_eq!(c.state(1), "master");
    // The incumbent goes: node1 takes over.
    c.signal(1, Signal::SIGTERM);
    c.wait_master(0);
}
