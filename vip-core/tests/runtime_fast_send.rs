//! A master's adverts go through the sink's non-waiting path when it has one, and through the
//! async path when it declines; a panic in either is a failed send, not a dead instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use runtime_support::*;
use vip_core::election::{State, StopMode};
use vip_core::runtime::{AdvertSink, InstanceSpec, Runtime};
use vip_core::{Error, Priority};

/// Sends in place once it has "encoded" an advert through the async path (as the transport
/// does), unless `decline` is set; panics in place when `panic` is set.
struct TwoPathSink {
    log: Log,
    encoded: AtomicBool,
    decline: bool,
    panic: AtomicBool,
}

impl TwoPathSink {
    fn new(log: &Log, decline: bool) -> Self {
        TwoPathSink {
            log: log.clone(),
            encoded: AtomicBool::new(false),
            decline,
            panic: AtomicBool::new(false),
        }
    }
}

#[async_trait]
impl AdvertSink for TwoPathSink {
    async fn send_advert(&self, priority: Priority) -> Result<(), Error> {
        self.encoded.store(true, Ordering::SeqCst);
        self.log.push(format!("async {priority}"));
        Ok(())
    }

    fn try_send_advert(&self, priority: Priority) -> Option<Result<(), Error>> {
        if self.panic.load(Ordering::SeqCst) {
            panic!("sink bug");
        }
        if self.decline || !self.encoded.load(Ordering::SeqCst) {
            return None;
        }
        self.log.push(format!("in place {priority}"));
        Some(Ok(()))
    }
}

fn spec(log: &Log, sink: Arc<TwoPathSink>) -> InstanceSpec {
    InstanceSpec::new(
        "fast",
        fast_config(43, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
        Arc::new(FakeAddresses::new(log.clone())),
        sink,
    )
}

#[tokio::test(start_paused = true)]
async fn a_masters_repeated_adverts_are_sent_in_place() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let sink = Arc::new(TwoPathSink::new(&log, false));
    let handle = rt.spawn(spec(&log, sink.clone())).unwrap();
    wait_status(&handle, Duration::from_secs(1), |s| {
        s.state == State::Master
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let asynchronous = log.count("async 100");
    let in_place = log.count("in place 100");
    assert!(
        asynchronous >= 1,
        "the first advert encodes: {:?}",
        log.names()
    );
    assert!(
        in_place >= 9 && asynchronous <= 2,
        "10 cs adverts for 1 s go in place: {in_place} in place, {asynchronous} async"
    );

    // A panicking fast path is a failed send: the instance keeps running and advertising.
    sink.panic.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(handle.is_running());
    assert_eq!(handle.status().state, State::Master);
    sink.panic.store(false, Ordering::SeqCst);
    let before = log.count("in place 100");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(log.count("in place 100") > before, "adverts resume");
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn a_sink_that_declines_gets_every_advert_through_the_async_path() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let handle = rt
        .spawn(spec(&log, Arc::new(TwoPathSink::new(&log, true))))
        .unwrap();
    wait_status(&handle, Duration::from_secs(1), |s| {
        s.state == State::Master
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(log.count("in place 100"), 0);
    assert!(log.count("async 100") >= 10, "{:?}", log.names());
    let last = handle.stop(StopMode::Release).await;
    assert!(!last.holds_vips);
    assert_eq!(
        log.count("async 0"),
        1,
        "the release's priority 0 goes out too"
    );
}
