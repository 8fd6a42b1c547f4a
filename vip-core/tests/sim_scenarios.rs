//! Hand-written simulator scenarios: the basics the properties build on.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_support;

use std::time::Duration;

use sim_support::*;
use vip_core::Timestamp;
use vip_core::election::{FencePolicy, State};
use vip_core::sim::Daemon;

fn scenario(
    priorities: Vec<u8>,
    fencing: bool,
    policy: FencePolicy,
    episodes: Vec<Episode>,
) -> Scenario {
    Scenario {
        seed: 1,
        priorities,
        preempt: true,
        role_gated: false,
        fencing,
        policy,
        episodes,
        fence_reboot: Duration::from_secs(1),
        boot_spread: Duration::ZERO,
        claim_hold: CLAIM_HOLD,
    }
}

fn at(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[test]
fn same_seed_same_trace() {
    let s = scenario(
        vec![150, 100, 120],
        true,
        FencePolicy::Always,
        vec![
            Episode {
                start_ms: 2_000,
                len_ms: 700,
                kind: Kind::Crash { node: 0 },
            },
            Episode {
                start_ms: 3_000,
                len_ms: 900,
                kind: Kind::LossAll { percent: 40 },
            },
        ],
    );
    let run = || {
        let mut sim = s.sim(true);
        sim.run_until(at(8_000)).unwrap();
        sim.trace().to_vec()
    };
    let a = run();
    assert!(!a.is_empty());
    assert_eq!(a, run());
}

#[test]
fn highest_priority_node_takes_the_vip() {
    let s = scenario(vec![100, 200, 150], false, FencePolicy::IfInUse, vec![]);
    let mut sim = s.sim(false);
    sim.run_until(at(3_000)).unwrap();
    sim.finish();
    assert_eq!(sim.oracle().holders(), &[1]);
    assert_eq!(sim.state(1), Some(State::Master));
    assert!(sim.oracle().worst_overlap().is_none());
}

#[test]
fn crashed_master_fails_over_and_restart_reconciles() {
    let s = scenario(
        vec![200, 100],
        true,
        FencePolicy::IfInUse,
        vec![Episode {
            start_ms: 2_000,
            len_ms: 3_000,
            kind: Kind::Crash { node: 0 },
        }],
    );
    let mut sim = s.sim(true);
    sim.run_until(at(2_000)).unwrap();
    assert_eq!(sim.oracle().holders(), &[0]);
    // The crashed daemon's kernel keeps the VIP and answers the probe: node 1 fences node 0.
    sim.run_until(at(2_000) + s.liveness_bound()).unwrap();
    assert_eq!(sim.oracle().holders(), &[1], "{}", sim.trace().join("\n"));
    assert!(sim.stats().fenced >= 1);
    sim.run_until(at(9_000)).unwrap();
    sim.finish();
    // Node 0 booted again and, with preempt, took the VIP back.
    assert_eq!(sim.oracle().holders(), &[0]);
    assert!(sim.oracle().worst_overlap().is_none());
}

#[test]
fn paused_master_keeps_vip_and_blocks_takeover_without_fencer() {
    let s = scenario(
        vec![200, 100],
        false,
        FencePolicy::IfInUse,
        vec![Episode {
            start_ms: 2_000,
            len_ms: 2_000,
            kind: Kind::Pause { node: 0 },
        }],
    );
    let mut sim = s.sim(false);
    sim.run_until(at(3_500)).unwrap();
    assert_eq!(sim.daemon(0), Some(Daemon::Paused));
    // The paused daemon's kernel still answers for the VIP: node 1 must not add it.
    assert_eq!(sim.oracle().holders(), &[0]);
    sim.run_until(at(4_000) + s.liveness_bound() + Duration::from_secs(1))
        .unwrap();
    sim.finish();
    assert_eq!(sim.oracle().holders(), &[0]);
    assert!(sim.oracle().worst_overlap().is_none());
}

/// `vip_lifetime` without an arbiter: the paused master's adverts (and with them the lifetime
/// refreshes) stop, its kernel drops the VIP when the lifetime runs out, and the backup's
/// in-use probe then finds it free and takes over, never alongside it. Without the lifetime
/// (above) the paused master blocks the takeover for as long as it is paused.
#[test]
fn paused_master_with_a_vip_lifetime_loses_the_vip_and_the_backup_takes_over() {
    let s = scenario(
        vec![200, 100],
        false,
        FencePolicy::IfInUse,
        vec![Episode {
            start_ms: 2_000,
            len_ms: 6_000,
            kind: Kind::Pause { node: 0 },
        }],
    );
    let mut cfg = s.sim_config(false);
    for node in &mut cfg.nodes {
        node.election.vip_lifetime = Some(Duration::from_secs(2));
    }
    let mut sim = vip_core::sim::Sim::new(cfg);
    sim.schedule(&s.schedule());
    sim.run_until(at(2_000)).unwrap();
    assert_eq!(sim.oracle().holders(), &[0]);
    // Lifetime 2 s from the last refresh (whole seconds, rounded down: at most 2 s), then
    // the backup's next claim attempt (back-off at most 1 s) finds the VIP free.
    sim.run_until(at(2_000) + Duration::from_secs(2) + s.liveness_bound())
        .unwrap();
    assert_eq!(sim.oracle().holders(), &[1]);
    sim.run_until(at(12_000)).unwrap();
    sim.finish();
    // Resumed with preempt, node 0 takes the VIP back through the in-use probe.
    assert_eq!(sim.oracle().holders(), &[0]);
    assert!(sim.oracle().worst_overlap().is_none());
}
