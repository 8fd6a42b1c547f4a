//! Benchmark (ignored by default; `scripts/bench-lb-vipd` runs it), in one lab and one run:
//! 1. connections per second from a client through VIP:80 (vipd's balancer: nftables DNAT,
//!    rr over two real servers) against the same client straight to the same two real servers
//!    in turn (routed by the same node, without DNAT);
//! 2. the time from a real server failing (its port starts answering RST) to the last new
//!    connection that lands on it, with delay_loop 1 s, retry 1, delay_before_retry 0.5 s.
//!
//! One vipd node holds the VIP; the client (198.51.100.50) and the real servers (203.0.113.11,
//! .12, answering with their name) are namespaces of their own, the real servers routing back
//! through the gateway VIP. Connections are sequential (connect, read the answer, close).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;
mod lb_support;

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use lab_support::{Cluster, VIP, wait_until};
use lb_support::{answering_real_servers, director_conf, lb_is, lb_table, real_addr};
use vip_core::lab::Ns;

fn reps() -> usize {
    std::env::var("REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

/// The client's source address for direct connections: apart from the VIP's, so that the two
/// paths never share a conntrack tuple (a direct flow client:port -> real:80 still in
/// conntrack would clash with a DNATed flow from the same port to the same real server).
const DIRECT_SOURCE: &str = "198.51.100.60";

/// One connection from `src` (any when None): the answer, or "" when it failed (reset,
/// refused, timeout).
fn once(addr: SocketAddr, src: Option<IpAddr>) -> String {
    let connect = || -> std::io::Result<TcpStream> {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        if let Some(ip) = src {
            s.bind(&SocketAddr::new(ip, 0).into())?;
        }
        s.connect_timeout(&addr.into(), Duration::from_secs(1))?;
        Ok(s.into())
    };
    let Ok(mut s) = connect() else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut out = String::new();
    if s.read_to_string(&mut out).is_err() {
        return String::new();
    }
    out.trim().to_owned()
}

/// Connections per second, `n` sequential connections from `ns` to the `addrs` in turn; panics
/// if one fails.
fn cps(ns: &Ns, addrs: &[SocketAddr], src: Option<IpAddr>, n: usize) -> f64 {
    let addrs = addrs.to_vec();
    ns.enter(move || {
        let start = Instant::now();
        for i in 0..n {
            let addr = addrs[i % addrs.len()];
            let a = once(addr, src);
            assert!(!a.is_empty(), "connection {i} to {addr} failed");
        }
        n as f64 / start.elapsed().as_secs_f64()
    })
    .unwrap()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn nft(ns: &Ns, args: &[&str]) {
    let mut argv = vec!["nft"];
    argv.extend_from_slice(args);
    ns.run(&argv).unwrap();
}

#[test]
#[ignore = "benchmark: run by scripts/bench-lb-vipd"]
fn bench_lb() {
    let Some(mut c) = Cluster::new("vipex-bench-lb", 1, 1) else {
        return;
    };
    let reals = answering_real_servers(&mut c, 2);
    let (a0, a1) = (real_addr(0), real_addr(1));
    let conf = director_conf(
        200,
        &format!(
            r#"[[virtual_server]]
name = "web"
instance = "vip"
address = "{VIP}"
port = 80
lb_algo = "rr"
delay_loop = "1s"
retry = 1
delay_before_retry = "500ms"

[[virtual_server.real_server]]
address = "{a0}"
tcp_check = {{ connect_timeout = "1s" }}

[[virtual_server.real_server]]
address = "{a1}"
tcp_check = {{ connect_timeout = "1s" }}
"#
        ),
    );
    c.configure(0, &conf);
    c.start(0);
    c.wait_master(0);
    let both = [a0.as_str(), a1.as_str()];
    assert!(
        wait_until(Duration::from_secs(30), || lb_is(&c, 0, "web", true, &both)),
        "{}",
        lb_table(&c, 0)
    );
    let client = &c.extras[0];
    client
        .run(&[
            "ip",
            "route",
            "add",
            "203.0.113.0/24",
            "via",
            "198.51.100.1",
        ])
        .unwrap();
    client
        .run(&[
            "ip",
            "addr",
            "add",
            &format!("{DIRECT_SOURCE}/24"),
            "dev",
            "eth0",
        ])
        .unwrap();
    let direct_src: IpAddr = DIRECT_SOURCE.parse().unwrap();
    let vip: SocketAddr = format!("{VIP}:80").parse().unwrap();
    // Direct: the same two real servers in turn (the client's own round robin), so that both
    // paths load the servers alike.
    let direct: Vec<SocketAddr> = [&a0, &a1]
        .iter()
        .map(|a| format!("{a}:80").parse().unwrap())
        .collect();

    // 1. Connections per second: each run interleaves 10 rounds of 200 connections through
    // the VIP and 200 direct (alternating which goes first), so that the machine's load swings
    // fall on both alike; a run's figure is its total connections over its total time per path.
    let (rounds, n) = (10, 200);
    let (mut through, mut straight, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..reps() {
        let (mut tv, mut td) = (0.0, 0.0);
        for round in 0..rounds {
            let mut via = || tv += n as f64 / cps(client, &[vip], None, n);
            let mut dir = || td += n as f64 / cps(client, &direct, Some(direct_src), n);
            if (run + round) % 2 == 0 {
                via();
                dir();
            } else {
                dir();
                via();
            }
        }
        let total = (rounds * n) as f64;
        let (t, s) = (total / tv, total / td);
        through.push(t);
        straight.push(s);
        ratios.push(t / s);
        println!(
            "run {run}: through the VIP {t:.0}/s, direct {s:.0}/s, ratio {:.2}",
            t / s
        );
    }
    println!(
        "connections per second ({} sequential per path per run, median of {}): through the VIP {:.0}, direct {:.0}, ratio {:.2} (median of the runs' ratios)",
        rounds * n,
        through.len(),
        median(&mut through),
        median(&mut straight),
        median(&mut ratios)
    );

    // 2. From a real server failing to the last new connection landing on it.
    let r1 = &reals[0];
    nft(r1, &["add", "table", "inet", "bench"]);
    nft(
        r1,
        &[
            "add", "chain", "inet", "bench", "in", "{", "type", "filter", "hook", "input",
            "priority", "0", ";", "}",
        ],
    );
    let mut lasts = Vec::new();
    for run in 0..reps() {
        assert!(
            wait_until(Duration::from_secs(30), || lb_is(&c, 0, "web", true, &both)),
            "{}",
            lb_table(&c, 0)
        );
        let r1_name = r1.name().to_owned();
        let (tx, rx) = std::sync::mpsc::channel::<Instant>();
        // The failure, 1 s into the client's loop (from another thread: the loop blocks this one).
        let fail = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(1));
            let at = Instant::now();
            let out = std::process::Command::new("ip")
                .args([
                    "netns", "exec", &r1_name, "nft", "add", "rule", "inet", "bench", "in", "tcp",
                    "dport", "80", "reject", "with", "tcp", "reset",
                ])
                .output()
                .unwrap();
            assert!(out.status.success());
            tx.send(at).unwrap();
        });
        let log = client.enter(move || {
            let mut seen: Vec<(Instant, bool)> = Vec::new();
            let start = Instant::now();
            let mut failed_at = None;
            while start.elapsed() < Duration::from_secs(7) {
                if failed_at.is_none() {
                    failed_at = rx.try_recv().ok();
                }
                let a = once(vip, None);
                seen.push((Instant::now(), a.is_empty()));
            }
            (failed_at, seen)
        });
        fail.join().unwrap();
        let (failed_at, seen) = log.unwrap();
        let failed_at = failed_at.expect("the failure happened during the loop");
        let last = seen
            .iter()
            .filter(|(_, failed)| *failed)
            .map(|(t, _)| *t)
            .max()
            .expect("some connections landed on the failed server");
        let landed = seen.iter().filter(|(t, f)| *f && *t >= failed_at).count();
        let d = last.saturating_duration_since(failed_at);
        println!(
            "run {run}: last new connection on the failed server {:.0} ms after the failure ({landed} connections landed on it, {} in all)",
            d.as_secs_f64() * 1000.0,
            seen.len()
        );
        lasts.push(d.as_secs_f64() * 1000.0);
        nft(r1, &["flush", "chain", "inet", "bench", "in"]);
    }
    println!(
        "failure to last connection on it (delay_loop 1 s, retry 1, delay_before_retry 0.5 s), median of {}: {:.0} ms, max {:.0} ms",
        lasts.len(),
        median(&mut lasts.clone()),
        lasts.iter().cloned().fold(0.0, f64::max)
    );
}
