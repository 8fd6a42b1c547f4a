//! Liveness: after the faults stop, exactly one node holds the VIP within the bound, and it is
//! the right one.
#![cfg(feature = "sim")]
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
    // Preempt on: one of the eligible nodes with the highest effective priority. Among equal
    // top priorities any may win: RFC 9568 6.4.2 makes an equal-priority backup defer to the
    // master it hears, and 6.4.3 makes the lower address yield between two masters.
    // Preempt off: any one eligible node. The incumbent cannot be required: a node that was
    // already claiming at a higher priority when the faults ended legitimately takes over,
    // because a master steps down on a higher-priority advert whatever Preempt_Mode says
    // (RFC 9568 6.4.3).
    let top_priority = eligible.iter().filter_map(|&i| sim.true_priority(i)).max();
    let allowed: Vec<usize> = if s.preempt {
        eligible
            .iter()
            .copied()
            .filter(|&i| sim.true_priority(i) == top_priority)
            .collect()
    } else {
        eligible.clone()
    };
    let ok = match holders.as_slice() {
        [] => allowed.is_empty(),
        [one] => allowed.contains(one),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Violation::new(
            Some(deadline),
            format!(
                "at {deadline} (quiet from {quiet_from} + bound {bound:?}) holders are {holders:?}; \
                 eligible {eligible:?}, allowed {allowed:?}, expected with preempt {expected:?} (preempt {}), holders at quiet start {:?}, \
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

/// With STONITH, after the kernel's address faults (operations failing or slow, a restart whose
/// reconcile fails first) mixed with the no-split faults.
#[test]
fn one_right_holder_after_address_faults_with_stonith() {
    check_property(
        "liveness/always/address-faults",
        scenarios(
            2..=4,
            Classes::AddressFaults,
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

/// Found by the STONITH property: n1 crashed holding the VIP after n3 had become master, so the
/// in-use probe answered with n1's MAC while the last known master was n3. The fencer must act
/// on the host that answers (`FenceRequest::holder_mac`), not the master last heard, or the
/// claimant fences the wrong node until the crashed one restarts.
#[test]
fn fences_the_answering_host_not_the_last_master() {
    let ep = |start_ms, len_ms, kind| Episode {
        start_ms,
        len_ms,
        kind,
    };
    let s = Scenario {
        seed: 6849211948424085303,
        priorities: vec![154, 129, 100, 100],
        preempt: true,
        role_gated: false,
        fencing: true,
        policy: FencePolicy::Always,
        episodes: vec![
            ep(12110, 2751, Kind::LossAll { percent: 42 }),
            ep(14168, 693, Kind::LossAll { percent: 100 }),
            ep(14708, 3374, Kind::Crash { node: 1 }),
        ],
        fence_reboot: std::time::Duration::from_secs(1),
        boot_spread: std::time::Duration::ZERO,
        claim_hold: std::time::Duration::from_millis(25),
    };
    let (sim, res) = live(&s, true);
    if let Err(v) = res {
        panic!("{}\n{s:?}\n{}", v.message, trace_around(&sim, v.at));
    }
}
