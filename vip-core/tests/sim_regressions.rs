//! Shrunk schedules the properties found, kept as regression tests. Each names the machine
//! fix it checks.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_support;

use std::time::Duration;

use sim_support::*;
use vip_core::election::FencePolicy;
use vip_core::sim::Sim;

fn scenario(priorities: Vec<u8>, role_gated: bool, episodes: Vec<Episode>) -> Scenario {
    Scenario {
        seed: 0,
        priorities,
        preempt: false,
        role_gated,
        fencing: true,
        policy: FencePolicy::Always,
        episodes,
        fence_reboot: Duration::from_secs(60),
        boot_spread: Duration::ZERO,
        claim_hold: CLAIM_HOLD,
    }
}

fn run(s: &Scenario) -> Sim {
    let mut sim = s.sim(true);
    sim.run_until(schedule_end(s) + Duration::from_secs(3))
        .unwrap();
    sim.finish();
    sim
}

fn assert_single_holder(s: &Scenario, sim: &Sim) {
    if let Err(v) = no_overlap(sim) {
        panic!("{}\n{s:?}\n{}", v.message, trace_around(sim, v.at));
    }
}

/// Two equal backups booting together both claim at the same instant. With a claim hold of at
/// least one LAN delay each hears the other's claim before adding (fix: `claim_hold`).
#[test]
fn simultaneous_claimants_hear_each_other_before_adding() {
    for n in 2..=4 {
        let s = scenario(vec![100; n], false, vec![]);
        let sim = run(&s);
        assert_single_holder(&s, &sim);
        assert_eq!(sim.oracle().holders().len(), 1);
    }
}

/// A role-gated standby becomes primary inside a partition, after its Master_Down_Timer
/// expired: that is a master-down takeover, so STONITH fences the silent master first (fix:
/// role gained after master-down claims as MasterDown, not Other).
#[test]
fn role_gained_inside_partition_fences_the_silent_master() {
    let s = scenario(
        vec![100, 100],
        true,
        vec![
            ep(1_500, 1, Kind::Role { node: 1, role: 1 }),
            ep(2_000, 3_000, Kind::LossAll { percent: 100 }),
            ep(2_300, 1, Kind::Role { node: 1, role: 0 }),
        ],
    );
    let sim = run(&s);
    assert_single_holder(&s, &sim);
    assert!(sim.stats().fenced >= 1, "{}", sim.trace().join("\n"));
}

/// A master in Fault during a partition: the node that took over while it was in Fault is the
/// one to fence when the fault clears inside the partition (fix: Fault remembers the master).
#[test]
fn node_leaving_fault_inside_partition_fences_the_master_it_heard() {
    let mut s = scenario(
        vec![50, 100],
        false,
        vec![
            ep(1_500, 1_622, Kind::Check { node: 1, index: 0 }),
            ep(1_777, 1_706, Kind::LossAll { percent: 100 }),
        ],
    );
    s.preempt = true;
    let sim = run(&s);
    assert_single_holder(&s, &sim);
    assert!(sim.stats().fenced >= 1, "{}", sim.trace().join("\n"));
}

/// A claimant stopped (SIGSTOP) between fencing and the re-probe's answer resumes 1.4 s later
/// with a stale Free in its inbox while the fenced node has rebooted and claimed (fix: a
/// claimant whose Adver_Timer is overdue was stalled and probes again).
#[test]
fn claimant_resumed_after_a_stall_probes_again() {
    let mut s = scenario(
        vec![100, 100],
        true,
        vec![
            ep(1_500, 1, Kind::Role { node: 1, role: 0 }),
            ep(11_550, 1_360, Kind::Check { node: 0, index: 0 }),
            ep(13_412, 560, Kind::Pause { node: 1 }),
            ep(13_972, 1_383, Kind::Pause { node: 0 }),
        ],
    );
    s.preempt = true;
    s.fence_reboot = Duration::from_secs(1);
    let sim = run(&s);
    assert_single_holder(&s, &sim);
}
