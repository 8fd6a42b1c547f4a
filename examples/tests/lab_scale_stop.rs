//! A graceful stop of a node with many instances: two vipd nodes with 200 VRRPv3 instances
//! each (VRIDs 1-200, one VIP each in 203.0.113.0/24, adverts every 10 cs as in
//! `scripts/bench-scale`, so each address operation is bounded by 200 ms) settle with every VIP
//! on node1; SIGTERM to node1 (`on_stop = "release"`) must leave none of them on node1, and
//! node2 must then hold all 200. A daemon that exits leaving a VIP behind leaves it on a node
//! that nobody will ever move it from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod scale_support;

use std::time::{Duration, Instant};

use scale_support::{INSTANCES, ScalePair, held};
use vip_core::lab::wait_until;

/// Generous: 200 instances claim at once on a loaded 2-core machine.
const SETTLE: Duration = Duration::from_secs(60);
/// Generous: how long node1 may take to exit after SIGTERM.
const EXIT: Duration = Duration::from_secs(30);

#[test]
fn sigterm_of_a_two_hundred_instance_node_removes_every_vip() {
    let Some(mut pair) = ScalePair::settled("vipex-lab-scstop", "10cs", SETTLE) else {
        return;
    };
    let mut node1 = pair.vipds.remove(0);
    let stop = Instant::now();
    node1.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
    let exited = node1.wait_timeout(EXIT);
    let took = stop.elapsed();
    let left = held(&pair.nodes[0]);
    assert!(
        exited,
        "node1 still running {EXIT:?} after SIGTERM\n{}",
        pair.logs()
    );
    assert_eq!(
        left,
        0,
        "node1 exited after {took:?} leaving {left} of {INSTANCES} VIPs\n{}",
        pair.logs()
    );
    // Had a removal failed twice (in the release and once more after the stop), the node
    // would have said so.
    assert!(
        !pair.logs().contains("remove them by hand"),
        "{}",
        pair.logs()
    );
    eprintln!("node1 exited {took:?} after SIGTERM with no VIP left");
    let moved = wait_until(SETTLE, || held(&pair.nodes[1]) == usize::from(INSTANCES));
    assert!(
        moved,
        "node2 holds {} of {INSTANCES} VIPs {:?} after node1's stop\n{}",
        held(&pair.nodes[1]),
        stop.elapsed(),
        pair.logs()
    );
    eprintln!(
        "node2 holds all {INSTANCES} VIPs {:?} after SIGTERM",
        stop.elapsed()
    );
}
