//! Safety with an ownership arbiter: a linearizable lease service with its own clock rate,
//! member loss and links of its own. No instant has two holders on 3 to 5 nodes under every
//! fault class (partitions, partial and one-way loss, pauses, crashes and restarts, nodes
//! joining inside a partition, link flaps), with or without a fencer, plus partitions and
//! one-way loss between nodes and the service and loss of its quorum.
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

/// Runs `safe` over `strategy`; on failure re-runs the case with the trace on.
fn check(name: &str, strategy: impl Strategy<Value = Gated>) {
    let config = ProptestConfig {
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&strategy, |g| match safe(&g, false).1 {
        Ok(()) => Ok(()),
        Err(v) => Err(TestCaseError::fail(v.message)),
    });
    if let Err(proptest::test_runner::TestError::Fail(_, g)) = result {
        let (sim, outcome) = safe(&g, true);
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
                len_ms: 2_000,
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
    // The crashed holder's lease runs out; the next node takes over only then.
    sim.run_until(Timestamp::from_millis(8_000)).unwrap();
    sim.finish();
    assert!(no_overlap(&sim).is_ok());
    assert_eq!(
        sim.oracle().holders_at(Timestamp::from_millis(8_000)),
        vec![2]
    );
}
