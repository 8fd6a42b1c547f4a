//! The transport as vip-core's runtime edge, against a real keepalived 2.2.7: an election
//! instance in namespace `b` sends through `Transport` (its `AdvertSink`) and hears keepalived
//! through `Transport::forward`. Starting at a higher priority it takes the VIP from keepalived
//! (keepalived goes BACKUP and removes it); stopping with Release removes our VIP and sends
//! priority 0, and keepalived takes over again at once. Root and keepalived only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use vip_core::election::{ElectionConfig, State, StopMode, Version};
use vip_core::lab::{Keepalived, Lab, Ns, OverlapChecker};
use vip_core::runtime::{InstanceSpec, Runtime};
use vip_core::{AddressManager, Error, InUse, Interval, Priority, Vip};
use vip_vrrp::socket::{StatsSnapshot, Transport, TransportConfig};

const VIP4: &str = "198.51.100.100";
const PATIENCE: Duration = Duration::from_secs(10);

const KEEPALIVED_CONF: &str = "global_defs {\n  router_id vip_lab_rt\n  vrrp_version 3\n  \
    vrrp_garp_master_delay 0\n}\n\
    vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  \
    priority 100\n  advert_int 0.1\n  virtual_ipaddress {\n    198.51.100.100/32 dev eth0\n  \
    }\n}\n";

/// Adds and removes VIPs with `ip addr` run in the lab namespace (through the lab's guard, so
/// only lab addresses, only inside the lab), so that they really move between namespaces.
/// Announcing is a no-op and nothing else answers for the VIP on this segment (keepalived has
/// removed it by the time we probe, or we would not be claiming), so the probe says Free.
struct IpCommand {
    ns: Ns,
}

impl IpCommand {
    fn ip(&self, op: &str, vip: &Vip) -> Result<(), Error> {
        let cidr = format!("{}/{}", vip.addr, vip.prefix_len);
        let out = self
            .ns
            .output(&["ip", "addr", op, &cidr, "dev", &vip.interface])
            .map_err(|e| Error::Other {
                operation: format!("ip addr {op}"),
                message: e.to_string(),
                transient: false,
            })?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Idempotent, as the trait asks.
        if out.status.success()
            || stderr.contains("File exists")
            || stderr.contains("Cannot assign requested address")
        {
            Ok(())
        } else {
            Err(Error::Other {
                operation: format!("ip addr {op} {cidr}"),
                message: stderr.into_owned(),
                transient: false,
            })
        }
    }
}

#[async_trait]
impl AddressManager for IpCommand {
    async fn add(&self, vips: &[Vip]) -> Result<(), Error> {
        vips.iter().try_for_each(|v| self.ip("add", v))
    }
    async fn remove(&self, vips: &[Vip]) -> Result<(), Error> {
        vips.iter().try_for_each(|v| self.ip("del", v))
    }
    async fn list(&self, _: &str) -> Result<Vec<Vip>, Error> {
        Ok(Vec::new())
    }
    async fn announce(&self, _: &[Vip]) -> Result<(), Error> {
        Ok(())
    }
    async fn probe_in_use(&self, _: &[Vip], _: Duration) -> Result<InUse, Error> {
        Ok(InUse::Free)
    }
}

fn has_vip(ns: &Ns) -> bool {
    ns.run(&["ip", "-o", "addr", "show", "dev", "eth0"])
        .unwrap()
        .contains(&format!(" {VIP4}/32 "))
}

