//! Reconcile on start: this instance's stale VIPs are removed before the election starts;
//! everything else is left alone.
//!
//! The mocks record their calls: a mock that panics inside an instance task would only be seen
//! as a failed backend call, so the tests assert on the record and check the mocks' own
//! expectations (`checkpoint`) once the instance has let go of them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mockall::predicate::eq;
use runtime_support::*;
use vip_core::election::{State, StopMode};
use vip_core::runtime::{InstanceSpec, MockAdvertSink, Phase, Runtime};
use vip_core::{Error, MockAddressManager, Vip};

type Calls = Arc<Mutex<Vec<String>>>;

fn record(calls: &Calls, what: String) {
    calls.lock().unwrap().push(what);
}

fn names(vips: &[Vip]) -> String {
    vips.iter()
        .map(|v| v.addr.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Waits until the test holds the only reference to `am`, then checks its expectations.
async fn checkpoint(am: Arc<MockAddressManager>) {
    for _ in 0..1000 {
        if Arc::strong_count(&am) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut am =
        Arc::try_unwrap(am).unwrap_or_else(|_| panic!("the runtime did not let go of the backend"));
    am.checkpoint();
}

#[tokio::test(start_paused = true)]
async fn stale_vips_are_removed_before_start_and_others_kept() {
    let ours_eth0 = vip("198.51.100.10", "eth0");
    let ours_eth1 = vip("203.0.113.10", "eth1");
    let not_ours = vip("198.51.100.99", "eth0"); // another instance's VIP on the same interface
    let config = fast_config(
        21,
        "198.51.100.1",
        vec![ours_eth0.clone(), ours_eth1.clone()],
    );
    let calls: Calls = Arc::default();

    let mut am = MockAddressManager::new();
    let listed = vec![ours_eth0.clone(), not_ours.clone()];
    let c = calls.clone();
    am.expect_list()
        .with(eq("eth0"))
        .times(1)
        .returning(move |i| {
            record(&c, format!("list {i}"));
            Ok(listed.clone())
        });
    // Listing eth1 fails: our VIP there is removed blindly (removal is idempotent).
    let c = calls.clone();
    am.expect_list()
        .with(eq("eth1"))
        .times(1)
        .returning(move |i| {
            record(&c, format!("list {i}"));
            Err(Error::Os {
                operation: "list".into(),
                errno: 105,
                message: "no buffer space".into(),
            })
        });
    let c = calls.clone();
    am.expect_remove().times(2).returning(move |v| {
        record(&c, format!("remove {}", names(v)));
        Ok(())
    });
    let mut sink = MockAdvertSink::new();
    let c = calls.clone();
    sink.expect_send_advert().returning(move |p| {
        record(&c, format!("advert {p}"));
        Ok(())
    });

    let am = Arc::new(am);
    let rt = Runtime::new();
    let handle = rt
        .spawn(InstanceSpec::new(
            "reconcile",
            config,
            am.clone(),
            Arc::new(sink),
        ))
        .unwrap();
    assert_eq!(handle.status().phase, Phase::Starting);
    let s = wait_status(&handle, Duration::from_millis(50), |s| {
        s.phase == Phase::Running
    })
    .await;
    assert_eq!(
        s.state,
        State::Backup,
        "a restarted daemon starts as backup"
    );
    assert!(!s.holds_vips);
    assert_eq!(
        *calls.lock().unwrap(),
        [
            "list eth0",
            "remove 198.51.100.10",
            "list eth1",
            "remove 203.0.113.10"
        ],
        "only this instance's VIPs are removed, before the start"
    );
    let last = handle.stop(StopMode::Release).await;
    assert_eq!(last.phase, Phase::Stopped);
    assert_eq!(
        calls.lock().unwrap().len(),
        4,
        "a backup's release touches nothing"
    );
    drop(handle);
    drop(rt);
    checkpoint(am).await;
}

#[tokio::test(start_paused = true)]
async fn missing_interface_is_reported_and_the_instance_still_starts() {
    let calls: Calls = Arc::default();
    let mut am = MockAddressManager::new();
    let c = calls.clone();
    am.expect_list().times(1).returning(move |i| {
        record(&c, format!("list {i}"));
        Err(Error::InterfaceNotFound {
            interface: i.to_owned(),
        })
    });
    let c = calls.clone();
    am.expect_remove().times(0).returning(move |v| {
        record(&c, format!("remove {}", names(v)));
        Ok(())
    });
    let sink = MockAdvertSink::new();
    let config = fast_config(22, "198.51.100.1", vec![vip("198.51.100.10", "eth9")]);
    let am = Arc::new(am);
    let rt = Runtime::new();
    let handle = rt
        .spawn(InstanceSpec::new(
            "missing",
            config,
            am.clone(),
            Arc::new(sink),
        ))
        .unwrap();
    let s = wait_status(&handle, Duration::from_millis(50), |s| {
        s.phase == Phase::Running
    })
    .await;
    assert_eq!(s.state, State::Backup);
    handle.stop(StopMode::Release).await;
    assert_eq!(*calls.lock().unwrap(), ["list eth9"]);
    drop(handle);
    drop(rt);
    checkpoint(am).await;
}

/// A stale VIP whose removal fails at first (found by the simulator's failed-reconcile fault:
/// a backup that starts with a VIP on its interface is a second holder): the removal is tried
/// again, 100 ms then 200 ms later, and the election starts only once it succeeded.
#[tokio::test(start_paused = true)]
async fn failed_stale_removal_is_retried_before_the_start() {
    let ours = vip("198.51.100.10", "eth0");
    let calls: Calls = Arc::default();
    let mut am = MockAddressManager::new();
    let listed = vec![ours.clone()];
    let c = calls.clone();
    am.expect_list().times(1).returning(move |i| {
        record(&c, format!("list {i}"));
        Ok(listed.clone())
    });
    let c = calls.clone();
    let failures = Arc::new(Mutex::new(2));
    am.expect_remove().times(3).returning(move |v| {
        let mut left = failures.lock().unwrap();
        let outcome = if *left > 0 { "fails" } else { "ok" };
        record(&c, format!("remove {} {outcome}", names(v)));
        if *left > 0 {
            *left -= 1;
            return Err(Error::Os {
                operation: "remove".into(),
                errno: 16,
                message: "busy".into(),
            });
        }
        Ok(())
    });
    let mut sink = MockAdvertSink::new();
    sink.expect_send_advert().returning(|_| Ok(()));
    let config = fast_config(23, "198.51.100.1", vec![ours]);
    let am = Arc::new(am);
    let rt = Runtime::new();
    let started = tokio::time::Instant::now();
    let handle = rt
        .spawn(InstanceSpec::new(
            "retry",
            config,
            am.clone(),
            Arc::new(sink),
        ))
        .unwrap();
    let s = wait_status(&handle, Duration::from_secs(5), |s| {
        s.phase == Phase::Running
    })
    .await;
    assert_eq!(s.state, State::Backup);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the start waited for the retries (100 + 200 ms of virtual time)"
    );
    assert_eq!(
        *calls.lock().unwrap(),
        [
            "list eth0",
            "remove 198.51.100.10 fails",
            "remove 198.51.100.10 fails",
            "remove 198.51.100.10 ok"
        ]
    );
    handle.stop(StopMode::Release).await;
    drop(handle);
    drop(rt);
    checkpoint(am).await;
}
