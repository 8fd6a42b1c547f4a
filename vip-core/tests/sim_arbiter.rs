//! Safety with an ownership arbiter: a linearizable lease service with its own clock rate,
//! member loss and links of its own. No instant has two holders on 3 to 5 nodes under every
//! fault class (partitions, partial and one-way loss, pauses, crashes and restarts, nodes
//! joining inside a partition, link flaps), with or without a fencer, plus partitions and
//! one-way loss between nodes and the service and loss of its quorum. Liveness with an
//! arbiter: once the faults end, exactly one eligible node holds within a stated bound (a
//! claimant the arbiter refuses steps back, so it never keeps a node that can acquire from
//! taking over).
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_support;

use std::time::Duration;

use proptest::prelude::*;
use sim_support::*;
use vip_core::Timestamp;
use vip_core::election::FencePolicy;
use vip_core::sim::{ArbiterSpec, Fault, Sim, TimedFault};

/// A fault of the arbiter or of a node's link to it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ArbKind {
    /// Members lost: no quorum.
    Quorum,
    /// The node's requests (`to`) and the service's answers (`from`) get through or not.
    Link { node: usize, to: bool, from: bool },
}

/// A [`Scenario`] with the arbiter's clock rate and its own faults.
#[derive(Clone, Debug)]
struct Gated {
    base: Scenario,
    rate_permille: u32,
    faults: Vec<(u64, u64, ArbKind)>,
}

const TTL: Duration = Duration::from_secs(2);

impl Gated {
    fn sim(&self, trace: bool) -> Sim {
        let mut cfg = self.base.sim_config(trace);
        for node in &mut cfg.nodes {
            node.election.arbiter = true;
        }
        let mut spec = ArbiterSpec::new(TTL);
        spec.rate_permille = self.rate_permille;
        cfg.arbiter = Some(spec);
        let mut sim = Sim::new(cfg);
        sim.schedule(&self.base.schedule());
        let n = self.base.n();
        let mut faults = Vec::new();
        for (start, len, kind) in &self.faults {
            let (a, b) = (
                Timestamp::from_millis(*start),
                Timestamp::from_millis(start + len),
            );
            let (on, off) = match kind {
                ArbKind::Quorum => (Fault::ArbiterQuorum(false), Fault::ArbiterQuorum(true)),
                ArbKind::Link { node, to, from } => {
                    let node = node % n;
                    (
                        Fault::ArbiterLink {
                            node,
                            to: *to,
                            from: *from,
                        },
                        Fault::ArbiterLink {
                            node,
                            to: true,
                            from: true,
                        },
                    )
                }
            };
            faults.push(TimedFault { at: a, fault: on });
            faults.push(TimedFault { at: b, fault: off });
        }
        sim.schedule(&faults);
        sim
    }

    fn end(&self) -> Timestamp {
        let arb_end = self
            .faults
            .iter()
            .map(|(s, l, _)| Timestamp::from_millis(s + l))
            .max()
            .unwrap_or(Timestamp::ZERO);
        schedule_end(&self.base).max(arb_end) + TTL * 2 + Duration::from_secs(2)
    }
}

fn arb_faults() -> impl Strategy<Value = Vec<(u64, u64, ArbKind)>> {
    let kind = prop_oneof![
        1 => Just(ArbKind::Quorum),
        3 => (0usize..5, any::<bool>(), any::<bool>())
            .prop_map(|(node, to, from)| ArbKind::Link { node, to, from }),
    ];
    proptest::collection::vec((FAULTS_FROM_MS..FAULTS_UNTIL_MS, 20u64..5_000, kind), 0..=3)
}

fn gated(fencing: bool) -> impl Strategy<Value = Gated> {
    (
        scenarios(
            3..=5,
            Classes::All,
            fencing,
            FencePolicy::IfInUse,
            any::<bool>(),
        ),
        // Up to the clients' 5% drift allowance, fast or slow.
        950u32..=1050,
        arb_faults(),
    )
        .prop_map(|(base, rate_permille, faults)| Gated {
            base,
            rate_permille,
            faults,
        })
}

fn safe(g: &Gated, trace: bool) -> (Sim, Result<(), Violation>) {
    let mut sim = g.sim(trace);
    let run = sim.run_until(g.end());
    sim.finish();
    let res = match run {
        Err(e) => Err(Violation::new(Some(sim.now()), e.to_string())),
        Ok(()) => no_overlap(&sim),
    };
    (sim, res)
}

/// The liveness bound with an arbiter, after the last fault (VRRP's or the arbiter's), each
/// margin named:
/// - the scenario's own bound without an arbiter (master down, fence, hold, probes, address
///   operations, LAN delays, role learning, one largest back-off);
/// - a lease the service still holds for a node that cannot use it (its holder crashed, or a
///   request got through whose answer was lost): one TTL on the slowest service clock;
/// - a claim's patience while the grant is held elsewhere (`claim_backoff_max`), then a
///   refused node's quiet ask: up to one more largest back-off, plus a call timeout;
/// - the claim that follows a quiet grant: claim lead and hold plus one probe.
fn arbiter_bound(g: &Gated) -> Duration {
    let spec = ArbiterSpec::new(TTL);
    let slowest_ttl = TTL * 1000 / 950;
    g.base.liveness_bound()
        + slowest_ttl
        + 2 * BACKOFF_MAX
        + spec.call_timeout
        + ADVERT.as_duration()
        + CLAIM_HOLD
        + PROBE_TIMEOUT
}

