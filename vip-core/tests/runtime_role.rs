//! The role probe: polled on its schedule, re-run at once on `reprobe()`, gating the election.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::Arc;
use std::time::Duration;

use runtime_support::*;
use vip_core::Role;
use vip_core::election::{Reason, State, StopMode};
use vip_core::runtime::{InstanceSpec, RoleSchedule, Runtime};

fn spec(log: &Log, role: Arc<ScriptedRole>, interval: Duration) -> InstanceSpec {
    InstanceSpec::new(
        "role",
        fast_config(9, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
        Arc::new(FakeAddresses::new(log.clone())),
        Arc::new(FakeSink { log: log.clone() }),
    )
    .role_probe(
        role,
        RoleSchedule {
            interval,
            timeout: Duration::from_millis(200),
        },
    )
}

#[tokio::test(start_paused = true)]
async fn reprobe_triggers_an_immediate_probe() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let role = Arc::new(ScriptedRole::new(
        log.clone(),
        vec![RoleStep::Answer(Role::Standby)],
    ));
    let handle = rt
        .spawn(spec(&log, role.clone(), Duration::from_secs(30)))
        .unwrap();
    wait_status(&handle, Duration::from_secs(1), |s| s.role.is_some()).await;
    assert_eq!(role.calls(), 1, "one probe at start");

    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(role.calls(), 1, "the next scheduled probe is 30 s away");
    let asked = handle.clock().now();
    handle.reprobe();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(role.calls(), 2, "reprobe ran the probe at once");
    let probes: Vec<_> = log
        .entries()
        .into_iter()
        .filter(|(_, s)| s == "role probe")
        .collect();
    assert_eq!(probes[1].0, asked);
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn standby_never_claims_and_primary_gets_the_vip() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let role = Arc::new(ScriptedRole::new(
        log.clone(),
        vec![RoleStep::Answer(Role::Standby)],
    ));
    let handle = rt
        .spawn(spec(&log, role.clone(), Duration::from_secs(1)))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        handle.status().state,
        State::Backup,
        "a standby never claims"
    );
    assert_eq!(handle.status().role, Some(Role::Standby));
    assert_eq!(log.count("add"), 0);

    // repmgr promoted this node: the next answer says Primary; reprobe makes it immediate.
    *role.last.lock().unwrap() = RoleStep::Answer(Role::Primary);
    handle.reprobe();
    let s = wait_status(&handle, Duration::from_millis(100), |s| {
        s.state == State::Master
    })
    .await;
    assert_eq!(s.role, Some(Role::Primary));
    assert_eq!(s.last_transition.unwrap().reason, Reason::VipFree);

    // Demoted: the master releases at the next answer.
    *role.last.lock().unwrap() = RoleStep::Answer(Role::Standby);
    handle.reprobe();
    let s = wait_status(&handle, Duration::from_millis(100), |s| {
        s.state == State::Backup
    })
    .await;
    assert_eq!(
        s.last_transition.unwrap().reason,
        Reason::RoleLost {
            role: Role::Standby
        }
    );
    handle.stop(StopMode::Release).await;
    assert!(log.index("remove done").unwrap() < log.index("advert 0").unwrap());
}
