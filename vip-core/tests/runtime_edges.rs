//! Inputs from the edges reach the machine through the handle: link events, an externally
//! removed VIP, adverts (and an advert flood is refused, not queued without bound).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use runtime_support::*;
use vip_core::PeerId;
use vip_core::election::{EventKind, Reason, State, StopMode};
use vip_core::runtime::{HandleError, InstanceHandle, InstanceSpec, Runtime};

fn spec(log: &Log, name: &str) -> InstanceSpec {
    spec_with(log, name, Duration::ZERO)
}

fn spec_with(log: &Log, name: &str, remove_delay: Duration) -> InstanceSpec {
    let mut addresses = FakeAddresses::new(log.clone());
    addresses.remove_delay = remove_delay;
    InstanceSpec::new(
        name,
        fast_config(41, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
        Arc::new(addresses),
        Arc::new(FakeSink { log: log.clone() }),
    )
}

#[test]
fn handle_and_runtime_are_shareable() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<InstanceHandle>();
    shareable::<Runtime>();
}

#[tokio::test(start_paused = true)]
async fn link_down_releases_and_link_up_rejoins() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let handle = rt.spawn(spec(&log, "link")).unwrap();
    wait_status(&handle, Duration::from_secs(1), |s| {
        s.state == State::Master
    })
    .await;

    handle.link(false).unwrap();
    let s = wait_status(&handle, Duration::from_millis(10), |s| {
        s.state == State::Fault
    })
    .await;
    assert_eq!(s.last_transition.unwrap().reason, Reason::LinkDown);
    let s = wait_status(&handle, Duration::from_millis(10), |s| !s.holds_vips).await;
    assert_eq!(s.state, State::Fault);
    assert_eq!(log.count("remove done"), 1);

    handle.link(true).unwrap();
    let s = wait_status(&handle, Duration::from_millis(10), |s| {
        s.state == State::Backup
    })
    .await;
    assert_eq!(s.last_transition.unwrap().reason, Reason::FaultCleared);
    wait_status(&handle, Duration::from_secs(1), |s| {
        s.state == State::Master
    })
    .await;
    assert_eq!(log.count("add"), 2);
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn vip_removed_externally_is_reclaimed_through_the_probe() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    // The removal is slower than the in-use probe: the re-add is decided before the removal
    // returns, and the lane still runs it after the removal.
    let handle = rt
        .spawn(spec_with(&log, "removed", Duration::from_millis(20)))
        .unwrap();
    let mut events = handle.events();
    wait_status(&handle, Duration::from_secs(1), |s| {
        s.state == State::Master
    })
    .await;
    let probes = log.count("probe");

    handle.vip_removed().unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let evs = drain(&mut events);
    assert!(
        evs.iter()
            .any(|e| e.kind == EventKind::Alarm && e.reason == Reason::VipRemovedExternally),
        "{evs:?}"
    );
    assert_eq!(
        log.count("probe"),
        probes + 1,
        "the VIP is probed before it is added again"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let s = handle.status();
    assert_eq!(s.state, State::Master);
    assert!(
        s.holds_vips,
        "the status follows the interface: removed, then added again"
    );
    assert_eq!(log.count("add"), 2);
    let names = log.names();
    let second_add = names.iter().rposition(|n| n == "add").unwrap();
    assert!(log.index("remove done").unwrap() < second_add, "{names:?}");
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn adverts_keep_a_backup_and_name_the_master() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let handle = rt.spawn(spec(&log, "backup")).unwrap();
    // A master at 200 advertises every 100 ms for 2 s: this node never claims.
    for _ in 0..20 {
        handle.advert(advert("198.51.100.2", 200)).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let s = handle.status();
        assert_eq!(s.state, State::Backup);
        assert_eq!(s.master, Some(PeerId(addr("198.51.100.2"))));
    }
    assert_eq!(log.count("add"), 0);
    // It releases with priority 0: this node takes over after Skew_Time, with a probe first.
    handle.advert(advert("198.51.100.2", 0)).unwrap();
    let s = wait_status(&handle, Duration::from_millis(100), |s| {
        s.state == State::Master
    })
    .await;
    assert_eq!(
        s.last_transition.unwrap().reason,
        Reason::VipFree,
        "claimed after the in-use probe said free"
    );
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn an_advert_flood_is_refused_not_queued() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let handle = rt.spawn(spec(&log, "flood").advert_queue(2)).unwrap();
    // The instance task has not run yet (current-thread runtime, no await since the spawn).
    assert_eq!(handle.advert(advert("198.51.100.2", 200)), Ok(()));
    assert_eq!(handle.advert(advert("198.51.100.2", 200)), Ok(()));
    assert_eq!(
        handle.advert(advert("198.51.100.2", 200)),
        Err(HandleError::Busy)
    );
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(handle.advert(advert("198.51.100.2", 200)), Ok(()));
    handle.stop(StopMode::Release).await;
    assert_eq!(
        handle.advert(advert("198.51.100.2", 200)),
        Err(HandleError::Stopped)
    );
}

