//! `Runtime::kernel_timers`: instances that wait on a timerfd (real time, not paused) still
//! run the election as with tokio's timer: a lone node becomes master after
//! Master_Down_Interval, advertises on, and a better advert makes it step down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::Arc;
use std::time::Duration;

use runtime_support::*;
use vip_core::PeerId;
use vip_core::election::{Advert, State, StopMode};
use vip_core::runtime::{InstanceSpec, Runtime};
use vip_core::{Interval, Priority};

fn spec(log: &Log, name: &str) -> InstanceSpec {
    InstanceSpec::new(
        name,
        fast_config(43, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
        Arc::new(FakeAddresses::new(log.clone())),
        Arc::new(FakeSink { log: log.clone() }),
    )
}

async fn master_adverts_then_steps_down() {
    let rt = Runtime::new().kernel_timers(true);
    let log = Log::new(rt.clock());
    let handle = rt.spawn(spec(&log, "timerfd")).unwrap();
    // Generous bounds: this is real time on a busy machine; nothing here measures speed.
    wait_status(&handle, Duration::from_secs(10), |s| {
        s.state == State::Master
    })
    .await;
    let first = log.count("advert 100");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while log.count("advert 100") < first + 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        log.count("advert 100") >= first + 3,
        "a master on a timerfd keeps advertising: {:?}",
        log.names()
    );
    handle
        .advert(Advert {
            from: PeerId(addr("198.51.100.2")),
            priority: Priority::new(200),
            max_advert_interval: Interval::from_centis(10),
            address_mismatch: false,
        })
        .unwrap();
    wait_status(&handle, Duration::from_secs(10), |s| {
        s.state == State::Backup
    })
    .await;
    let last = handle.stop(StopMode::Release).await;
    assert!(!last.holds_vips);
}

#[tokio::test]
async fn timerfd_instance_on_current_thread_runtime() {
    master_adverts_then_steps_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timerfd_instance_on_multi_thread_runtime() {
    master_adverts_then_steps_down().await;
}
