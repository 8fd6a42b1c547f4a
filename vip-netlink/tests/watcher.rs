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
        // Another manager of this process (another instance of the same daemon) adds a VIP:
        // not foreign, not reported.
        let other = NetlinkAddressManager::with_defaults().unwrap();
        let v4c = Vip::host("198.51.100.102".parse().unwrap(), "eth0");
        other.add(std::slice::from_ref(&v4c)).await.unwrap();
        // A tagged address that no manager of this process holds (another vip process, here
        // added with the tag by hand) is reported.
        add_tagged("198.51.100.101".parse().unwrap()).await;
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

/// Adds `addr`/32 to eth0 with vip's tag, as another vip process would.
async fn add_tagged(addr: std::net::IpAddr) {
    use rtnetlink::packet_route::address::{AddressAttribute, AddressProtocol};
    let (conn, handle, _) = rtnetlink::new_connection().unwrap();
    tokio::spawn(conn);
    let index = {
        use futures::TryStreamExt;
        let mut links = handle.link().get().match_name("eth0".to_owned()).execute();
        links
            .try_next()
            .await
            .unwrap()
            .expect("eth0 exists")
            .header
            .index
    };
    let mut req = handle.address().add(index, addr, 32);
    req.message_mut()
        .attributes
        .push(match vip_netlink::Tag::detect() {
            vip_netlink::Tag::Proto(p) => AddressAttribute::Protocol(AddressProtocol::from(p)),
            vip_netlink::Tag::RoutePriority(m) => AddressAttribute::RoutePriority(m),
        });
    req.execute().await.unwrap();
}