fn wait_vip(ns: &Ns, present: bool, ka: &Keepalived) {
    let start = Instant::now();
    while has_vip(ns) != present {
        assert!(
            start.elapsed() < PATIENCE,
            "VIP in {} not {} after {PATIENCE:?}; keepalived log:\n{}",
            ns.name(),
            if present { "present" } else { "absent" },
            ka.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn election_instance_over_the_transport_takes_over_from_keepalived_and_releases() {
    let tag = "vrrp-ka-runtime";
    if !Keepalived::available() {
        println!("skipping {tag}: keepalived is not installed");
        return;
    }
    let Some(mut lab) = Lab::new_or_skip(tag).unwrap() else {
        return;
    };
    let a = lab.namespace("a").unwrap();
    let b = lab.namespace("b").unwrap();
    lab.segment(&[&a, &b]).unwrap();
    a.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])
        .unwrap();
    b.run(&["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"])
        .unwrap();
    // The lab's overlap checker over both nodes, from before keepalived starts to the end.
    let checker = OverlapChecker::start(&[&a, &b], &[VIP4.parse().unwrap()]).unwrap();

    let mut ka = Keepalived::start(&a, "ka", KEEPALIVED_CONF).unwrap();
    ka.wait_for_log("Entering MASTER STATE", PATIENCE).unwrap();
    wait_vip(&a, true, &ka);

    let (master_tx, master_rx) = mpsc::channel();
    let release = Arc::new(AtomicBool::new(false));
    let (release2, b2) = (Arc::clone(&release), b.clone());
    let ours = std::thread::spawn(move || {
        b2.clone()
            .enter(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let vip = Vip::host(VIP4.parse().unwrap(), "eth0");
                    let transport = Arc::new(
                        Transport::new(
                            TransportConfig::new("eth0", Version::V3, 52, vec![vip.clone()])
                                .with_advert_interval(Interval::from_centis(10)),
                        )
                        .unwrap(),
                    );
                    let mut config = ElectionConfig::new(52, transport.source(), vec![vip]);
                    config.priority = Priority::new(200);
                    config.advert_interval = Interval::from_centis(10);
                    let addresses = Arc::new(IpCommand { ns: b2.clone() });
                    let runtime = Runtime::new();
                    let handle = runtime
                        .spawn(InstanceSpec::new(
                            "vi1",
                            config,
                            addresses,
                            Arc::clone(&transport) as _,
                        ))
                        .unwrap();
                    let (t, h) = (Arc::clone(&transport), handle.clone());
                    let forward = tokio::spawn(async move { t.forward(&h).await });
                    let mut status = handle.watch_status();
                    // wait_for returns a read guard on the status: drop it at once, or the
                    // instance (same thread) blocks publishing its next status.
                    let reached = tokio::time::timeout(
                        PATIENCE,
                        status.wait_for(|s| s.state == State::Master),
                    )
                    .await
                    .is_ok_and(|r| r.is_ok());
                    master_tx.send(reached).unwrap();
                    while !release2.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let last = handle.stop(StopMode::Release).await;
                    // Keep listening briefly: keepalived's adverts after it takes over.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    forward.abort();
                    (last.state, last.holds_vips, transport.stats().snapshot())
                })
            })
            .unwrap()
    });

    // We preempt keepalived: it steps down and removes its VIP; ours is added.
    assert!(
        master_rx.recv_timeout(PATIENCE * 2).unwrap(),
        "our instance did not become master; keepalived log:\n{}",
        ka.log()
    );
    ka.wait_for_log("with higher priority 200, ours 100", PATIENCE)
        .unwrap();
    ka.wait_for_log_count("Entering BACKUP STATE", 2, PATIENCE)
        .unwrap();
    wait_vip(&a, false, &ka);
    wait_vip(&b, true, &ka);

    // Release: our VIP goes, our priority-0 advert makes keepalived master again at once.
    // Our master keeps advertising: keepalived stays backup well past its
    // Master_Down_Interval (about 0.35 s).
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(ka.count_in_log("Entering MASTER STATE"), 1, "{}", ka.log());
    assert!(!has_vip(&a) && has_vip(&b));
    release.store(true, Ordering::Relaxed);
    let (state, holds, stats): (State, bool, StatsSnapshot) = ours.join().unwrap();
    assert!(!holds && state != State::Master, "{state:?} holds={holds}");
    assert!(!has_vip(&b));
    ka.wait_for_log_count("Entering MASTER STATE", 2, PATIENCE)
        .unwrap();
    wait_vip(&a, true, &ka);
    // Our instance claims with an in-use probe that always says Free (this test's address
    // manager), so it relies on keepalived stepping down within the claim lead when it hears
    // our claiming advert; any overlap is printed, and must end within a Master_Down_Interval
    // (bounded loosely: 4 adverts plus 1 s for a loaded machine). Our release removes the VIP
    // before the priority-0 advert: no overlap then.
    let timeline = checker.finish().unwrap();
    for o in timeline.overlaps() {
        println!("overlap: {} held by both for {:?}", o.vip, o.to - o.from);
        assert!(
            o.to - o.from <= Duration::from_millis(1400),
            "two holders for {:?}: {:?}",
            o.to - o.from,
            timeline.changes
        );
    }
    let errors = ka.packet_errors();
    assert!(
        errors.is_empty(),
        "keepalived logged packet errors: {errors:#?}\n{}",
        ka.log()
    );
    ka.stop(PATIENCE).unwrap();

    assert!(stats.accepted >= 1, "we heard keepalived: {stats:?}");
    assert!(stats.sent >= 2, "{stats:?}");
    assert_eq!(stats.total_drops(), 0, "{stats:?}");
    assert_eq!(stats.send_errors, 0, "{stats:?}");
}