/// Exactly one eligible node holds from the bound on, and it stays the holder.
fn live(g: &Gated, trace: bool) -> (Sim, Result<(), Violation>) {
    let bound = arbiter_bound(g);
    let mut sim = g.sim(trace);
    let end = g.end();
    if let Err(e) = sim.run_until(end) {
        let v = Violation::new(Some(sim.now()), e.to_string());
        return (sim, Err(v));
    }
    let limit = end + Duration::from_secs(60);
    let settled = sim.run_until_quiet(bound + OBSERVE, limit);
    sim.finish();
    match settled {
        Err(e) => {
            let v = Violation::new(Some(sim.now()), e.to_string());
            return (sim, Err(v));
        }
        Ok(false) => {
            let v = Violation::new(Some(sim.last_disturbance()), "never quiet");
            return (sim, Err(v));
        }
        Ok(true) => {}
    }
    if let Err(v) = no_overlap(&sim) {
        return (sim, Err(v));
    }
    let quiet_from = sim.last_disturbance();
    let deadline = quiet_from + bound;
    let oracle = sim.oracle();
    if let Some((t, h)) = oracle.timeline().iter().find(|(t, _)| *t > deadline) {
        let v = Violation::new(
            Some(*t),
            format!(
                "holders change after the bound: {h:?} at {t} (quiet from {quiet_from}, bound {bound:?})"
            ),
        );
        return (sim, Err(v));
    }
    let holders = oracle.holders_at(deadline).to_vec();
    let eligible: Vec<usize> = (0..sim.len()).filter(|&i| sim.truly_eligible(i)).collect();
    let ok = match holders.as_slice() {
        [] => eligible.is_empty(),
        [one] => eligible.contains(one),
        _ => false,
    };
    let res = if ok {
        Ok(())
    } else {
        Err(Violation::new(
            Some(deadline),
            format!(
                "at {deadline} (quiet from {quiet_from} + {bound:?}) holders are {holders:?}, eligible {eligible:?}, states {:?}",
                (0..sim.len()).map(|i| sim.state(i)).collect::<Vec<_>>()
            ),
        ))
    };
    (sim, res)
}

/// Runs `safe` over `strategy`; on failure re-runs the case with the trace on.
fn check(name: &str, strategy: impl Strategy<Value = Gated>) {
    check_with(name, strategy, safe);
}

/// Runs `property` over `strategy`; on failure re-runs the case with the trace on.
fn check_with(
    name: &str,
    strategy: impl Strategy<Value = Gated>,
    property: impl Fn(&Gated, bool) -> (Sim, Result<(), Violation>),
) {
    let config = ProptestConfig {
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&strategy, |g| match property(&g, false).1 {
        Ok(()) => Ok(()),
        Err(v) => Err(TestCaseError::fail(v.message)),
    });
    if let Err(proptest::test_runner::TestError::Fail(_, g)) = result {
        let (sim, outcome) = property(&g, true);
        let at = outcome.err().and_then(|v| v.at);
        panic!(
            "property {name} failed\n{g:#?}\ntrace:\n{}",
            trace_around(&sim, at)
        );
    } else if let Err(e) = result {
        panic!("property {name}: {e}");
    }
}

/// With or without a fencer (with one, a claimant that finds the grant held fences its holder
/// by token and revokes its lease): never two holders.
#[test]
fn never_two_holders_with_an_arbiter() {
    check("arbiter", prop_oneof![gated(false), gated(true)]);
}

/// Liveness: after any fault schedule (partitions of 3 to 5 nodes, one-way and partial loss,
/// pauses, crashes, joins inside a partition, arbiter quorum loss, one-way links to the
/// arbiter), with or without a fencer, exactly one eligible node holds the VIP within
/// [`arbiter_bound`] of the last fault and keeps it. The faults end, so every eligible node
/// can reach the arbiter's quorum by then.
#[test]
fn one_holder_after_faults_with_an_arbiter() {
    check_with(
        "arbiter liveness",
        prop_oneof![gated(false), gated(true)],
        live,
    );
}

