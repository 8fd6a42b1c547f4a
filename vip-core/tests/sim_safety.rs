//! Safety: with fencing available, no instant has two holders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_support;

use std::time::Duration;

use proptest::prelude::*;
use sim_support::*;
use vip_core::election::FencePolicy;
use vip_core::sim::Sim;

fn safe(s: &Scenario, trace: bool) -> (Sim, Result<(), Violation>) {
    let mut sim = s.sim(trace);
    let end = schedule_end(s) + s.liveness_bound() + Duration::from_secs(2);
    let run = sim.run_until(end);
    sim.finish();
    let res = match run {
        Err(e) => Err(Violation::new(Some(sim.now()), e.to_string())),
        Ok(()) => no_overlap(&sim),
    };
    (sim, res)
}

/// STONITH (FencePolicy::Always) on two nodes under every fault class, partitions and loss
/// included. Bound: a fenced node stays powered off past the faults (stonith-action=off), and
/// no crashed daemon restarts inside a partition or loss episode; a daemon that starts inside a
/// partition knows no master and so has nobody to fence (see `sim_limits.rs`).
#[test]
fn no_two_holders_with_stonith_two_nodes() {
    let strategy = scenarios(
        2..=2,
        Classes::All,
        true,
        FencePolicy::Always,
        any::<bool>(),
    )
    .prop_filter("no daemon start inside a partition", |s| {
        !s.restarts_inside_network_split()
    })
    .prop_map(|mut s| {
        s.fence_reboot = Duration::from_secs(60);
        s
    });
    check_property("safety/always/2 nodes", strategy, safe);
}

/// Fence-if-in-use under every fault that leaves the in-use probe working (no partition, no
/// loss), on 2..=4 nodes.
#[test]
fn no_two_holders_fence_if_in_use_without_network_splits() {
    let strategy = scenarios(
        2..=4,
        Classes::NoNetworkSplit,
        true,
        FencePolicy::IfInUse,
        any::<bool>(),
    );
    check_property("safety/if-in-use", strategy, safe);
}

/// STONITH on 2..=4 nodes under every fault that leaves the in-use probe working, with fenced
/// nodes rebooting after 1 s.
#[test]
fn no_two_holders_with_stonith_without_network_splits() {
    let strategy = scenarios(
        2..=4,
        Classes::NoNetworkSplit,
        true,
        FencePolicy::Always,
        any::<bool>(),
    );
    check_property("safety/always/no-split", strategy, safe);
}
