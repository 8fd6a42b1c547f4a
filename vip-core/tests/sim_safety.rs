//! Safety: with fencing available, no instant has two holders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_support;

use std::time::Duration;

use proptest::prelude::*;
use sim_support::*;
use vip_core::election::FencePolicy;

fn safe(s: &Scenario, trace: bool) -> (vip_core::sim::Sim, Result<(), Violation>) {
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

/// STONITH (FencePolicy::Always) under every fault class, partitions and loss included, on two
/// nodes.
#[test]
fn no_two_holders_with_stonith_two_nodes() {
    check_property(
        "safety/always/2 nodes",
        scenarios(
            2..=2,
            Classes::All,
            true,
            FencePolicy::Always,
            any::<bool>(),
        ),
        safe,
    );
}

/// Fence-if-in-use under every fault that leaves the in-use probe working (no partition, no
/// loss), on 2..=4 nodes.
#[test]
fn no_two_holders_fence_if_in_use_without_network_splits() {
    check_property(
        "safety/if-in-use",
        scenarios(
            2..=4,
            Classes::NoNetworkSplit,
            true,
            FencePolicy::IfInUse,
            any::<bool>(),
        ),
        safe,
    );
}

/// STONITH on 3..=4 nodes without partitions or loss.
#[test]
fn no_two_holders_with_stonith_without_network_splits() {
    check_property(
        "safety/always/no-split",
        scenarios(
            3..=4,
            Classes::NoNetworkSplit,
            true,
            FencePolicy::Always,
            any::<bool>(),
        ),
        safe,
    );
}
