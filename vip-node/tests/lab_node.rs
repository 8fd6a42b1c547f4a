//! A lone node built by vip-node in a network namespace: it takes its VIP, its link watcher
//! turns a link going down into Fault (the watcher is always there), its tracked check and
//! status are reported, and its observer hears events, probes and the transport. Needs root;
//! skips with a one-line message otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vip_core::election::{CheckStatus, Event, State};
use vip_core::lab::Lab;
use vip_core::runtime::Status;
use vip_node::commands::check::CommandCheck;
use vip_node::{Node, NodeConfig, NodeHandle, Observer};
use vip_vrrp::socket::TransportStats;

const SOON: Duration = Duration::from_secs(15);

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
    probes: Mutex<Vec<String>>,
    opened: AtomicUsize,
}

impl Observer for Recorder {
    fn event(&self, _: &str, event: &Event) {
        self.events.lock().unwrap().push(event.to_string());
    }
    fn probe(&self, _: &str, probe: &str, _: Duration) {
        self.probes.lock().unwrap().push(probe.to_owned());
    }
    fn transport_opened(&self, _: &str, _: &str, _: Arc<TransportStats>) {
        self.opened.fetch_add(1, SeqCst);
    }
}

async fn wait_for(node: &NodeHandle, what: &str, f: impl Fn(&Status) -> bool) -> Status {
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let s = node.status();
        if let Some(s) = s.filter(|s| f(s)) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never {what}: {:?}",
            node.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ip_link(ns: &str, up: bool) {
    let state = if up { "up" } else { "down" };
    let ok = std::process::Command::new("ip")
        .args(["-n", ns, "link", "set", "eth0", state])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn a_lone_node_takes_its_vip_follows_its_link_and_reports_to_its_observer() {
    let Some(mut lab) = Lab::new_or_skip("vipnode-lone").unwrap() else {
        return;
    };
    let a = lab.namespace("a").unwrap();
    lab.segment(&[&a]).unwrap();
    a.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let observer = recorder.clone();
    let ns = a.name().to_owned();
    a.block_on(move || async move {
        let config = NodeConfig::new(
            "lone",
            "eth0",
            52,
            vec!["198.51.100.20/24".parse().unwrap()],
        )
        .advert_interval("10cs".parse().unwrap());
        let check = CommandCheck::new("true", vec!["/bin/true".into()], Duration::from_secs(1));
        let schedule = check.schedule(Duration::from_millis(200), 1, 1);
        let node = Node::new(config)
            .observer(observer)
            .check(Arc::new(check), schedule, 0)
            .start()
            .await
            .unwrap();
        let s = wait_for(&node, "master", |s| {
            s.state == State::Master && s.holds_vips
        })
        .await;
        assert_eq!(
            s.named_checks().collect::<Vec<_>>(),
            [("true", Some(CheckStatus::Passing))]
        );

        // No peer, but a watcher: link down is Fault, and the VIPs go.
        ip_link(&ns, false);
        wait_for(&node, "fault", |s| s.state == State::Fault && !s.holds_vips).await;
        ip_link(&ns, true);
        wait_for(&node, "master again", |s| {
            s.state == State::Master && s.holds_vips
        })
        .await;
        node.stop(None).await;
    })
    .unwrap();

    assert_eq!(recorder.opened.load(SeqCst), 1);
    let events = recorder.events.lock().unwrap().join("\n");
    for want in ["-> master", "-> fault"] {
        assert!(events.contains(want), "{want} missing from\n{events}");
    }
    let probes = recorder.probes.lock().unwrap();
    assert!(probes.iter().any(|p| p == "in_use"), "{probes:?}");
    assert!(probes.iter().any(|p| p == "true"), "{probes:?}");
}
