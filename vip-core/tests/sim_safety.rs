//! Safety: with fencing available, no instant has two holders.
#![cfg(feature = "sim")]
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

/// STONITH (FencePolicy::Always) on two nodes under every fault class, partitions and total
/// loss bursts included. The bound tested (`sim_overlap.rs` measures each limit):
/// - preempt off: a partition that starts while a backup preempts leaves the preemptor unable
///   to tell a master that stepped down from one cut off, and a preemption does not fence;
/// - a fenced node stays powered off past the faults (stonith-action=off), and no node joins
///   the election (daemon restart, link up, fault cleared, role gained) inside a partition or
///   shortly before one: a node that joins while the holder is cut off has heard no master,
///   so it has nobody to fence;
/// - loss is total and symmetric: partial or one-way loss can hide the holder from the in-use
///   probe while adverts still get through.
/// - 3 or more nodes are not covered: without quorum, when a partition cuts one backup off
///   from the master and the other backup, both backups see the master go silent, both fence
///   it, and both take over, each unseen by the other.
#[test]
fn no_two_holders_with_stonith_two_nodes() {
    let strategy = scenarios(
        2..=2,
        Classes::WholeSplits,
        true,
        FencePolicy::Always,
        any::<bool>(),
    )
    .prop_filter("no daemon start inside a partition", |s| {
        !s.joins_inside_network_split() && !s.link_flaps_while_stopped()
    })
    .prop_map(|mut s| {
        s.preempt = false;
        s.fence_reboot = Duration::from_secs(60);
        s
    });
    check_property("safety/always/2 nodes", strategy, safe);
}

/// Fence-if-in-use under every fault that leaves the in-use probe working (no partition, no
/// loss, no link flap while the daemon is stopped), on 2..=4 nodes.
#[test]
fn no_two_holders_fence_if_in_use_without_network_splits() {
    let strategy = scenarios(
        2..=4,
        Classes::NoNetworkSplit,
        true,
        FencePolicy::IfInUse,
        any::<bool>(),
    )
    .prop_filter("no link flap while stopped", |s| {
        !s.link_flaps_while_stopped()
    });
    check_property("safety/if-in-use", strategy, safe);
}

/// STONITH on 2..=4 nodes under every fault that leaves the in-use probe working (no
/// partition, no loss, no link flap while the daemon is stopped), with fenced nodes rebooting
/// after 1 s.
#[test]
fn no_two_holders_with_stonith_without_network_splits() {
    let strategy = scenarios(
        2..=4,
        Classes::NoNetworkSplit,
        true,
        FencePolicy::Always,
        any::<bool>(),
    )
    .prop_filter("no link flap while stopped", |s| {
        !s.link_flaps_while_stopped()
    });
    check_property("safety/always/no-split", strategy, safe);
}

/// STONITH on 2..=4 nodes under the kernel's address faults (operations failing or slow, a
/// restart whose reconcile fails before it succeeds) with the no-split faults, fenced nodes
/// rebooting after 1 s.
#[test]
fn no_two_holders_with_stonith_under_address_faults() {
    let strategy = scenarios(
        2..=4,
        Classes::AddressFaults,
        true,
        FencePolicy::Always,
        any::<bool>(),
    )
    .prop_filter("no link flap while stopped", |s| {
        !s.link_flaps_while_stopped()
    })
    .prop_filter(
        "no removal failing behind a down link (bounded in sim_chaos_incidents)",
        |s| !s.removal_fails_while_link_down(),
    );
    check_property("safety/always/address-faults", strategy, safe);
}
