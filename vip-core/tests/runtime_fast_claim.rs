//! The runtime at 1 cs adverts: the in-use probe gets the machine's shortened wait, and a
//! takeover of a free VIP lands at Master_Down_Interval even when the probe answers only at
//! the end of its wait (virtual time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::Arc;
use std::time::Duration;

use runtime_support::*;
use vip_core::Interval;
use vip_core::election::{State, StopMode};
use vip_core::runtime::{InstanceSpec, Runtime};

#[tokio::test(start_paused = true)]
async fn a_free_vip_at_1cs_is_taken_at_master_down_interval() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let addresses = Arc::new(FakeAddresses::new(log.clone()).probe_mode(ProbeMode::FreeAfterWait));
    let mut config = fast_config(3, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]);
    config.advert_interval = Interval::from_centis(1);
    let spec = InstanceSpec::new(
        "fast",
        config,
        addresses.clone(),
        Arc::new(FakeSink { log: log.clone() }),
    );
    let handle = rt.spawn(spec).unwrap();
    let status = wait_status(&handle, Duration::from_secs(1), |s| {
        s.state == State::Master
    })
    .await;
    let started = status.last_transition.unwrap().at;
    // Master_Down_Interval at 1 cs is 30 ms (Skew_Time truncates to 0 cs), counted from the
    // start; the probe waited 15 ms (from half an interval after the first missed advert).
    let added = log.when("add").unwrap();
    assert_eq!(
        *addresses.probe_waits.lock().unwrap(),
        vec![Duration::from_millis(15)]
    );
    assert!(
        added.saturating_since(started) < Duration::from_millis(2),
        "added at {added}, master at {started}"
    );
    assert!(started.as_micros() <= 31_000, "master at {started}");
    handle.stop(StopMode::Release).await;
}
