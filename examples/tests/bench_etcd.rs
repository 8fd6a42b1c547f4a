//! Benchmark (ignored by default; `scripts/bench-etcd` runs it in one invocation): vipd gated on
//! a three-member etcd (TTL 2 s) against vipd without etcd and keepalived 2.2.7, in the same
//! lab (three nodes at 10 cs adverts, priorities 200/150/100, each node and each etcd member in
//! its own namespace on one bridge). Holders come from the kernel's address events (the lab's
//! `OverlapChecker`, one clock for every node). Sections, each with every daemon in turn per
//! run:
//! - crash failover: node 1 SIGKILLed, or its link cut at the switch (its port down): time
//!   until another node holds the VIP; vipd + etcd with and without a succeeding fencer (the
//!   claimant fences by token and revokes the dead holder's lease);
//! - graceful switchover: node 1 stopped with SIGTERM: time no node holds the VIP (the gap a
//!   client sees, to the resolution of the kernel's address events);
//! - two holders in a 5 s partition of the master (the master keeps one etcd member);
//! - etcd unreachable (every member SIGSTOPped): the holder's time left to its deadline D when
//!   its grant ended (vipd's log), and whether the VIP was gone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;

use std::time::Duration;

use lab_support::{Cluster, NodeConf, Sample, Sampler, wait_until};
use nix::sys::signal::Signal;
use vip_core::lab::Keepalived;
use vip_etcd::harness::EtcdCluster;

const VIP: &str = "198.51.100.100";
/// The etcd members listen on the addresses the cluster gives its extra namespaces.
const ETCD: [&str; 3] = ["198.51.100.50", "198.51.100.51", "198.51.100.52"];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Keepalived,
    Vipd,
    /// vipd with a fencer that succeeds (it removes the VIP in the other namespaces): without
    /// one, vipd never adds a VIP that a crashed node's kernel still answers for.
    VipdFenced,
    VipdEtcd,
    /// vipd + etcd with a fencer that succeeds.
    VipdEtcdFenced,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Keepalived => "keepalived",
            Kind::Vipd => "vipd",
            Kind::VipdFenced => "vipd + fencer",
            Kind::VipdEtcd => "vipd + etcd",
            Kind::VipdEtcdFenced => "vipd + etcd + fencer",
        }
    }

    fn etcd(self) -> bool {
        matches!(self, Kind::VipdEtcd | Kind::VipdEtcdFenced)
    }

    fn fenced(self) -> bool {
        matches!(self, Kind::VipdFenced | Kind::VipdEtcdFenced)
    }
}

/// One lab: three nodes running `kind`, node 1 the only holder.
struct Lab {
    c: Cluster,
    etcd: Option<EtcdCluster>,
    keepaliveds: Vec<Keepalived>,
}

