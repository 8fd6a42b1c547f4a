//! Role: a node whose database is not primary holds no VIP longer than one role probe
//! interval plus the probe timeout, counted while its daemon runs. Margin: two kernel address
//! latencies (the removal itself, and an add already in flight ahead of it in the ordered
//! lane).
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_support;

use std::time::Duration;

use proptest::prelude::*;
use sim_support::*;
use vip_core::election::FencePolicy;
use vip_core::sim::Sim;

fn role_bound() -> Duration {
    ROLE_INTERVAL + ROLE_TIMEOUT + 2 * ADDRESS_LATENCY
}

fn role_ok(s: &Scenario, trace: bool) -> (Sim, Result<(), Violation>) {
    let mut sim = s.sim(trace);
    let end = schedule_end(s) + s.liveness_bound() + Duration::from_secs(2);
    let run = sim.run_until(end);
    sim.finish();
    let res = match (run, sim.oracle().worst_role_hold()) {
        (Err(e), _) => Err(Violation::new(Some(sim.now()), e.to_string())),
        (Ok(()), Some(w)) if w.held > role_bound() => Err(Violation::new(
            Some(w.from),
            format!(
                "n{} held the VIP {:?} from {} while not primary (bound {:?})",
                w.node,
                w.held,
                w.from,
                role_bound()
            ),
        )),
        (Ok(()), _) => Ok(()),
    };
    (sim, res)
}

#[test]
fn non_primary_releases_within_probe_bound() {
    check_property(
        "role",
        scenarios(2..=4, Classes::All, true, FencePolicy::Always, Just(true)),
        role_ok,
    );
}

#[test]
fn non_primary_releases_within_probe_bound_without_fencer() {
    check_property(
        "role/no-fencer",
        scenarios(2..=4, Classes::All, false, FencePolicy::IfInUse, Just(true)),
        role_ok,
    );
}
