//! Liveness: after the faults stop, exactly one node holds the VIP within the bound, and it is
//! the right one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_support;

use proptest::prelude::*;
use sim_support::*;
use vip_core::election::FencePolicy;
use vip_core::sim::Sim;

fn live(s: &Scenario, trace: bool) -> (Sim, Result<(), Violation>) {
    let bound = s.liveness_bound();
    let (sim, settled) = run_settled(s, trace, bound + OBSERVE);
    if settled.is_err() {
        return (sim, settled);
    }
    let res = check_live(s, &sim, bound);
    (sim, res)
}

fn check_live(s: &Scenario, sim: &Sim, bound: std::time::Duration) -> Result<(), Violation> {
    let quiet_from = sim.last_disturbance();
    let deadline = quiet_from + bound;
    let oracle = sim.oracle();
    if let Some((t, h)) = oracle.timeline().iter().find(|(t, _)| *t > deadline) {
        return Err(Violation::new(
            Some(*t),
            format!(
                "holders still change after the bound: at {t} they became {h:?} (quiet from {quiet_from}, bound {bound:?})"
            ),
        ));
    }
    let holders = oracle.holders_at(deadline).to_vec();
    let eligible: Vec<usize> = (0..sim.len()).filter(|&i| sim.truly_eligible(i)).collect();
    let expected = sim.expected_holder();
    let before = oracle.holders_at(quiet_from);
    let incumbent = match before {
        [one] if eligible.contains(one) => Some(*one),
        _ => None,
    };
    let ok = if s.preempt {
        // The eligible nodes with the highest effective priority. RFC 9568 6.4.2: a backup
        // whose priority equals the master's resets its timer (no preemption on a tie), and
        // 6.4.3: of two masters with equal priority the higher address stays. So among equal
        // top priorities the incumbent keeps the VIP; without one, any of them may win.
        let top_priority = eligible.iter().filter_map(|&i| sim.true_priority(i)).max();
        let top: Vec<usize> = eligible
            .iter()
            .copied()
            .filter(|&i| sim.true_priority(i) == top_priority)
            .collect();
        match incumbent {
            _ if top.is_empty() => holders.is_empty(),
            Some(i) if top.contains(&i) => holders == vec![i],
            _ => holders.len() == 1 && top.contains(&holders[0]),
        }
    } else {
        match incumbent {
            Some(i) => holders == vec![i],
            None if eligible.is_empty() => holders.is_empty(),
            None => holders.len() == 1 && eligible.contains(&holders[0]),
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Violation::new(
            Some(deadline),
            format!(
                "at {deadline} (quiet from {quiet_from} + bound {bound:?}) holders are {holders:?}; \
                 eligible {eligible:?}, expected {expected:?} (preempt {}), holders at quiet start {:?}, \
                 states {:?}",
                s.preempt,
                oracle.holders_at(quiet_from),
                (0..sim.len()).map(|i| sim.state(i)).collect::<Vec<_>>()
            ),
        ))
    }
}

/// With STONITH, after any fault schedule.
#[test]
fn one_right_holder_after_faults_with_stonith() {
    check_property(
        "liveness/always",
        scenarios(
            2..=4,
            Classes::All,
            true,
            FencePolicy::Always,
            any::<bool>(),
        ),
        live,
    );
}

/// Without a fencer, after any fault schedule.
#[test]
fn one_right_holder_after_faults_without_fencer() {
    check_property(
        "liveness/no-fencer",
        scenarios(
            2..=4,
            Classes::All,
            false,
            FencePolicy::IfInUse,
            any::<bool>(),
        ),
        live,
    );
}