fn lab(kind: Kind, tag: &str) -> Lab {
    let mut c = Cluster::new(tag, 3, 3).expect("root");
    // Overlaps are measured here, not asserted.
    c.end_watch();
    let names: Vec<String> = c.extras.iter().map(|x| x.name().to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let etcd = if kind.etcd() {
        EtcdCluster::start_in(tag, &names, &ETCD).unwrap()
    } else {
        None
    };
    let nss: Vec<String> = c.nodes.iter().map(|n| n.ns.name().to_string()).collect();
    let mut keepaliveds = Vec::new();
    for (i, prio) in [200u8, 150, 100].into_iter().enumerate() {
        if kind == Kind::Keepalived {
            let conf = format!(
                "global_defs {{\n  router_id n{i}\n  vrrp_version 3\n  vrrp_garp_master_delay 0\n}}\n\
                 vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
                 priority {prio}\n  advert_int 0.1\n  mcast_src_ip 198.51.100.{}\n  virtual_ipaddress {{\n    {VIP}/32 dev eth0\n  }}\n}}\n",
                i + 1
            );
            keepaliveds.push(Keepalived::start(&c.nodes[i].ns, &format!("n{i}"), &conf).unwrap());
            continue;
        }
        let mut conf = NodeConf::new(prio);
        conf.fencer = false;
        conf.vips = format!("\"{VIP}/32\"");
        conf.instance_extra = format!("source = \"198.51.100.{}\"", i + 1);
        if kind.fenced() {
            // A fencer that succeeds: the VIP goes from every other node's interface.
            let others: Vec<&str> = (0..3)
                .filter(|&j| j != i)
                .map(|j| nss[j].as_str())
                .collect();
            conf.tail = format!(
                "[instance.fencer]\nargv = [\"sh\", \"-c\", \"for n in {}; do ip netns exec $n ip addr del {VIP}/32 dev eth0 2>/dev/null; done; true\"]\ntimeout = \"2s\"\n",
                others.join(" ")
            );
        }
        if kind.etcd() {
            let endpoints = ETCD.map(|a| format!("\"http://{a}:2379\"")).join(", ");
            conf.tail.push_str(&format!(
                "[instance.etcd]\nendpoints = [{endpoints}]\nmember = \"n{}\"\nttl = \"2s\"\n",
                i + 1
            ));
        }
        c.configure(i, &conf);
        c.start(i);
    }
    assert!(
        wait_until(Duration::from_secs(30), || c.holds(0)
            && !c.holds(1)
            && !c.holds(2)),
        "{kind:?}: node 1 never became the only holder"
    );
    // Settled (etcd: renewals running).
    std::thread::sleep(Duration::from_secs(2));
    Lab {
        c,
        etcd,
        keepaliveds,
    }
}

impl Lab {
    fn switch(&self) -> String {
        format!("{}-sw0", self.c.dir.file_name().unwrap().to_string_lossy())
    }

    /// SIGKILL node 1's daemon (keepalived: parent and VRRP child; both leave the VIP).
    fn kill(&mut self) {
        match self.keepaliveds.first_mut() {
            Some(k) => k.kill(),
            None => self.c.signal(0, Signal::SIGKILL),
        }
    }

    /// SIGTERM node 1's daemon (a graceful stop: priority 0 after the VIP is removed).
    fn stop(&mut self) {
        match self.keepaliveds.first_mut() {
            Some(k) => k.stop(Duration::from_secs(5)).unwrap(),
            None => self.c.signal(0, Signal::SIGTERM),
        }
    }

    /// Node 1's switch port down: its cable pulled.
    fn unplug(&self) {
        run(&["ip", "-n", &self.switch(), "link", "set", "p0", "down"]);
    }
}

