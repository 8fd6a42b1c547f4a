//! Benchmark script (ignored by default; prints figures, asserts nothing about speed): CPU time
//! and resident memory of a lone VRRP master for a few seconds, keepalived 2.2.7 against a vip
//! election instance (runtime + this transport) on a current-thread tokio runtime with kernel
//! timers (as a daemon should run it), both advertising VRRPv3 every 10 cs on their own lab
//! segment at the same time. CPU time is read from `/proc/<pid>/schedstat` (keepalived's VRRP
//! child) and `/proc/thread-self/schedstat` (the runtime thread), in nanoseconds. Resident
//! memory is `VmRSS` of keepalived's two processes (summed) and of this whole test process
//! (the test harness included, so it is an upper bound for a daemon with one instance).
//!
//! ```text
//! cargo nextest run --release -p vip-vrrp --test lab_master_cpu --run-ignored all --no-capture
//! ```
//!
//! Knobs, for comparison: `VIP_BENCH_TOKIO_TIMERS=1` (tokio's timer wheel instead of a timerfd),
//! `VIP_BENCH_WORKERS=N` (a multi-thread tokio runtime with N workers; the instance's CPU is
//! then the whole process's, which is also printed in every mode).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use vip_core::election::{ElectionConfig, State, Version};
use vip_core::lab::{Keepalived, Lab, NoAddresses};
use vip_core::runtime::{InstanceSpec, Runtime};
use vip_core::{Interval, Priority, Vip};
use vip_vrrp::socket::{Transport, TransportConfig};

const MEASURE: Duration = Duration::from_secs(5);

const KEEPALIVED_CONF: &str = "global_defs {\n  router_id vip_lab_cpu\n  vrrp_version 3\n  \
    vrrp_garp_master_delay 0\n}\n\
    vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  \
    priority 100\n  advert_int 0.1\n  virtual_ipaddress {\n    198.51.100.100/32 dev eth0\n  \
    }\n}\n";

/// On-CPU nanoseconds from a schedstat file (its first field).
fn schedstat(path: &str) -> u64 {
    schedstat_fields(path)[0]
}

/// On-CPU nanoseconds and the number of times the task was scheduled in (its wake-ups), the
/// first and third fields of a schedstat file.
fn schedstat_fields(path: &str) -> [u64; 2] {
    let text = std::fs::read_to_string(path).unwrap();
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    [fields[0], fields[2]]
}

/// On-CPU nanoseconds of every thread of this process (the runtime's workers, tokio's blocking
/// pool, the test harness's threads).
fn process_schedstat() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| {
            let path = t.ok()?.path().join("schedstat");
            let text = std::fs::read_to_string(path).ok()?;
            text.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// `VmRSS`, `RssAnon`, `RssFile` and `Threads` of `/proc/<pid>/status` (KiB; threads).
fn memory(pid: &str) -> [u64; 4] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    [
        field("VmRSS:"),
        field("RssAnon:"),
        field("RssFile:"),
        field("Threads:"),
    ]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
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
    a.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])
        .unwrap();
    b.run(&["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"])
        .unwrap();

    let mut ka = Keepalived::start(&a, "ka", KEEPALIVED_CONF).unwrap();
    let ours = std::thread::spawn(move || {
        b.enter(|| {
            let workers: Option<usize> = std::env::var("VIP_BENCH_WORKERS")
                .ok()
                .and_then(|v| v.parse().ok());
            let rt = match workers {
                Some(n) => tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(n)
                    .enable_all()
                    .build()
                    .unwrap(),
                None => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap(),
            };
            rt.block_on(async {
                let vip = Vip::host("198.51.100.100".parse().unwrap(), "eth0");
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
                // As a daemon should run it: a timerfd per instance (VIP_BENCH_TOKIO_TIMERS=1
                // measures tokio's timer wheel instead).
                let kernel_timers = std::env::var_os("VIP_BENCH_TOKIO_TIMERS").is_none();
                let runtime = Runtime::new().kernel_timers(kernel_timers);
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
                let (t0, p0) = (
                    schedstat_fields("/proc/thread-self/schedstat"),
                    process_schedstat(),
                );
                tokio::time::sleep(MEASURE).await;
                let (t1, p1) = (
                    schedstat_fields("/proc/thread-self/schedstat"),
                    process_schedstat(),
                );
                let rss = memory("self");
                let sent = transport.stats().snapshot().sent - sent0;
                handle.stop(vip_core::election::StopMode::Release).await;
                // The transport alone: CPU per advert sent.
                let n = 2000u64;
                let s0 = schedstat("/proc/thread-self/schedstat");
                for _ in 0..n {
                    transport.send(Priority::new(100)).await.unwrap();
                }
                let per_send = (schedstat("/proc/thread-self/schedstat") - s0) / n;
                let thread = [t1[0] - t0[0], t1[1] - t0[1]];
                (thread, p1 - p0, sent, per_send, rss)
            })
        })
        .unwrap()
    });

    ka.wait_for_log("Entering MASTER STATE", Duration::from_secs(10))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let child = ka.vrrp_child_pid().unwrap();
    let path = format!("/proc/{child}/schedstat");
    let k0 = schedstat_fields(&path);
    std::thread::sleep(MEASURE);
    let k1 = schedstat_fields(&path);
    let (ka_parent, ka_child) = (memory(&ka.pid().to_string()), memory(&child.to_string()));
    let ([thread_ns, thread_wakes], process_ns, sent, per_send, rss) = ours.join().unwrap();
    // With one runtime thread, the instance's CPU is that thread's; with workers, the process's
    // (the instance may run on any of them).
    let ours_ns = if std::env::var_os("VIP_BENCH_WORKERS").is_some() {
        process_ns
    } else {
        thread_ns
    };
    ka.stop(Duration::from_secs(5)).unwrap();

    let (keepalived_ns, keepalived_wakes) = (k1[0] - k0[0], k1[1] - k0[1]);
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
        "times scheduled in: keepalived VRRP process {keepalived_wakes}, vip runtime thread \
         {thread_wakes}{}",
        if std::env::var_os("VIP_BENCH_WORKERS").is_some() {
            " (the instance runs on the workers; this is the idle main thread)"
        } else {
            ""
        }
    );
    println!(
        "whole vip test process (every thread, harness included): {:.2} ms CPU; ratio \
         vip/keepalived = {:.2}",
        process_ns as f64 / 1e6,
        process_ns as f64 / keepalived_ns.max(1) as f64
    );
    println!(
        "transport alone: {:.1} us CPU per advert sent (encode + sendto); keepalived's whole \
         VRRP process: {:.1} us per advert interval",
        per_send as f64 / 1e3,
        keepalived_ns as f64 / adverts.max(1) as f64 / 1e3
    );
    let ka_rss = ka_parent[0] + ka_child[0];
    println!(
        "resident memory: keepalived {:.1} MiB (parent {:.1} + VRRP child {:.1}; anon {:.1}, \
         file {:.1}), vip test process {:.1} MiB (anon {:.1}, file {:.1}; {} threads); ratio \
         vip/keepalived = {:.2}",
        mib(ka_rss),
        mib(ka_parent[0]),
        mib(ka_child[0]),
        mib(ka_parent[1] + ka_child[1]),
        mib(ka_parent[2] + ka_child[2]),
        mib(rss[0]),
        mib(rss[1]),
        mib(rss[2]),
        rss[3],
        rss[0] as f64 / ka_rss.max(1) as f64
    );
}