/// The bug this property was written for: under one-way loss towards the master (its adverts
/// still reach the others, nothing reaches it, and neither do the arbiter's answers) the
/// cut-off node lost its grant and claimed at its priority again and again, so the others
/// stayed backups and nobody held the VIP until the loss ended. Now it steps back and a node
/// that can reach the arbiter takes over during the loss.
#[test]
fn one_way_loss_towards_the_master_hands_the_vip_to_a_node_that_can_acquire() {
    let ep = |kind| Episode {
        start_ms: 3_000,
        len_ms: 12_000,
        kind,
    };
    let g = Gated {
        base: Scenario {
            seed: 11,
            priorities: vec![100, 150, 200],
            preempt: true,
            role_gated: false,
            fencing: false,
            policy: FencePolicy::IfInUse,
            episodes: vec![
                ep(Kind::Loss {
                    from: 0,
                    to: 2,
                    percent: 100,
                }),
                ep(Kind::Loss {
                    from: 1,
                    to: 2,
                    percent: 100,
                }),
            ],
            fence_reboot: Duration::from_secs(1),
            boot_spread: Duration::ZERO,
            claim_hold: CLAIM_HOLD,
        },
        rate_permille: 1000,
        faults: vec![(
            3_000,
            12_000,
            ArbKind::Link {
                node: 2,
                to: true,
                from: false,
            },
        )],
    };
    let mut sim = g.sim(false);
    sim.run_until(Timestamp::from_millis(2_900)).unwrap();
    assert_eq!(
        sim.oracle().holders_at(Timestamp::from_millis(2_900)),
        vec![2]
    );
    sim.run_until(Timestamp::from_millis(20_000)).unwrap();
    sim.finish();
    assert!(no_overlap(&sim).is_ok());
    // Node 2 drops the VIP by its deadline; node 1 holds within the bound, for the rest of
    // the loss, and keeps it afterwards (node 2 does not preempt through a held grant).
    let by = Timestamp::from_millis(3_000) + arbiter_bound(&g);
    assert!(by < Timestamp::from_millis(15_000), "{by}");
    for at in [
        by,
        Timestamp::from_millis(14_900),
        Timestamp::from_millis(19_900),
    ] {
        assert_eq!(
            sim.oracle().holders_at(at),
            vec![1],
            "at {at}: {:?}",
            sim.oracle().timeline()
        );
    }
}

/// The symmetric case: the master cut off from the other nodes and from the arbiter. It drops
/// the VIP by its deadline, and a node on the other side holds it within the bound for the
/// rest of the cut, never alongside.
#[test]
fn a_partitioned_master_hands_the_vip_to_the_other_side_during_the_cut() {
    let g = Gated {
        base: Scenario {
            seed: 12,
            priorities: vec![100, 150, 200],
            preempt: true,
            role_gated: false,
            fencing: false,
            policy: FencePolicy::IfInUse,
            episodes: vec![Episode {
                start_ms: 3_000,
                len_ms: 12_000,
                kind: Kind::Partition {
                    groups: vec![0, 0, 1, 0],
                },
            }],
            fence_reboot: Duration::from_secs(1),
            boot_spread: Duration::ZERO,
            claim_hold: CLAIM_HOLD,
        },
        rate_permille: 1000,
        faults: vec![(
            3_000,
            12_000,
            ArbKind::Link {
                node: 2,
                to: false,
                from: false,
            },
        )],
    };
    let mut sim = g.sim(false);
    sim.run_until(Timestamp::from_millis(20_000)).unwrap();
    sim.finish();
    assert!(no_overlap(&sim).is_ok());
    let by = Timestamp::from_millis(3_000) + arbiter_bound(&g);
    for at in [by, Timestamp::from_millis(14_900)] {
        assert_eq!(
            sim.oracle().holders_at(at),
            vec![1],
            "at {at}: {:?}",
            sim.oracle().timeline()
        );
    }
}

/// After the faults the cluster settles on one holder: the arbiter does not stop a takeover.
#[test]
fn a_quiet_cluster_with_an_arbiter_has_a_holder() {
    let g = Gated {
        base: Scenario {
            seed: 7,
            priorities: vec![100, 150, 200],
            preempt: true,
            role_gated: false,
            fencing: false,
            policy: FencePolicy::IfInUse,
            episodes: vec![Episode {
                start_ms: 3_000,
                len_ms: 4_000,
                kind: Kind::Crash { node: 2 },
            }],
            fence_reboot: Duration::from_secs(1),
            boot_spread: Duration::ZERO,
            claim_hold: CLAIM_HOLD,
        },
        rate_permille: 1000,
        faults: vec![],
    };
    let mut sim = g.sim(false);
    sim.run_until(Timestamp::from_millis(2_900)).unwrap();
    assert_eq!(
        sim.oracle().holders_at(Timestamp::from_millis(2_900)),
        vec![2]
    );
    // The crashed holder's kernel lifetime and lease run out; node 1 takes over only then,
    // and gives the VIP back when node 2 returns (preempt).
    sim.run_until(Timestamp::from_millis(10_000)).unwrap();
    sim.finish();
    assert!(no_overlap(&sim).is_ok());
    let one_took_over = sim
        .oracle()
        .timeline()
        .iter()
        .find(|(_, h)| h == &vec![1])
        .map(|(t, _)| *t)
        .expect("node 1 took over");
    // Not before the crashed holder's lease (TTL 2 s from its last renewal) ran out.
    assert!(
        one_took_over > Timestamp::from_millis(3_900),
        "{one_took_over}"
    );
    assert_eq!(
        sim.oracle().holders_at(Timestamp::from_millis(10_000)),
        vec![2]
    );
}
