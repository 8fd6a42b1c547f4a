//! Planned switchover and maintenance in the simulator: the VIP moves with at most two advert
//! intervals without a holder, never two holders, and stays where it was moved.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_support;

use std::time::Duration;

use sim_support::*;
use vip_core::Timestamp;
use vip_core::election::{FencePolicy, State, Switchover};
use vip_core::sim::{Fault, Sim, TimedFault};

fn at(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn cluster(priorities: Vec<u8>, seed: u64) -> Scenario {
    Scenario {
        seed,
        priorities,
        preempt: true,
        role_gated: false,
        fencing: false,
        policy: FencePolicy::IfInUse,
        episodes: vec![],
        fence_reboot: Duration::from_secs(1),
        boot_spread: Duration::ZERO,
        claim_hold: CLAIM_HOLD,
    }
}

fn run(s: &Scenario, faults: &[TimedFault], until_ms: u64) -> Sim {
    let mut sim = s.sim(true);
    sim.schedule(faults);
    sim.run_until(at(until_ms)).unwrap();
    sim.finish();
    sim
}

/// The longest time without any holder between `from` and `to`.
fn longest_gap(sim: &Sim, from: Timestamp, to: Timestamp) -> Duration {
    let timeline = sim.oracle().timeline();
    let mut longest = Duration::ZERO;
    let mut empty_since: Option<Timestamp> = None;
    for (t, holders) in timeline {
        if *t > to {
            break;
        }
        if holders.is_empty() {
            empty_since.get_or_insert((*t).max(from));
        } else if let Some(start) = empty_since.take()
            && *t >= from
        {
            longest = longest.max(t.saturating_since(start));
        }
    }
    if let Some(start) = empty_since {
        longest = longest.max(to.saturating_since(start));
    }
    longest
}

fn fault(ms: u64, fault: Fault) -> TimedFault {
    TimedFault { at: at(ms), fault }
}

fn assert_no_overlap(sim: &Sim) {
    assert!(
        sim.oracle().worst_overlap().is_none(),
        "two holders: {:?}\n{}",
        sim.oracle().worst_overlap(),
        sim.trace().join("\n")
    );
}

/// Two advert intervals (the target of a planned switchover).
const TWO_ADVERTS: Duration = Duration::from_millis(200);

#[test]
fn hand_over_moves_the_vip_to_the_best_backup_and_it_stays() {
    for seed in 1..=20 {
        let s = cluster(vec![200, 100, 150], seed);
        let sim = run(
            &s,
            &[fault(3_000, Fault::Switchover(0, Switchover::HandOver))],
            10_000,
        );
        assert_no_overlap(&sim);
        assert_eq!(sim.oracle().holders_at(at(2_900)), &[0]);
        // The best backup (priority 150) takes over, and node 0 does not preempt it back.
        assert_eq!(sim.oracle().holders(), &[2], "seed {seed}");
        assert_eq!(sim.state(0), Some(State::Backup));
        let gap = longest_gap(&sim, at(3_000), at(10_000));
        eprintln!("seed {seed}: longest time without a holder {gap:?}");
        assert!(gap <= TWO_ADVERTS, "seed {seed}: {gap:?} without a holder");
    }
}

#[test]
fn take_over_moves_the_vip_to_the_asking_node_and_it_stays() {
    for seed in 1..=20 {
        let s = cluster(vec![200, 100, 150], seed);
        let sim = run(
            &s,
            &[fault(3_000, Fault::Switchover(1, Switchover::TakeOver))],
            10_000,
        );
        assert_no_overlap(&sim);
        assert_eq!(sim.oracle().holders(), &[1], "seed {seed}");
        assert_eq!(sim.state(0), Some(State::Backup));
        let gap = longest_gap(&sim, at(3_000), at(10_000));
        eprintln!("seed {seed}: longest time without a holder {gap:?}");
        assert!(gap <= TWO_ADVERTS, "seed {seed}: {gap:?} without a holder");
    }
}

#[test]
fn switchover_under_delay_never_makes_two_holders() {
    for seed in 1..=20 {
        let s = cluster(vec![200, 100, 150], seed);
        let sim = run(
            &s,
            &[
                fault(
                    2_500,
                    Fault::Delay {
                        extra: Duration::from_millis(10),
                        jitter: Duration::from_millis(10),
                    },
                ),
                fault(3_000, Fault::Switchover(1, Switchover::TakeOver)),
                fault(6_000, Fault::Switchover(1, Switchover::HandOver)),
            ],
            12_000,
        );
        assert_no_overlap(&sim);
        // Handed back over: the best of the others (node 0, priority 200) holds.
        assert_eq!(sim.oracle().holders(), &[0], "seed {seed}");
    }
}

#[test]
fn a_takeover_ends_when_its_node_loses_the_vip() {
    let s = cluster(vec![200, 100], 3);
    let sim = run(
        &s,
        &[
            fault(3_000, Fault::Switchover(1, Switchover::TakeOver)),
            // Node 1's interface goes down: it releases, and node 0 takes the VIP back.
            fault(5_000, Fault::Link(1, false)),
            fault(6_000, Fault::Link(1, true)),
        ],
        10_000,
    );
    assert_no_overlap(&sim);
    // Node 1 is back at its own priority 100, so node 0 (200) keeps the VIP.
    assert_eq!(sim.oracle().holders(), &[0]);
    assert_eq!(sim.state(1), Some(State::Backup));
}

#[test]
fn maintenance_releases_and_never_claims_until_off() {
    let s = cluster(vec![200, 100], 5);
    let sim = run(
        &s,
        &[
            fault(3_000, Fault::Maintenance(0, true)),
            // Node 1 goes away: node 0, in maintenance, still does not claim.
            fault(5_000, Fault::Crash(1)),
            fault(8_000, Fault::Maintenance(0, false)),
        ],
        12_000,
    );
    assert_no_overlap(&sim);
    assert_eq!(sim.oracle().holders_at(at(4_000)), &[1]);
    // Node 1's crash leaves its VIP on its interface (the simulated kernel keeps it).
    assert!(!sim.oracle().holders_at(at(7_900)).contains(&0));
    assert!(longest_gap(&sim, at(3_000), at(5_000)) <= TWO_ADVERTS);
}

#[test]
fn maintenance_off_lets_a_higher_priority_node_preempt_again() {
    let s = cluster(vec![200, 100], 7);
    let sim = run(
        &s,
        &[
            fault(3_000, Fault::Maintenance(0, true)),
            fault(6_000, Fault::Maintenance(0, false)),
        ],
        10_000,
    );
    assert_no_overlap(&sim);
    assert_eq!(sim.oracle().holders_at(at(5_000)), &[1]);
    assert_eq!(sim.oracle().holders(), &[0]);
}

/// A seeded stream of numbers for drawing operator requests.
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[test]
fn operators_at_random_never_make_two_holders() {
    for seed in 1..=100u64 {
        let s = cluster(vec![200, 100, 150], seed);
        let mut draw = Draw(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut faults = vec![fault(
            1_500,
            Fault::Delay {
                extra: Duration::from_millis(draw.below(10)),
                jitter: Duration::from_millis(draw.below(10)),
            },
        )];
        for _ in 0..8 {
            let at_ms = 2_000 + draw.below(8_000);
            let node = usize::try_from(draw.below(3)).unwrap();
            let op = match draw.below(4) {
                0 => Fault::Switchover(node, Switchover::HandOver),
                1 => Fault::Switchover(node, Switchover::TakeOver),
                2 => Fault::Maintenance(node, true),
                _ => Fault::Maintenance(node, false),
            };
            faults.push(fault(at_ms, op));
        }
        for node in 0..3 {
            faults.push(fault(11_000, Fault::Maintenance(node, false)));
        }
        let mut sim = s.sim(true);
        sim.schedule(&faults);
        sim.run_until(at(14_000)).unwrap();
        sim.finish();
        assert!(
            sim.oracle().worst_overlap().is_none(),
            "seed {seed}: two holders {:?}\n{}",
            sim.oracle().worst_overlap(),
            sim.trace().join("\n")
        );
        assert_eq!(
            sim.oracle().holders().len(),
            1,
            "seed {seed}: the VIP is held once at the end"
        );
    }
}
