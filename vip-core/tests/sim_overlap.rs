//! Without a fencer: the worst overlap (two holders) per fault class, over many seeded
//! single-fault schedules. Prints a table (run with `--nocapture` to see it); asserts only that
//! every overlap ends within the liveness bound after its fault ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_support;

use std::time::Duration;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use sim_support::*;
use vip_core::election::FencePolicy;

struct Row {
    class: &'static str,
    runs: usize,
    with_overlap: usize,
    worst: Duration,
    worst_fault_len: Duration,
    worst_after_end: Duration,
}

fn measure(class: Classes, name: &'static str, runs: usize) -> Row {
    let strategy = (2usize..=4).prop_flat_map(move |n| {
        scenarios(
            n..=n,
            class,
            false,
            FencePolicy::IfInUse,
            proptest::prelude::Just(false),
        )
    });
    let mut runner = TestRunner::deterministic();
    let mut row = Row {
        class: name,
        runs,
        with_overlap: 0,
        worst: Duration::ZERO,
        worst_fault_len: Duration::ZERO,
        worst_after_end: Duration::ZERO,
    };
    for _ in 0..runs {
        let mut s = strategy.new_tree(&mut runner).unwrap().current();
        s.episodes.truncate(1);
        if s.episodes.is_empty() {
            continue;
        }
        let fault_end = schedule_end(&s);
        let fault_len = Duration::from_millis(s.episodes[0].len_ms);
        let bound = s.liveness_bound();
        let mut sim = s.sim(false);
        sim.run_until(fault_end + bound + Duration::from_secs(3))
            .unwrap();
        sim.finish();
        let overlaps = sim.oracle().overlaps();
        if !overlaps.is_empty() {
            row.with_overlap += 1;
        }
        for o in overlaps {
            let after = o.end.saturating_since(fault_end);
            assert!(
                after <= bound,
                "{name}: overlap {o:?} lasts {after:?} after the fault ended (bound {bound:?})\n{s:?}"
            );
            row.worst_after_end = row.worst_after_end.max(after);
            if o.duration() > row.worst {
                row.worst = o.duration();
                row.worst_fault_len = fault_len;
            }
        }
    }
    row
}

#[test]
fn worst_overlap_per_fault_class_without_fencer() {
    let runs: usize = std::env::var("SIM_OVERLAP_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let rows = [
        measure(Classes::Pause, "pause", runs),
        measure(Classes::Partition, "partition", runs),
        measure(Classes::Crash, "crash", runs),
        measure(Classes::PartialLoss, "loss", runs),
    ];
    println!(
        "worst overlap without a fencer (advert {}ms, 2..=4 nodes, one fault of 20 ms..4 s per run)",
        ADVERT.as_duration().as_millis()
    );
    println!(
        "{:<10} {:>6} {:>13} {:>14} {:>12} {:>20}",
        "class", "runs", "with overlap", "worst overlap", "(fault len)", "worst after fault end"
    );
    for r in &rows {
        println!(
            "{:<10} {:>6} {:>13} {:>14?} {:>12?} {:>20?}",
            r.class, r.runs, r.with_overlap, r.worst, r.worst_fault_len, r.worst_after_end
        );
    }
}
