//! Through the VIP, in a lab: the time of one connection (connect, read the backend's name,
//! close) to VIP:port (DNAT by vip-lb's rules) against the same backend directly (routed
//! through the same balancer, no NAT), alternately in the same run; and
//! the time from a backend's check starting to fail to the last new connection that lands on
//! it, with a client connecting without pause. Run by `scripts/bench-lb`; needs root.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use vip_lb::{Balancer, Scheduler};

/// One connection: connect, read the name line, close. Returns the name.
fn one(addr: SocketAddr) -> Option<String> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    Some(line.trim().to_string())
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let Some(t) = topo("lbpaths", 2) else { return };
    let reps = env("REPS", 5);
    let conns = env("CONNS", 1000);
    t.client
        .run(&[
            "ip",
            "route",
            "add",
            "203.0.113.0/24",
            "via",
            "198.51.100.1",
        ])
        .unwrap();
    let mut svc = service(&t, Scheduler::Rr, &[1, 1]);
    svc.policy.delay_loop = Duration::from_secs(1);
    svc.policy.retry = 1;
    svc.policy.delay_before_retry = Duration::from_millis(500);
    let policy = svc.policy;
    let checks: Vec<_> = (0..2).map(|i| (t.addrs[i], flag_check(&t, i))).collect();
    let node = LbNode::start(&t.lb, move || {
        let mut b = Balancer::new(vec![svc]).unwrap();
        for (addr, check) in checks {
            b = b.check("web", addr, check).unwrap();
        }
        b
    });
    let all_healthy = |s: &vip_lb::ServiceStatus| s.backends.iter().all(|b| b.healthy);
    node.wait_status(Duration::from_secs(30), "healthy", all_healthy);
    node.set_active("web", true);
    let vip: SocketAddr = format!("{VIP}:{PORT}").parse().unwrap();
    let direct = t.addrs[0];

    // Warm up both paths (the first few hundred connections of a fresh lab run slower).
    t.client
        .enter(move || {
            for _ in 0..300 {
                one(vip).unwrap();
                one(direct).unwrap();
            }
        })
        .unwrap();
    println!(
        "| round | through the VIP: median / p90 (us) | direct: median / p90 (us) | VIP / direct (median) |"
    );
    println!("|---|---|---|---|");
    let pct = |v: &mut Vec<f64>, p: usize| {
        v.sort_by(f64::total_cmp);
        v[(v.len() * p / 100).min(v.len() - 1)]
    };
    let (mut all_v, mut all_d) = (Vec::new(), Vec::new());
    for round in 1..=reps {
        // One connection through the VIP, then one direct, alternately: load from elsewhere on
        // the machine falls on both alike.
        let (mut v, mut d) = t
            .client
            .enter(move || {
                let time = |addr: SocketAddr| {
                    let start = Instant::now();
                    one(addr).unwrap();
                    start.elapsed().as_secs_f64() * 1e6
                };
                (0..conns)
                    .map(|_| (time(vip), time(direct)))
                    .unzip::<f64, f64, Vec<f64>, Vec<f64>>()
            })
            .unwrap();
        all_v.extend(v.iter().copied());
        all_d.extend(d.iter().copied());
        let (mv, pv, md, pd) = (
            pct(&mut v, 50),
            pct(&mut v, 90),
            pct(&mut d, 50),
            pct(&mut d, 90),
        );
        println!(
            "| {round} | {mv:.0} / {pv:.0} | {md:.0} / {pd:.0} | {:.2} |",
            mv / md
        );
    }
    let (mv, pv, md, pd) = (
        pct(&mut all_v, 50),
        pct(&mut all_v, 90),
        pct(&mut all_d, 50),
        pct(&mut all_d, 90),
    );
    println!(
        "| all | **{mv:.0}** / {pv:.0} | **{md:.0}** / {pd:.0} | **{:.2}** |",
        mv / md
    );
    println!();
    println!(
        "delay_loop {:?}, retry {}, delay_before_retry {:?}: a failing server leaves after at most {:?} plus check run times",
        policy.delay_loop,
        policy.retry,
        policy.delay_before_retry,
        policy.delay_loop + policy.delay_before_retry * policy.retry
    );
    println!(
        "| round | check failing to last new connection on it (ms) | connections in that time | on it |"
    );
    println!("|---|---|---|---|");
    let mut times = Vec::new();
    for round in 1..=reps {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let client = t.client.clone();
        let log = std::thread::spawn(move || {
            client
                .enter(move || {
                    let mut log = Vec::new();
                    while !stop2.load(Ordering::Relaxed) {
                        let name = one(vip);
                        log.push((Instant::now(), name));
                    }
                    log
                })
                .unwrap()
        });
        std::thread::sleep(Duration::from_millis(300));
        let failed_at = Instant::now();
        std::fs::write(down_flag(&t, 0), b"").unwrap();
        node.wait_status(Duration::from_secs(30), "b0 out", |s| {
            !s.backends[0].healthy
        });
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
        let log = log.join().unwrap();
        let after: Vec<_> = log.iter().filter(|(at, _)| *at >= failed_at).collect();
        let last_on = after
            .iter()
            .filter(|(_, n)| n.as_deref() == Some("b0"))
            .map(|(at, _)| *at)
            .max();
        let on = after
            .iter()
            .filter(|(_, n)| n.as_deref() == Some("b0"))
            .count();
        let ms = last_on.map_or(0.0, |at| (at - failed_at).as_secs_f64() * 1e3);
        times.push(ms);
        println!("| {round} | {ms:.0} | {} | {on} |", after.len());
        std::fs::remove_file(down_flag(&t, 0)).unwrap();
        node.wait_status(Duration::from_secs(30), "b0 back", all_healthy);
    }
    times.sort_by(f64::total_cmp);
    println!("| median | **{:.0}** | | |", times[times.len() / 2]);
    node.stop();
}
