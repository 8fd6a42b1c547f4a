//! An [`AdvertSource`] polled by the instance task itself: its adverts drive the machine like
//! the handle's, the handle keeps working alongside it, and a broken source releases the VIPs
//! and stops the instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use runtime_support::*;
use tokio::sync::mpsc;
use vip_core::election::{Advert, Reason, State, StopMode};
use vip_core::runtime::{AdvertSource, InstanceSpec, Phase, Runtime};
use vip_core::{Error, PeerId};

/// A source fed through a channel: what a transport would read from its socket.
struct ChannelSource {
    rx: Mutex<mpsc::UnboundedReceiver<Result<Advert, Error>>>,
}

impl AdvertSource for ChannelSource {
    fn poll_advert(&self, cx: &mut Context<'_>) -> Poll<Result<Advert, Error>> {
        match self.rx.lock().unwrap().poll_recv(cx) {
            Poll::Ready(Some(got)) => Poll::Ready(got),
            // A closed channel is a source with nothing more to say, not a broken one.
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

fn spec_with_source(
    log: &Log,
    name: &str,
) -> (InstanceSpec, mpsc::UnboundedSender<Result<Advert, Error>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let spec = InstanceSpec::new(
        name,
        fast_config(42, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
        Arc::new(FakeAddresses::new(log.clone())),
        Arc::new(FakeSink { log: log.clone() }),
    )
    .advert_source(Arc::new(ChannelSource { rx: Mutex::new(rx) }));
    (spec, tx)
}

#[tokio::test(start_paused = true)]
async fn adverts_from_the_source_keep_a_backup_and_release_hands_over() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let (spec, source) = spec_with_source(&log, "source");
    let handle = rt.spawn(spec).unwrap();
    for i in 0..20 {
        // Every other advert comes through the handle: both paths reach the same machine.
        if i % 2 == 0 {
            source.send(Ok(advert("198.51.100.2", 200))).unwrap();
        } else {
            handle.advert(advert("198.51.100.2", 200)).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let s = handle.status();
        assert_eq!(s.state, State::Backup, "advert {i}");
        assert_eq!(s.master, Some(PeerId(addr("198.51.100.2"))));
    }
    assert_eq!(log.count("add"), 0);
    // The priority-0 advert from the source is a release: this node takes over after
    // Skew_Time and its in-use probe, well before a Master_Down_Interval (over 300 ms) passes.
    source.send(Ok(advert("198.51.100.2", 0))).unwrap();
    let s = wait_status(&handle, Duration::from_millis(100), |s| {
        s.state == State::Master
    })
    .await;
    assert_eq!(s.last_transition.unwrap().reason, Reason::VipFree);
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn silence_from_the_source_is_a_master_down() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let (spec, source) = spec_with_source(&log, "silence");
    let handle = rt.spawn(spec).unwrap();
    source.send(Ok(advert("198.51.100.2", 200))).unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(handle.status().state, State::Backup);
    // No more adverts: Master_Down_Interval (3 x 10 cs + skew) later it takes over.
    let s = wait_status(&handle, Duration::from_millis(400), |s| {
        s.state == State::Master
    })
    .await;
    assert!(s.holds_vips);
    handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn a_broken_source_releases_the_vips_and_stops_the_instance() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let (spec, source) = spec_with_source(&log, "broken");
    let handle = rt.spawn(spec).unwrap();
    wait_status(&handle, Duration::from_secs(1), |s| s.holds_vips).await;

    source
        .send(Err(Error::Other {
            operation: "receiving VRRP adverts on eth0".into(),
            message: "socket closed".into(),
            transient: false,
        }))
        .unwrap();
    let last = tokio::time::timeout(Duration::from_secs(1), handle.stopped())
        .await
        .expect("the instance stops on its own");
    assert_eq!(last.phase, Phase::Stopped);
    assert!(!last.holds_vips, "{last:#?}");
    let names = log.names();
    let removed = log.index("remove done").expect("VIPs removed");
    let zero = names
        .iter()
        .rposition(|n| n == "advert 0")
        .expect("priority 0 sent");
    assert!(removed < zero, "remove, then priority 0: {names:?}");
    assert!(!handle.is_running());
}
