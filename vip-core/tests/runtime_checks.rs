//! Tracked checks: rise/fall debouncing feeds the machine only debounced changes; a check that
//! times out counts as a failure; a weight-0 check puts the instance in Fault.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::Arc;
use std::time::Duration;

use runtime_support::*;
use vip_core::Priority;
use vip_core::election::{CheckStatus, EventKind, Reason, State, StopMode};
use vip_core::runtime::{CheckSchedule, InstanceSpec, Runtime};

fn schedule(rise: u32, fall: u32) -> CheckSchedule {
    CheckSchedule {
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(300),
        rise,
        fall,
        initial: None,
    }
}

fn spec(log: &Log, name: &str) -> InstanceSpec {
    InstanceSpec::new(
        name,
        fast_config(11, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
        Arc::new(FakeAddresses::new(log.clone())),
        Arc::new(FakeSink { log: log.clone() }),
    )
}

fn priority_changes(events: &[vip_core::election::Event]) -> Vec<(u64, u8)> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::PriorityChanged { priority } => {
                Some((e.at.as_micros() / 1_000_000, priority.get()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn only_debounced_changes_reach_the_machine() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    // Run 0 is before the start, run n at n seconds.
    let script = [
        true, false, false, true, false, false, false, true, false, true, true, true,
    ];
    let check = Arc::new(ScriptedCheck::new(
        log.clone(),
        script.iter().map(|&b| Some(b)).collect(),
    ));
    let handle = rt
        .spawn(spec(&log, "checks").check(check, schedule(2, 3), 50))
        .unwrap();
    let mut events = handle.events();
    wait_status(&handle, Duration::from_secs(1), |s| {
        s.state == State::Backup
    })
    .await;
    assert_eq!(
        handle.status().effective_priority,
        Priority::new(150),
        "first run passed"
    );
    assert_eq!(handle.status().checks, vec![Some(CheckStatus::Passing)]);

    tokio::time::sleep(Duration::from_millis(11_500)).await;
    assert_eq!(
        log.names()
            .iter()
            .filter(|s| s.starts_with("check"))
            .count(),
        script.len()
    );
    // fall 3: failing after runs 4, 5, 6 (run 3 passed and reset the streak).
    // rise 2: passing after runs 9, 10 (run 8 failed and reset the streak).
    assert_eq!(
        priority_changes(&drain(&mut events)),
        vec![(6, 100), (10, 150)]
    );
    assert_eq!(handle.status().checks, vec![Some(CheckStatus::Passing)]);
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn a_check_that_times_out_fails() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let check = Arc::new(ScriptedCheck::new(log.clone(), vec![Some(true), None]));
    let handle = rt
        .spawn(spec(&log, "timeout").check(check, schedule(1, 1), 20))
        .unwrap();
    let mut events = handle.events();
    wait_status(&handle, Duration::from_secs(1), |s| {
        s.effective_priority == Priority::new(120)
    })
    .await;
    let s = wait_status(&handle, Duration::from_secs(3), |s| {
        s.checks == vec![Some(CheckStatus::Failing)]
    })
    .await;
    assert_eq!(s.effective_priority, Priority::new(100));
    let changes = drain(&mut events);
    let at = changes
        .iter()
        .find(|e| matches!(e.kind, EventKind::PriorityChanged { .. }));
    // Run 1 started at 1 s and was cut off at its 300 ms timeout.
    assert_eq!(at.unwrap().at.as_micros(), 1_300_000);
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn failing_fault_check_holds_the_instance_in_fault_from_the_start() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let check = Arc::new(ScriptedCheck::new(
        log.clone(),
        vec![Some(false), Some(false), Some(true)],
    ));
    let handle = rt
        .spawn(spec(&log, "fault").check(check, schedule(1, 1), 0))
        .unwrap();
    let mut events = handle.events();
    let s = wait_status(&handle, Duration::from_millis(100), |s| {
        s.state != State::Initialize
    })
    .await;
    assert_eq!(
        s.state,
        State::Fault,
        "the first run happens before the start"
    );
    assert_eq!(
        s.last_transition.unwrap().reason,
        Reason::CheckFault { index: 0 }
    );
    // Run 2 (at 2 s) passes: the fault clears.
    let s = wait_status(&handle, Duration::from_secs(3), |s| {
        s.state == State::Backup
    })
    .await;
    assert_eq!(s.last_transition.unwrap().reason, Reason::FaultCleared);
    assert_eq!(
        transitions(&drain(&mut events)),
        vec![
            (State::Initialize, State::Fault),
            (State::Fault, State::Backup)
        ]
    );
    assert_eq!(log.count("add"), 0);
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn an_initial_status_is_assumed_until_rise_successes() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let check = Arc::new(ScriptedCheck::new(log.clone(), vec![Some(true)]));
    let schedule = CheckSchedule {
        initial: Some(CheckStatus::Failing),
        ..schedule(2, 1)
    };
    let handle = rt
        .spawn(spec(&log, "initial").check(check, schedule, 50))
        .unwrap();
    let mut events = handle.events();
    let s = wait_status(&handle, Duration::from_millis(10), |s| {
        s.phase == vip_core::runtime::Phase::Running
    })
    .await;
    assert_eq!(s.effective_priority, Priority::new(100), "assumed failing");
    let runs = log
        .names()
        .iter()
        .filter(|n| n.starts_with("check"))
        .count();
    assert_eq!(runs, 0, "with an initial status, no run before the start");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    // Runs at 1 s and 2 s pass: rise 2 reached at 2 s.
    assert_eq!(priority_changes(&drain(&mut events)), vec![(2, 150)]);
    handle.stop(StopMode::Release).await;
}
