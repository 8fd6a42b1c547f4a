//! Lab test: the watcher reports link down/up and the removal of our VIP by someone else, and
//! not our own removal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{lab, run_in};
use vip_core::{AddressManager, Vip};
use vip_netlink::{NetlinkAddressManager, WatchEvent};

async fn next(w: &mut vip_netlink::Watcher) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(5), w.next_event())
        .await
        .expect("watcher event within 5 s")
        .expect("watcher still running")
}

#[test]
fn watcher_reports_link_and_external_removal() {
    let Some((_lab, nodes)) = lab("vnl-watch", &["a"]) else {
        return;
    };
    let a = nodes[0].clone();
    let events = run_in(&nodes[0], move || async move {
        let ip = |args: &'static [&'static str]| {
            let a = a.clone();
            async move {
                tokio::task::spawn_blocking(move || a.run(args).unwrap())
                    .await
                    .unwrap()
            }
        };
        let m = NetlinkAddressManager::with_defaults().unwrap();
        let mut w = m.watch("eth0").await.unwrap();
        let mut events = vec![next(&mut w).await];
        let v4 = Vip::host("198.51.100.100".parse().unwrap(), "eth0");
        let v6 = Vip::host("2001:db8::100".parse().unwrap(), "eth0");
        m.add(&[v4.clone(), v6.clone()]).await.unwrap();
        ip(&["ip", "addr", "del", "198.51.100.100/32", "dev", "eth0"]).await;
        events.push(next(&mut w).await);
        // Our own removal is not reported: the next event is the link going down.
        m.remove(std::slice::from_ref(&v6)).await.unwrap();
        ip(&["ip", "link", "set", "eth0", "down"]).await;
        events.push(next(&mut w).await);
        ip(&["ip", "link", "set", "eth0", "up"]).await;
        events.push(next(&mut w).await);
        // A tagged address that this manager does not hold (another vip process) is reported.
        let other = NetlinkAddressManager::with_defaults().unwrap();
        let v4b = Vip::host("198.51.100.101".parse().unwrap(), "eth0");
        other.add(std::slice::from_ref(&v4b)).await.unwrap();
        events.push(next(&mut w).await);
        events
    });
    let link = |up| WatchEvent::Link {
        interface: "eth0".into(),
        up,
    };
    assert_eq!(
        events,
        vec![
            link(true),
            WatchEvent::VipRemovedExternally {
                vip: Vip::host("198.51.100.100".parse().unwrap(), "eth0")
            },
            link(false),
            link(true),
            WatchEvent::VipAddedExternally {
                vip: Vip::host("198.51.100.101".parse().unwrap(), "eth0")
            },
        ]
    );
}
