//! Several instances in one runtime run independently: one stuck behind a hanging fencer does
//! not delay another, and stopping one leaves the other running.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::Arc;
use std::time::Duration;

use runtime_support::*;
use vip_core::election::{Advert, Reason, State, StopMode};
use vip_core::runtime::{InstanceSpec, Phase, Runtime, Timeouts};
use vip_core::{Error, Interval, PeerId, Priority};

#[tokio::test(start_paused = true)]
async fn two_instances_run_independently() {
    let rt = Runtime::new();
    let log_a = Log::new(rt.clock());
    let log_b = Log::new(rt.clock());
    let a = InstanceSpec::new(
        "a",
        fast_config(31, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
        Arc::new(FakeAddresses::new(log_a.clone()).probe_mode(ProbeMode::Held)),
        Arc::new(FakeSink { log: log_a.clone() }),
    )
    .fencer(Arc::new(HangingFencer { log: log_a.clone() }))
    .timeouts(Timeouts {
        fence: Duration::from_secs(60),
        ..Timeouts::default()
    });
    let b = InstanceSpec::new(
        "b",
        fast_config(32, "203.0.113.1", vec![vip("203.0.113.10", "eth1")]),
        Arc::new(FakeAddresses::new(log_b.clone())),
        Arc::new(FakeSink { log: log_b.clone() }),
    );
    let ha = rt.spawn(a).unwrap();
    let hb = rt.spawn(b).unwrap();
    assert!(
        rt.spawn(InstanceSpec::new(
            "a",
            fast_config(33, "198.51.100.1", vec![vip("198.51.100.11", "eth0")]),
            Arc::new(FakeAddresses::new(log_a.clone())),
            Arc::new(FakeSink { log: log_a.clone() }),
        ))
        .is_err(),
        "names are unique among running instances"
    );

    // B becomes master at its Master_Down_Interval (360 ms) although A's fence hangs.
    let sb = wait_status(&hb, Duration::from_secs(1), |s| s.state == State::Master).await;
    assert_eq!(sb.last_transition.unwrap().at.as_micros(), 360_000);
    assert_eq!(ha.status().state, State::Claiming);
    assert_eq!(log_a.count("fence"), 1);
    assert_eq!(log_a.count("add"), 0);

    // Inputs reach only their instance: a better master for A's VRID leaves B alone.
    let peer = PeerId(addr("198.51.100.2"));
    ha.advert(Advert {
        from: peer,
        priority: Priority::new(200),
        max_advert_interval: Interval::from_centis(10),
        address_mismatch: false,
    })
    .unwrap();
    let sa = wait_status(&ha, Duration::from_millis(10), |s| s.state == State::Backup).await;
    assert_eq!(sa.master, Some(peer));
    assert_eq!(
        sa.last_transition.unwrap().reason,
        Reason::HigherPriority {
            peer,
            priority: Priority::new(200)
        }
    );
    assert_eq!(hb.status().state, State::Master);
    assert_eq!(hb.status().master, Some(PeerId(addr("203.0.113.1"))));

    // Stopping A leaves B running.
    assert_eq!(ha.stop(StopMode::Release).await.phase, Phase::Stopped);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(hb.status().state, State::Master);
    assert_eq!(rt.statuses().len(), 2);

    // The runtime stops the rest.
    let finals = rt.shutdown(StopMode::Release).await;
    assert!(finals.iter().all(|s| s.phase == Phase::Stopped));
    assert!(log_b.index("remove done").unwrap() < log_b.index("advert 0").unwrap());
}

#[tokio::test(start_paused = true)]
async fn invalid_specs_are_rejected() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let mk = |config| {
        InstanceSpec::new(
            "x",
            config,
            Arc::new(FakeAddresses::new(log.clone())),
            Arc::new(FakeSink { log: log.clone() }),
        )
    };
    let mut c = fast_config(1, "198.51.100.1", vec![]);
    assert!(matches!(rt.spawn(mk(c.clone())), Err(Error::Config { .. })));
    c.vips.push(vip("198.51.100.10", "eth0"));
    c.fencing = true;
    let err = rt.spawn(mk(c.clone())).unwrap_err();
    assert!(err.to_string().contains("fencing"), "{err}");
    c.fencing = false;
    c.checks.push(vip_core::election::CheckSpec { weight: 10 });
    assert!(rt.spawn(mk(c)).unwrap_err().to_string().contains("checks"));
}

#[test]
fn spawning_outside_tokio_is_an_error() {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let spec = InstanceSpec::new(
        "x",
        fast_config(1, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
        Arc::new(FakeAddresses::new(log.clone())),
        Arc::new(FakeSink { log }),
    );
    assert!(
        rt.spawn(spec)
            .unwrap_err()
            .to_string()
            .contains("tokio runtime")
    );
}
