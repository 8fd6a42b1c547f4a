//! A hanging backend is cut off at its bound and reported as a failure (real machine, paused
//! time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::Arc;
use std::time::Duration;

use runtime_support::*;
use vip_core::Role;
use vip_core::election::{EventKind, Reason, State, StopMode};
use vip_core::runtime::{InstanceSpec, RoleSchedule, Runtime, Timeouts};

const VIP: &str = "198.51.100.10";

#[tokio::test(start_paused = true)]
async fn hanging_fencer_is_cut_off_and_reported_failed() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let addresses = Arc::new(FakeAddresses::new(log.clone()).probe_mode(ProbeMode::Held));
    let timeouts = Timeouts {
        fence: Duration::from_secs(2),
        ..Timeouts::default()
    };
    let spec = InstanceSpec::new(
        "fence",
        fast_config(1, "198.51.100.1", vec![vip(VIP, "eth0")]),
        addresses,
        Arc::new(FakeSink { log: log.clone() }),
    )
    .fencer(Arc::new(HangingFencer { log: log.clone() }))
    .timeouts(timeouts);
    let handle = rt.spawn(spec).unwrap();
    let mut events = handle.events();

    let status = wait_status(&handle, Duration::from_secs(10), |s| s.last_alarm.is_some()).await;
    let fence_started = log.when("fence").expect("the machine asked to fence");
    let alarm = status.last_alarm.unwrap();
    match &alarm.reason {
        Reason::FenceFailed { detail } => assert!(detail.contains("timed out"), "{detail}"),
        other => panic!("unexpected alarm {other:?}"),
    }
    assert_eq!(
        alarm.at.saturating_since(fence_started),
        Duration::from_secs(2)
    );
    assert_eq!(status.state, State::Claiming);
    assert!(!status.holds_vips);
    assert_eq!(
        log.count("add"),
        0,
        "a VIP that still answers is never added"
    );
    let alarms: Vec<_> = drain(&mut events)
        .into_iter()
        .filter(|e| e.kind == EventKind::Alarm)
        .collect();
    assert_eq!(alarms.len(), 1);
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn hanging_in_use_probe_is_cut_off() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let addresses = Arc::new(FakeAddresses::new(log.clone()).probe_mode(ProbeMode::Hang));
    let config = fast_config(2, "198.51.100.1", vec![vip(VIP, "eth0")]);
    let bound = config.in_use_probe_timeout + Timeouts::default().probe_grace;
    let spec = InstanceSpec::new(
        "probe",
        config,
        addresses,
        Arc::new(FakeSink { log: log.clone() }),
    );
    let handle = rt.spawn(spec).unwrap();

    let status = wait_status(&handle, Duration::from_secs(10), |s| s.last_alarm.is_some()).await;
    let probe_started = log.when("probe").unwrap();
    let alarm = status.last_alarm.unwrap();
    assert_eq!(alarm.at.saturating_since(probe_started), bound);
    match &alarm.reason {
        Reason::ProbeFailed { detail } => assert!(detail.contains("timed out"), "{detail}"),
        other => panic!("unexpected alarm {other:?}"),
    }
    assert_eq!(status.state, State::Claiming);
    assert_eq!(log.count("add"), 0, "an unsure probe never adds the VIP");
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn hanging_role_probe_yields_unknown_and_master_releases() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let addresses = Arc::new(FakeAddresses::new(log.clone()));
    let role = Arc::new(ScriptedRole::new(
        log.clone(),
        vec![RoleStep::Answer(Role::Primary), RoleStep::Hang],
    ));
    let schedule = RoleSchedule {
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(200),
    };
    let spec = InstanceSpec::new(
        "role",
        fast_config(3, "198.51.100.1", vec![vip(VIP, "eth0")]),
        addresses,
        Arc::new(FakeSink { log: log.clone() }),
    )
    .role_probe(role.clone(), schedule);
    let handle = rt.spawn(spec).unwrap();

    wait_status(&handle, Duration::from_secs(1), |s| {
        s.state == State::Master
    })
    .await;
    assert_eq!(log.count("add"), 1);
    let status = wait_status(&handle, Duration::from_secs(5), |s| {
        s.state == State::Backup
    })
    .await;
    let t = status.last_transition.unwrap();
    assert_eq!((t.from, t.to), (State::Master, State::Backup));
    match &t.reason {
        Reason::RoleLost {
            role: Role::Unknown { reason },
        } => {
            assert!(reason.contains("timed out"), "{reason}")
        }
        other => panic!("unexpected reason {other:?}"),
    }
    // The second probe started at 1 s and hung; it was cut off at timeout + grace.
    let second_probe = log
        .entries()
        .into_iter()
        .filter(|(_, s)| s == "role probe")
        .nth(1);
    let bound = schedule.timeout + Timeouts::default().probe_grace;
    assert_eq!(t.at.saturating_since(second_probe.unwrap().0), bound);
    assert_eq!(
        status.role,
        Some(Role::unknown(match &t.reason {
            Reason::RoleLost {
                role: Role::Unknown { reason },
            } => reason.clone(),
            _ => unreachable!(),
        }))
    );
    // Self-fencing: the VIPs are removed, then priority 0 is advertised.
    let released = wait_status(&handle, Duration::from_secs(1), |s| !s.holds_vips).await;
    assert!(!released.holds_vips);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let names = log.names();
    let removed = log.index("remove done").unwrap();
    let advert0 = log.index("advert 0").unwrap();
    assert!(removed < advert0, "{names:?}");
    handle.stop(StopMode::Release).await;
}