/// The same wiring on a multi-threaded runtime in real time (no timing asserted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_a_multi_threaded_runtime() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let (handle, mut events) = rt.spawn_with_events(spec(&log, "mt")).unwrap();
    wait_status(&handle, Duration::from_secs(30), |s| {
        s.state == State::Master
    })
    .await;
    // The receiver from spawn_with_events saw the very first transition.
    let first = events.recv().await.unwrap();
    assert_eq!(
        transitions(std::slice::from_ref(&first)),
        vec![(State::Initialize, State::Backup)]
    );
    assert_eq!(first.reason, Reason::Started);
    let last = handle.stop(StopMode::Release).await;
    assert!(!last.holds_vips);
    assert!(log.index("remove done").unwrap() < log.index("advert 0").unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_failed_release_is_retried_until_the_vips_are_gone() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let addresses = FakeAddresses::new(log.clone());
    addresses.remove_failures.store(2, Ordering::SeqCst);
    let handle = rt
        .spawn(InstanceSpec::new(
            "retry",
            fast_config(44, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
            Arc::new(addresses),
            Arc::new(FakeSink { log: log.clone() }),
        ))
        .unwrap();
    wait_status(&handle, Duration::from_secs(1), |s| {
        s.state == State::Master && s.holds_vips
    })
    .await;
    // Preempted by a better master: the removal times out twice, so the VIPs may still be on
    // the interface; the status says so until a retry succeeds (10 cs, then 20 cs later).
    handle.advert(advert("198.51.100.2", 200)).unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let s = handle.status();
    assert_eq!(s.state, State::Backup);
    assert!(s.holds_vips, "a failed removal may have left them");
    let s = wait_status(&handle, Duration::from_millis(400), |s| !s.holds_vips).await;
    assert_eq!(s.state, State::Backup);
    assert_eq!(log.count("remove failed"), 2);
    assert_eq!(log.count("remove done"), 1);
    let failed = log.when("remove failed").unwrap();
    let done = log.when("remove done").unwrap();
    assert!(done > failed, "{:?}", log.names());
    handle.stop(StopMode::Release).await;
    assert_eq!(
        log.count("remove done"),
        1,
        "nothing left to remove on stop"
    );
}

/// An event hook sees every event, in order, before the broadcast's subscribers: the same
/// events a receiver from `spawn_with_events` sees, even with a broadcast of one slot that the
/// receiver falls behind.
#[tokio::test(start_paused = true)]
async fn the_event_hook_sees_every_event_in_order() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook = {
        let seen = seen.clone();
        Arc::new(move |e: &vip_core::election::Event| seen.lock().unwrap().push(e.clone()))
    };
    let (handle, mut events) = rt
        .spawn_with_events(spec(&log, "hook").event_hook(hook).event_capacity(1))
        .unwrap();
    wait_status(&handle, Duration::from_secs(30), |s| {
        s.state == State::Master
    })
    .await;
    handle.stop(StopMode::Release).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        transitions(&seen),
        vec![
            (State::Initialize, State::Backup),
            (State::Backup, State::Claiming),
            (State::Claiming, State::Master),
            (State::Master, State::Initialize),
        ],
        "{seen:?}"
    );
    // The broadcast of one slot kept only the newest; the hook lost nothing.
    let mut received = Vec::new();
    loop {
        match events.recv().await {
            Ok(e) => received.push(e),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
        }
    }
    assert!(received.len() < seen.len(), "{received:?}");
    assert_eq!(received.last(), seen.last());
}
