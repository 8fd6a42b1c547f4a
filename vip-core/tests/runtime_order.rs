//! Ordering of address operations and adverts: a release removes the VIPs before it advertises
//! priority 0, even when the removal is slow or hangs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::Arc;
use std::time::Duration;

use runtime_support::*;
use vip_core::election::{State, StopMode};
use vip_core::runtime::{InstanceSpec, Phase, Runtime, Timeouts};

async fn master(
    remove_delay: Duration,
    timeouts: Timeouts,
) -> (Runtime, Log, vip_core::runtime::InstanceHandle) {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let mut addresses = FakeAddresses::new(log.clone());
    addresses.remove_delay = remove_delay;
    let spec = InstanceSpec::new(
        "order",
        fast_config(7, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
        Arc::new(addresses),
        Arc::new(FakeSink { log: log.clone() }),
    )
    .timeouts(timeouts);
    let handle = rt.spawn(spec).unwrap();
    wait_status(&handle, Duration::from_secs(2), |s| {
        s.state == State::Master
    })
    .await;
    (rt, log, handle)
}

#[tokio::test(start_paused = true)]
async fn becoming_master_adds_then_announces() {
    let (_rt, log, handle) = master(Duration::ZERO, Timeouts::default()).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    let names = log.names();
    let add = log.index("add").unwrap();
    let announce = log.index("announce").unwrap();
    assert!(add < announce, "{names:?}");
    // The first adverts are at priority 100 (claiming, then master).
    assert!(log.count("advert 100") >= 1, "{names:?}");
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn release_removes_vips_before_priority_zero_advert() {
    let remove_delay = Duration::from_millis(300);
    let (_rt, log, handle) = master(remove_delay, Timeouts::default()).await;
    let stop_at = handle.clock().now();
    let last = handle.stop(StopMode::Release).await;
    let returned_at = handle.clock().now();

    assert_eq!(last.phase, Phase::Stopped);
    assert_eq!(last.state, State::Initialize);
    assert!(!last.holds_vips);
    let removed = log.when("remove done").unwrap();
    let advert0 = log.when("advert 0").unwrap();
    assert_eq!(removed.saturating_since(stop_at), remove_delay);
    assert!(
        advert0 >= removed,
        "advert 0 at {advert0}, removal done at {removed}"
    );
    assert!(log.index("remove done").unwrap() < log.index("advert 0").unwrap());
    // stop() returned only once the release was complete.
    assert!(returned_at >= advert0);
    // Nothing is sent after the priority-0 advert.
    assert_eq!(log.names().last().map(String::as_str), Some("advert 0"));
}

#[tokio::test(start_paused = true)]
async fn hanging_removal_is_bounded_then_priority_zero_follows() {
    let timeouts = Timeouts {
        address: Duration::from_millis(700),
        ..Timeouts::default()
    };
    let (_rt, log, handle) = master(Duration::from_secs(3600), timeouts).await;
    let stop_at = handle.clock().now();
    let last = handle.stop(StopMode::Release).await;
    assert_eq!(last.phase, Phase::Stopped);
    assert!(log.when("remove done").is_none(), "the removal hung");
    let advert0 = log.when("advert 0").unwrap();
    assert_eq!(
        advert0.saturating_since(stop_at),
        Duration::from_millis(700)
    );
    // The removal failed, so the VIPs may still be here: the status says so.
    assert!(last.holds_vips);
}

#[tokio::test(start_paused = true)]
async fn stop_keep_leaves_vips_and_sends_nothing() {
    let (_rt, log, handle) = master(Duration::ZERO, Timeouts::default()).await;
    let before = log.names().len();
    let last = handle.stop(StopMode::Keep).await;
    assert_eq!(last.phase, Phase::Stopped);
    assert_eq!(log.names().len(), before, "{:?}", log.names());
    assert!(last.holds_vips);
}

#[tokio::test(start_paused = true)]
async fn events_stream_ends_and_handle_rejects_after_stop() {
    let (_rt, _log, handle) = master(Duration::ZERO, Timeouts::default()).await;
    let mut events = handle.events();
    handle.stop(StopMode::Release).await;
    let mut seen = Vec::new();
    loop {
        match events.recv().await {
            Ok(e) => seen.push(e),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(transitions(&seen), vec![(State::Master, State::Initialize)]);
    assert!(handle.link(true).is_err());
    assert!(!handle.is_running());
    // Stopping again returns at once.
    assert_eq!(handle.stop(StopMode::Release).await.phase, Phase::Stopped);
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_releases() {
    let (rt, log, handle) = master(Duration::ZERO, Timeouts::default()).await;
    let watch = handle.watch_status();
    drop(handle);
    drop(rt);
    let mut watch = watch;
    let _ = watch.wait_for(|s| s.phase == Phase::Stopped).await;
    assert!(log.index("remove done").unwrap() < log.index("advert 0").unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_hanging_advert_sink_neither_delays_removal_nor_piles_up() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let spec = InstanceSpec::new(
        "sink",
        fast_config(8, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
        Arc::new(FakeAddresses::new(log.clone())),
        Arc::new(HangingSink { log: log.clone() }),
    );
    let handle = rt.spawn(spec).unwrap();
    wait_status(&handle, Duration::from_secs(2), |s| {
        s.state == State::Master
    })
    .await;
    // A master advertises every 100 ms; each send hangs until the 500 ms advert bound.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent = log
        .names()
        .iter()
        .filter(|n| n.starts_with("advert"))
        .count();
    assert!(
        (5..=9).contains(&sent),
        "{sent} sends in ~3.4 s: one per advert bound, the backlog collapsed"
    );
    let stop_at = handle.clock().now();
    handle.stop(StopMode::Release).await;
    let waited = handle.clock().now().saturating_since(stop_at);
    // The priority-0 advert waited for the send in flight (at most one advert bound), not for
    // a backlog of periodic adverts; then its own send hit the bound.
    assert!(waited <= Duration::from_secs(1), "stop took {waited:?}");
    assert_eq!(
        log.when("remove done"),
        Some(stop_at),
        "the removal did not wait for the sink"
    );
    assert_eq!(log.names().last().map(String::as_str), Some("advert 0"));
}