fn run(argv: &[&str]) {
    let out = std::process::Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn nft(sw: &str, rule: &str) {
    run(&["ip", "netns", "exec", sw, "nft", rule]);
}

/// The first instant at or after `t0` at which node 2 or 3 holds the VIP.
fn other_holds_from(samples: &[Sample], t0: Duration) -> Option<Duration> {
    let before = samples
        .iter()
        .take_while(|(t, _)| *t <= t0)
        .last()
        .is_some_and(|(_, h)| h[1] || h[2]);
    if before {
        return Some(t0);
    }
    samples
        .iter()
        .find(|(t, h)| *t > t0 && (h[1] || h[2]))
        .map(|(t, _)| *t)
}

/// The time no node held the VIP between `t0` and the first hold by node 2 or 3.
fn gap_from(samples: &[Sample], t0: Duration) -> Duration {
    let Some(end) = other_holds_from(samples, t0) else {
        return Duration::MAX;
    };
    let mut gap = Duration::ZERO;
    let mut state: Option<(Duration, bool)> = None;
    for (t, h) in samples {
        let t = (*t).clamp(t0, end);
        if let Some((since, empty)) = state
            && empty
        {
            gap += t.saturating_sub(since);
        }
        state = Some((t, !h.iter().any(|x| *x)));
    }
    if let Some((since, true)) = state {
        gap += end.saturating_sub(since);
    }
    gap
}

fn sampler(l: &Lab) -> Sampler {
    l.c.sampler_for(VIP)
}

/// Crash failover: time from the fault to another node holding the VIP.
fn crash(kind: Kind, run: usize, unplug: bool) -> Duration {
    let how = if unplug { "link" } else { "kill" };
    let mut l = lab(
        kind,
        &format!("vipex-be-{how}{run}-{kind:?}").to_lowercase(),
    );
    let s = sampler(&l);
    std::thread::sleep(Duration::from_millis(200));
    let t0 = s.elapsed();
    if unplug {
        l.unplug();
    } else {
        l.kill();
    }
    let ok = wait_until(Duration::from_secs(15), || l.c.holds(1) || l.c.holds(2));
    std::thread::sleep(Duration::from_millis(200));
    let samples = s.finish();
    assert!(ok, "{kind:?}: nobody took over");
    if std::env::var("BENCH_DEBUG").is_ok() {
        println!("{kind:?} t0 {t0:?}: {samples:?}");
    }
    other_holds_from(&samples, t0).unwrap() - t0
}

/// Graceful switchover: the time no node holds the VIP after node 1's SIGTERM.
fn graceful(kind: Kind, run: usize) -> Duration {
    let mut l = lab(kind, &format!("vipex-be-term{run}-{kind:?}").to_lowercase());
    let s = sampler(&l);
    std::thread::sleep(Duration::from_millis(200));
    let t0 = s.elapsed();
    l.stop();
    let ok = wait_until(Duration::from_secs(15), || l.c.holds(1) || l.c.holds(2));
    std::thread::sleep(Duration::from_millis(200));
    let samples = s.finish();
    assert!(ok, "{kind:?}: nobody took over");
    if std::env::var("BENCH_DEBUG").is_ok() {
        println!("{kind:?} t0 {t0:?}: {samples:?}");
        // Every node's vipd log: the takeover's reason and any in-use probe alarm.
        for i in 0..3 {
            let ns = l.c.nodes[i].ns.name().to_string();
            let link = std::process::Command::new("ip")
                .args(["-n", &ns, "-br", "link", "show", "eth0"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            println!("==== node{} {} ====\n{}", i + 1, link.trim(), l.c.log(i));
        }
    }
    gap_from(&samples, t0)
}

/// The time two nodes held the VIP during and after a 5 s cut of node 1 (with one etcd
/// member) from the rest.
fn partition(kind: Kind, run: usize) -> Duration {
    let l = lab(kind, &format!("vipex-be-cut{run}-{kind:?}").to_lowercase());
    let s = sampler(&l);
    let sw = l.switch();
    let (side, rest) = ("{ p0, p3 }", "{ p1, p2, p4, p5 }");
    nft(&sw, "add table bridge vipcut");
    nft(
        &sw,
        "add chain bridge vipcut cutfw { type filter hook forward priority 0 ; }",
    );
    nft(
        &sw,
        &format!("add rule bridge vipcut cutfw iifname {side} oifname {rest} drop"),
    );
    nft(
        &sw,
        &format!("add rule bridge vipcut cutfw iifname {rest} oifname {side} drop"),
    );
    std::thread::sleep(Duration::from_secs(5));
    nft(&sw, "delete table bridge vipcut");
    std::thread::sleep(Duration::from_secs(5));
    s.timeline().two_holder_time()
}

/// etcd unreachable: every member SIGSTOPped. Returns the holder's time left to D when its
/// grant ended (from vipd's log) and whether the VIP was off every node 5 s later.
fn unreachable(run: usize) -> (Duration, bool) {
    let l = lab(Kind::VipdEtcd, &format!("vipex-be-noetcd{run}"));
    let etcd = l.etcd.as_ref().unwrap();
    for i in 0..3 {
        etcd.signal(i, "STOP").unwrap();
    }
    std::thread::sleep(Duration::from_secs(5));
    let gone = !(l.c.holds(0) || l.c.holds(1) || l.c.holds(2));
    for i in 0..3 {
        etcd.signal(i, "CONT").unwrap();
    }
    let log = l.c.log(0);
    let left = log
        .lines()
        .find(|line| line.contains("ownership grant ended before its deadline"))
        .and_then(|line| line.split("time_left_ms=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or_else(|| panic!("no grant end in the log:\n{log}"));
    (left, gone)
}

fn reps() -> usize {
    std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

/// Prints one table: the median per kind, its ratio to keepalived (first), every run.
fn table(title: &str, kinds: &[Kind], results: &[Vec<Duration>]) {
    println!("\n{title} ({} runs, median):", results[0].len());
    let base = median(&results[0]);
    for (kind, runs) in kinds.iter().zip(results) {
        let m = median(runs);
        let ratio = if base.is_zero() {
            "-".to_string()
        } else {
            format!("{:.2}", m.as_secs_f64() / base.as_secs_f64())
        };
        let all: Vec<String> = runs.iter().map(|d| ms(*d)).collect();
        println!(
            "  {:<22} {:>6} ms  x{ratio} of keepalived  runs (ms) {}",
            kind.label(),
            ms(m),
            all.join(" ")
        );
    }
}

fn root() -> bool {
    if !vip_core::lab::is_root() {
        println!("skipping: needs root");
        return false;
    }
    true
}

fn section(kinds: &[Kind], f: impl Fn(Kind, usize) -> Duration) -> Vec<Vec<Duration>> {
    let mut results: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
    for run in 0..reps() {
        for (k, kind) in kinds.iter().enumerate() {
            let d = f(*kind, run);
            println!("run {run} {kind:?}: {d:?}");
            results[k].push(d);
        }
    }
    results
}

const ALL: [Kind; 4] = [
    Kind::Keepalived,
    Kind::VipdFenced,
    Kind::VipdEtcd,
    Kind::VipdEtcdFenced,
];

#[test]
#[ignore = "benchmark: run by scripts/bench-etcd"]
fn a_crash_failover_sigkill() {
    if !root() {
        return;
    }
    let r = section(&ALL, |k, run| crash(k, run, false));
    table(
        "crash failover, SIGKILL of the master: time to a new holder, TTL 2 s",
        &ALL,
        &r,
    );
}

#[test]
#[ignore = "benchmark: run by scripts/bench-etcd"]
fn b_crash_failover_link_down() {
    if !root() {
        return;
    }
    let r = section(&ALL, |k, run| crash(k, run, true));
    table(
        "crash failover, master's switch port down: time to a new holder, TTL 2 s",
        &ALL,
        &r,
    );
}

#[test]
#[ignore = "benchmark: run by scripts/bench-etcd"]
fn c_graceful_switchover() {
    if !root() {
        return;
    }
    let kinds = [Kind::Keepalived, Kind::Vipd, Kind::VipdEtcd];
    let r = section(&kinds, graceful);
    table(
        "graceful switchover, SIGTERM of the master: time no node holds the VIP",
        &kinds,
        &r,
    );
}

#[test]
#[ignore = "benchmark: run by scripts/bench-etcd"]
fn d_two_holders_in_a_5_s_partition_of_the_master() {
    if !root() {
        return;
    }
    let kinds = [Kind::Keepalived, Kind::Vipd, Kind::VipdEtcd];
    let r = section(&kinds, partition);
    table(
        "time two nodes hold the VIP, master cut off for 5 s",
        &kinds,
        &r,
    );
}

#[test]
#[ignore = "benchmark: run by scripts/bench-etcd"]
fn e_etcd_unreachable() {
    if !root() {
        return;
    }
    let mut lefts = Vec::new();
    let mut all_gone = true;
    for run in 0..reps() {
        let (left, gone) = unreachable(run);
        println!(
            "run {run} etcd unreachable: {left:?} left to D when the grant ended, VIP gone: {gone}"
        );
        lefts.push(left);
        all_gone &= gone;
    }
    lefts.sort();
    let all: Vec<String> = lefts.iter().map(|d| ms(*d)).collect();
    println!(
        "\netcd unreachable (every member SIGSTOPped, TTL 2 s, {} runs): VIP removed before D in every run: {}; time left to D when the grant ended: min {} ms, median {} ms; runs (ms) {}",
        lefts.len(),
        all_gone && lefts.iter().all(|d| !d.is_zero()),
        ms(lefts[0]),
        ms(median(&lefts)),
        all.join(" ")
    );
}
