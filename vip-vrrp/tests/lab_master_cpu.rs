//! Benchmark script (ignored by default; prints figures, asserts nothing about speed): CPU time
//! spent being a lone VRRP master for a few seconds, keepalived 2.2.7's VRRP process against a
//! vip election instance (runtime + this transport) on a current-thread tokio runtime, both
//! advertising VRRPv3 every 10 cs on their own lab segment at the same time. CPU time is read
//! from `/proc/<pid>/schedstat` (keepalived's VRRP child) and `/proc/thread-self/schedstat` (the
//! runtime thread), in nanoseconds.
//!
//! ```text
//! cargo nextest run --release -p vip-vrrp --test lab_master_cpu --run-ignored all --no-capture
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use vip_core::election::{ElectionConfig, State, Version};
use vip_core::lab::{Keepalived, Lab};
use vip_core::runtime::{InstanceSpec, Runtime};
use vip_core::{AddressManager, Error, InUse, Interval, Priority, Vip};
use vip_vrrp::socket::{Transport, TransportConfig};

const MEASURE: Duration = Duration::from_secs(5);

const KEEPALIVED_CONF: &str = "global_defs {\n  router_id vip_lab_cpu\n  vrrp_version 3\n  \
    vrrp_garp_master_delay 0\n}\n\
    vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  \
    priority 100\n  advert_int 0.1\n  virtual_ipaddress {\n    192.0.2.100/32 dev eth0\n  \
    }\n}\n";

/// On-CPU nanoseconds from a schedstat file (its first field).
fn schedstat(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Holds no addresses (the VIP needs no kernel work for this measure); the probe says Free.
struct NoAddresses;

#[async_trait]
impl AddressManager for NoAddresses {
    async fn add(&self, _: &[Vip]) -> Result<(), Error> {
        Ok(())
    }
    async fn remove(&self, _: &[Vip]) -> Result<(), Error> {
        Ok(())
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

#[test]
#[ignore = "benchmark script; run with --run-ignored all in a release build"]
fn master_cpu_time_against_keepalived() {
    let tag = "vrrp-bench-cpu";
    if !Keepalived::available() {
        println!("skipping {tag}: keepalived is not installed");
        return;
    }
    let Some(mut lab) = Lab::new_or_skip(tag).unwrap() else {
        return;
    };
    let a = lab.namespace("a").unwrap();
    let b = lab.namespace("b").unwrap();
    lab.segment(&[&a]).unwrap();
    lab.segment(&[&b]).unwrap();
    a.run(&["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"])
        .unwrap();
    b.run(&["ip", "addr", "add", "192.0.2.2/24", "dev", "eth0"])
        .unwrap();

    let mut ka = Keepalived::start(&a, "ka", KEEPALIVED_CONF).unwrap();
    let ours = std::thread::spawn(move || {
        b.enter(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let vip = Vip::host("192.0.2.100".parse().unwrap(), "eth0");
                let transport = Arc::new(
                    Transport::new(
                        TransportConfig::new("eth0", Version::V3, 52, vec![vip.clone()])
                            .with_advert_interval(Interval::from_centis(10)),
                    )
                    .unwrap(),
                );
                let mut config = ElectionConfig::new(52, transport.source(), vec![vip]);
                config.priority = Priority::new(100);
                config.advert_interval = Interval::from_centis(10);
                let runtime = Runtime::new();
                let handle = runtime
                    .spawn(InstanceSpec::new(
                        "cpu",
                        config,
                        Arc::new(NoAddresses),
                        Arc::clone(&transport) as _,
                    ))
                    .unwrap();
                let mut status = handle.watch_status();
                let _ = status.wait_for(|s| s.state == State::Master).await.is_ok();
                let sent0 = transport.stats().snapshot().sent;
                let t0 = schedstat("/proc/thread-self/schedstat");
                tokio::time::sleep(MEASURE).await;
                let t1 = schedstat("/proc/thread-self/schedstat");
                let sent = transport.stats().snapshot().sent - sent0;
                handle.stop(vip_core::election::StopMode::Release).await;
                // The transport alone: CPU per advert sent.
                let n = 2000u64;
                let s0 = schedstat("/proc/thread-self/schedstat");
                for _ in 0..n {
                    transport.send(Priority::new(100)).await.unwrap();
                }
                let per_send = (schedstat("/proc/thread-self/schedstat") - s0) / n;
                (t1 - t0, sent, per_send)
            })
        })
        .unwrap()
    });

    ka.wait_for_log("Entering MASTER STATE", Duration::from_secs(10))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let child = ka.vrrp_child_pid().unwrap();
    let path = format!("/proc/{child}/schedstat");
    let k0 = schedstat(&path);
    std::thread::sleep(MEASURE);
    let k1 = schedstat(&path);
    let (ours_ns, sent, per_send) = ours.join().unwrap();
    ka.stop(Duration::from_secs(5)).unwrap();

    let keepalived_ns = k1 - k0;
    let adverts = MEASURE.as_millis() / 100;
    println!(
        "lone master, VRRPv3 every 10 cs, {MEASURE:?}: keepalived VRRP process {:.2} ms CPU \
         (~{adverts} adverts), vip instance {:.2} ms CPU ({sent} adverts); ratio vip/keepalived \
         = {:.2}",
        keepalived_ns as f64 / 1e6,
        ours_ns as f64 / 1e6,
        ours_ns as f64 / keepalived_ns.max(1) as f64
    );
    println!(
        "transport alone: {:.1} us CPU per advert sent (encode + sendto); keepalived's whole \
         VRRP process: {:.1} us per advert interval",
        per_send as f64 / 1e3,
        keepalived_ns as f64 / adverts.max(1) as f64 / 1e3
    );
}
