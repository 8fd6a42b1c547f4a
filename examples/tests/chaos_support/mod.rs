//! The chaos run (issue 17): three (or more) nodes and a client in lab namespaces, driven by a
//! seeded random schedule of faults, several at a time, and checked by the lab's one overlap
//! checker (kernel address events of every node, one thread, one clock) and by the client's
//! view (which MAC answers ARP for the VIP).
//!
//! Each episode applies one or two faults on distinct nodes (or etcd members), holds them
//! 0.2-3 s, reverts them, then leaves the cluster alone 0.5-2 s. The faults are
//! [`faults::Fault`]'s kinds. The nodes ([`Mode`]): vipd with a STONITH fencer (`policy =
//! "always"`; it kills every other node's processes and removes their VIP, and a fenced node
//! boots again, its vipd restarted, at the end of the episode), vipd with a fencer that only
//! removes the VIP, vipd gated by a real three-member etcd (no fencer), vipd with a repmgr
//! role probe on a real PostgreSQL 15 per node (primary on node 1, standbys on the others; no
//! fencer: see [`pg`]), or keepalived (no fencing: the control). Every node has a tracked check (weight 0: a failing check is a fault)
//! reading files the schedule touches; keepalived reads the same verdict from a track file.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod client;
pub mod faults;
pub mod pg;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use vip_core::lab::Keepalived;
use vip_etcd::harness::EtcdCluster;

use crate::lab_support::{Cluster, NodeConf, VIP, wait_until};
use client::{ClientProbe, ClientView};
use faults::{Fault, Rng, Store};
use pg::{Db, RoleView};

/// Which nodes run, and how they are kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// vipd, a fencer that kills every other node's processes and removes its VIP.
    Stonith,
    /// vipd, a fencer that only removes the VIP.
    Address,
    /// vipd gated by etcd (TTL 2 s), no fencer.
    Etcd,
    /// vipd with a repmgr role probe on PostgreSQL 15 (node 1 the primary), no fencer.
    Pg,
    /// keepalived 2.2 (no fencing): the control.
    Keepalived,
}

impl Mode {
    /// From `CHAOS_ROLE` (`pg`, first), `CHAOS_ARBITER` (`etcd`, `keepalived`) and
    /// `CHAOS_FENCE` (`stonith`, `address`).
    pub fn from_env() -> Mode {
        if std::env::var("CHAOS_ROLE").as_deref() == Ok("pg") {
            return Mode::Pg;
        }
        match std::env::var("CHAOS_ARBITER").as_deref() {
            Ok("etcd") => return Mode::Etcd,
            Ok("keepalived") => return Mode::Keepalived,
            _ => {}
        }
        match std::env::var("CHAOS_FENCE").as_deref() {
            Ok("address") => Mode::Address,
            _ => Mode::Stonith,
        }
    }

    /// The store whose faults the schedule draws.
    pub fn store(self) -> Store {
        match self {
            Mode::Etcd => Store::Etcd,
            Mode::Pg => Store::Pg,
            _ => Store::None,
        }
    }

    /// One line saying what runs.
    pub fn describe(self) -> &'static str {
        match self {
            Mode::Stonith => {
                "vipd, fencer stonith (kill every other node's processes, remove the VIP)"
            }
            Mode::Address => "vipd, fencer address (remove the VIP)",
            Mode::Etcd => "vipd gated by a 3-member etcd (TTL 2 s), no fencer",
            Mode::Pg => {
                "vipd with a repmgr role probe on PostgreSQL 15 (primary on node 1, standbys on the others), no fencer"
            }
            Mode::Keepalived => "keepalived 2.2, no fencing (the control)",
        }
    }
}

/// A run's settings.
#[derive(Debug, Clone)]
pub struct Opts {
    pub seconds: u64,
    pub nodes: usize,
    pub seed: u64,
    pub mode: Mode,
    /// Where to copy the daemons' logs at the end (none: not kept).
    pub logs: Option<PathBuf>,
}

impl Opts {
    /// From `CHAOS_SECONDS` (default `seconds`), `CHAOS_NODES` (3), `CHAOS_SEED` (the clock),
    /// [`Mode::from_env`] and `CHAOS_LOGS`.
    pub fn from_env(seconds: u64) -> Opts {
        let seed = env_or(
            "CHAOS_SEED",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64),
        );
        Opts {
            seconds: env_or("CHAOS_SECONDS", seconds),
            nodes: env_or("CHAOS_NODES", 3usize).max(2),
            seed: seed.max(1),
            mode: Mode::from_env(),
            logs: std::env::var_os("CHAOS_LOGS").map(PathBuf::from),
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Milliseconds, for the report.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One episode: its faults (those applied) and when, on the checker's clock, it began and ended.
pub struct Episode {
    pub faults: Vec<Fault>,
    /// For each fault: from just before its apply to just after its revert.
    pub spans: Vec<(Duration, Duration)>,
    pub start: Duration,
    pub end: Duration,
}

/// What a run measured.
pub struct Report {
    pub opts: Opts,
    /// Faults applied.
    pub faults: usize,
    /// Faults applied by kind, in order of first use.
    pub kinds: Vec<(String, usize)>,
    /// Time two or more nodes held the VIP (kernel view).
    pub two_holders: Duration,
    /// Longest time with no holder (kernel view), once the first holder was there.
    pub longest_no_holder: Duration,
    /// The client's view.
    pub client: ClientView,
    /// For each episode, from its end to exactly one holder (zero if one held at its end).
    pub recovery: Vec<Duration>,
    /// Whether exactly one node held the VIP within 10 s of the last fault.
    pub settled: bool,
    /// Each two-holder interval with the episodes around it, one line each.
    pub incidents: Vec<String>,
    /// With the PostgreSQL role: the role rule's record.
    pub role: Option<RoleView>,
}

impl Report {
    /// The 99th percentile of the recovery times.
    pub fn recovery_p99(&self) -> Duration {
        let mut r = self.recovery.clone();
        r.sort();
        r.get((r.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    }

    /// The worst recovery time.
    pub fn recovery_max(&self) -> Duration {
        self.recovery.iter().copied().max().unwrap_or_default()
    }

    /// The report's lines, the summary last:
    /// `chaos: N faults in S s, two holders X ms, longest outage Y ms, recovery p99 Z ms, seed K`
    /// (the outage is the client's: the longest time no MAC answered ARP for the VIP).
    pub fn lines(&self) -> Vec<String> {
        let mut out = self.incidents.clone();
        out.push(format!(
            "faults: {}",
            self.kinds
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let c = &self.client;
        out.push(format!(
            "client: {} replies from {} MACs, longest outage {:.1} ms, total outage {:.1} ms, {} requests answered by two MACs{}",
            c.replies,
            c.macs.len(),
            ms(c.longest_outage),
            ms(c.total_outage),
            c.two_mac_requests,
            if c.two_mac_at.is_empty() {
                String::new()
            } else {
                format!(
                    " (at {})",
                    c.two_mac_at
                        .iter()
                        .take(20)
                        .map(|t| format!("{:.0} ms", ms(*t)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ));
        out.push(format!(
            "kernel: longest time with no holder {:.1} ms; recovery max {:.1} ms over {} episodes",
            ms(self.longest_no_holder),
            ms(self.recovery_max()),
            self.recovery.len()
        ));
        if let Some(role) = &self.role {
            out.push(role.line());
        }
        if !self.settled {
            out.push("warning: no single holder 10 s after the last fault".into());
        }
        out.push(format!(
            "chaos: {} faults in {} s, two holders {:.1} ms, longest outage {:.1} ms, recovery p99 {:.1} ms, seed {}",
            self.faults,
            self.opts.seconds,
            ms(self.two_holders),
            ms(self.client.longest_outage),
            ms(self.recovery_p99()),
            self.opts.seed
        ));
        out
    }
}

/// The etcd members' addresses (the cluster's first three extra namespaces).
const ETCD: [&str; 3] = ["198.51.100.50", "198.51.100.51", "198.51.100.52"];
/// The priority a [`Fault::Reload`] sets.
const RELOAD_PRIORITY: u8 = 20;

fn priority(i: usize) -> u8 {
    200 - 50 * i.min(3) as u8
}

/// The nodes and what the schedule acts on.
struct Run {
    /// First: the servers stop before the namespaces go.
    db: Option<Db>,
    c: Cluster,
    mode: Mode,
    etcd: Option<EtcdCluster>,
    keepalived: Vec<Option<Keepalived>>,
    confs: Vec<NodeConf>,
    /// Per node: the check's files (`.fail`, `.hang`) or keepalived's track file.
    check: Vec<PathBuf>,
    nodes: usize,
}

impl Run {
    fn kconf(&self, i: usize, prio: u8) -> String {
        format!(
            "global_defs {{\n  router_id n{n}\n  vrrp_version 3\n  vrrp_garp_master_delay 0\n  script_user root\n}}\n\
             track_file chk {{\n  file \"{track}\"\n  weight 0\n}}\n\
             vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
             priority {prio}\n  advert_int 0.1\n  track_file {{\n    chk\n  }}\n  virtual_ipaddress {{\n    \
             {VIP}/32 dev eth0\n  }}\n}}\n",
            n = i + 1,
            track = self.check[i].display()
        )
    }

    fn vipd_conf(&self, i: usize, prio: u8) -> NodeConf {
        let mut conf = self.confs[i].clone();
        conf.priority = prio;
        conf
    }

    fn start(&mut self, i: usize) {
        if self.mode == Mode::Keepalived {
            let text = self.kconf(i, priority(i));
            let k = Keepalived::start(&self.c.nodes[i].ns, &format!("n{}", i + 1), &text).unwrap();
            self.keepalived[i] = Some(k);
        } else {
            self.c.start(i);
        }
    }

    fn signal(&mut self, i: usize, sig: Signal) {
        if let Some(k) = &self.keepalived[i] {
            for pid in [Some(k.pid()), k.vrrp_child_pid()].into_iter().flatten() {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
            }
        } else if let Some(p) = self.c.nodes[i].vipd.as_mut() {
            let _ = p.signal(sig);
        }
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut k) = self.keepalived[i].take() {
            k.kill();
        } else if let Some(mut p) = self.c.nodes[i].vipd.take() {
            let _ = p.signal(Signal::SIGKILL);
            p.wait_timeout(Duration::from_secs(5));
        }
    }

    /// Writes node `i`'s config at `prio` and reloads its daemon (SIGHUP).
    fn reload(&mut self, i: usize, prio: u8) {
        if self.mode == Mode::Keepalived {
            let text = self.kconf(i, prio);
            if let Some(k) = &self.keepalived[i] {
                std::fs::write(k.config_path(), text).unwrap();
            }
        } else {
            let conf = self.vipd_conf(i, prio);
            self.c.configure(i, &conf);
        }
        self.signal(i, Signal::SIGHUP);
    }

    fn set_check(&self, i: usize, what: &str, on: bool) {
        if self.mode == Mode::Keepalived {
            std::fs::write(&self.check[i], if on { "1\n" } else { "0\n" }).unwrap();
        } else {
            let f = self.check[i].with_extension(what);
            if on {
                std::fs::write(&f, "").unwrap();
            } else {
                let _ = std::fs::remove_file(&f);
            }
        }
    }

    fn nft(&self, rule: &str) {
        let mut argv = vec!["nft", "add", "rule", "bridge", "chaos", "cut"];
        argv.extend(rule.split(' '));
        self.c.switch.run(&argv).unwrap();
    }

    /// Applies `f`; false if this mode has no such fault (then it is skipped).
    fn apply(&mut self, f: Fault) -> bool {
        // With more than three nodes, a draw for member 4 or above is skipped.
        let etcd = self.mode == Mode::Etcd && f.node() < ETCD.len();
        match f {
            Fault::EtcdStop(m) if etcd => {
                self.etcd.as_ref().unwrap().signal(m, "STOP").unwrap();
            }
            Fault::EtcdPartition(m) if etcd => {
                for r in f.rules(self.nodes + m) {
                    self.nft(&r);
                }
            }
            Fault::EtcdKill(m) if etcd => self.etcd.as_mut().unwrap().kill(m),
            Fault::EtcdStop(_) | Fault::EtcdKill(_) | Fault::EtcdPartition(_) => return false,
            Fault::PgFreeze(_) | Fault::PgStop(_) => match self.db.as_mut() {
                Some(db) => db.apply(f),
                None => return false,
            },
            Fault::LinkDown(i) => self.c.link(i, false),
            Fault::Stop(i) => self.signal(i, Signal::SIGSTOP),
            Fault::Kill(i) => self.kill(i),
            Fault::CheckFails(i) => self.set_check(i, "fail", true),
            Fault::CheckHangs(i) => self.set_check(i, "hang", true),
            Fault::Reload(i) => self.reload(i, RELOAD_PRIORITY),
            Fault::Partition(i)
            | Fault::OneWayOut(i)
            | Fault::VrrpBlocked(i)
            | Fault::Loss(i, _) => {
                for r in f.rules(i) {
                    self.nft(&r);
                }
            }
        }
        true
    }

    fn revert(&mut self, f: Fault) {
        match f {
            Fault::EtcdStop(m) => self.etcd.as_ref().unwrap().signal(m, "CONT").unwrap(),
            Fault::EtcdKill(m) => self.etcd.as_mut().unwrap().restart(m).unwrap(),
            Fault::PgFreeze(_) | Fault::PgStop(_) => {
                if let Some(db) = self.db.as_mut() {
                    db.revert(f);
                }
            }
            Fault::LinkDown(i) => self.c.link(i, true),
            Fault::Stop(i) => self.signal(i, Signal::SIGCONT),
            Fault::Kill(i) => self.start(i),
            Fault::CheckFails(i) => self.set_check(i, "fail", false),
            Fault::CheckHangs(i) => self.set_check(i, "hang", false),
            Fault::Reload(i) => self.reload(i, priority(i)),
            // The network faults of an episode end together: the chain is flushed.
            _ => {}
        }
    }

    /// Fenced nodes boot again: a daemon the fencer killed is started anew. Returns them.
    fn boot_fenced(&mut self) -> Vec<usize> {
        let mut booted = Vec::new();
        for i in 0..self.nodes {
            if self.c.nodes[i]
                .vipd
                .as_mut()
                .is_some_and(|p| p.has_exited())
            {
                self.c.nodes[i].vipd = None;
                self.c.start(i);
                booted.push(i + 1);
            }
        }
        booted
    }

    fn holders(&self) -> usize {
        (0..self.nodes).filter(|i| self.c.holds(*i)).count()
    }
}

/// Runs the schedule of `opts`; `None` (after a skip line) without root, keepalived or etcd.
/// Prints the report's lines as they come.
pub fn run(tag: &str, opts: Opts) -> Option<Report> {
    let n = opts.nodes;
    let mode = opts.mode;
    println!(
        "chaos: seed {}, {n} nodes, {} s; {}",
        opts.seed,
        opts.seconds,
        mode.describe()
    );
    if mode == Mode::Keepalived && !Keepalived::available() {
        println!("skipping {tag}: keepalived is not installed");
        return None;
    }
    let etcd_members = if mode == Mode::Etcd { 3 } else { 0 };
    // The extras: the etcd members (if any), then the client.
    let c = Cluster::new(tag, n, etcd_members + 1)?;
    let etcd = if mode == Mode::Etcd {
        let names: Vec<&str> = c.extras[..3].iter().map(|x| x.name()).collect();
        Some(EtcdCluster::start_in(tag, &names, &ETCD).unwrap()?)
    } else {
        None
    };
    let db = if mode == Mode::Pg {
        Some(Db::start(tag, &c)?)
    } else {
        None
    };
    c.switch
        .run(&["nft", "add", "table", "bridge", "chaos"])
        .unwrap();
    c.switch
        .run(&[
            "nft", "add", "chain", "bridge", "chaos", "cut", "{", "type", "filter", "hook",
            "forward", "priority", "0", ";", "}",
        ])
        .unwrap();
    let check: Vec<PathBuf> = (0..n)
        .map(|i| c.dir.join(format!("n{}-check", i + 1)))
        .collect();
    let mut confs = Vec::new();
    for (i, check) in check.iter().enumerate() {
        let mut conf = NodeConf::new(priority(i));
        conf.fencer = false;
        let script = check.with_extension("sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nwhile [ -e {f}.hang ]; do sleep 0.05; done\n[ ! -e {f}.fail ]\n",
                f = check.display()
            ),
        )
        .unwrap();
        std::fs::write(check, "0\n").unwrap();
        let check_table = format!(
            "[[instance.check]]\nname = \"chaos\"\nargv = [\"sh\", \"{}\"]\ninterval = \"200ms\"\ntimeout = \"600ms\"\n",
            script.display()
        );
        let fencer = match mode {
            Mode::Stonith | Mode::Address => {
                let others: Vec<String> = (0..n)
                    .filter(|j| *j != i)
                    .map(|j| {
                        let ns = c.nodes[j].ns.name();
                        let kill = if mode == Mode::Stonith {
                            format!("ip netns pids {ns} | xargs -r kill -KILL; ")
                        } else {
                            String::new()
                        };
                        format!(
                            "{kill}ip netns exec {ns} ip addr del {{vip}}/32 dev eth0 2>/dev/null"
                        )
                    })
                    .collect();
                format!(
                    "[instance.fencer]\nargv = [\"sh\", \"-c\", \"{}; true\"]\ntimeout = \"2s\"\npolicy = \"always\"\n",
                    others.join("; ")
                )
            }
            Mode::Etcd => {
                let endpoints = ETCD
                    .iter()
                    .map(|a| format!("\"http://{a}:2379\""))
                    .collect::<Vec<_>>()
                    .join(", ");
                conf.instance_extra = format!("source = \"{}\"", c.nodes[i].addr);
                format!(
                    "[instance.etcd]\nendpoints = [{endpoints}]\nmember = \"n{}\"\nttl = \"2s\"\n",
                    i + 1
                )
            }
            Mode::Pg => db.as_ref().unwrap().role_table(i),
            Mode::Keepalived => String::new(),
        };
        conf.tail = format!("{fencer}{check_table}");
        c.configure(i, &conf);
        confs.push(conf);
    }
    let mut r = Run {
        db,
        c,
        mode,
        etcd,
        keepalived: (0..n).map(|_| None).collect(),
        confs,
        check,
        nodes: n,
    };
    for i in 0..n {
        r.start(i);
    }
    let one = wait_until(Duration::from_secs(15), || r.holders() == 1);
    assert!(one, "no single holder after the start");
    // keepalived's nodes settle by preemption: let the best one take over before the record.
    std::thread::sleep(Duration::from_secs(1));
    let sampler = r.c.sampler();
    let t0 = Instant::now() - sampler.elapsed();
    let client_ns = r.c.extras.last().unwrap();
    let client = ClientProbe::start(client_ns, VIP, &r.c.dir.join("client.log"), t0);
    let wall0 = std::time::SystemTime::now() - sampler.elapsed();

    let mut rng = Rng(opts.seed);
    let mut episodes: Vec<Episode> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(opts.seconds);
    while Instant::now() < deadline {
        let count = 1 + rng.below(2) as usize;
        let mut drawn: Vec<Fault> = Vec::new();
        while drawn.len() < count.min(n) {
            let node = rng.below(n as u64) as usize;
            if drawn.iter().all(|f| f.node() != node) {
                drawn.push(Fault::pick(&mut rng, node, mode.store()));
            }
        }
        let hold = rng.millis(200, 3000);
        let quiet = rng.millis(500, 2000);
        let booted = r.boot_fenced();
        if !booted.is_empty() {
            println!(
                "note: fenced nodes {booted:?} booted again at {:.0} ms",
                ms(sampler.elapsed())
            );
        }
        let start = sampler.elapsed();
        let mut faults: Vec<Fault> = Vec::new();
        let mut spans: Vec<(Duration, Duration)> = Vec::new();
        for f in drawn {
            let at = sampler.elapsed();
            if r.apply(f) {
                faults.push(f);
                spans.push((at, at));
            }
        }
        std::thread::sleep(hold);
        r.c.switch
            .run(&["nft", "flush", "chain", "bridge", "chaos", "cut"])
            .unwrap();
        for (f, span) in faults.iter().zip(&mut spans) {
            r.revert(*f);
            span.1 = sampler.elapsed();
        }
        let booted = r.boot_fenced();
        if !booted.is_empty() {
            println!(
                "note: fenced nodes {booted:?} booted again at {:.0} ms",
                ms(sampler.elapsed())
            );
        }
        if !faults.is_empty() {
            episodes.push(Episode {
                faults,
                spans,
                start,
                end: sampler.elapsed(),
            });
        }
        std::thread::sleep(quiet);
    }
    // Let the last episode settle: exactly one holder again.
    let settled = wait_until(Duration::from_secs(10), || r.holders() == 1);
    let client = client.finish();
    let timeline = sampler.timeline();
    let samples = timeline.samples();
    let held = |h: &[bool]| h.iter().filter(|x| **x).count();

    let around = |from: Duration, to: Duration| -> Vec<String> {
        episodes
            .iter()
            .filter(|e| e.end + Duration::from_secs(5) >= from && e.start <= to)
            .map(|e| format!("{:?} {:.0}..{:.0} ms", e.faults, ms(e.start), ms(e.end)))
            .collect()
    };
    let mut incidents = Vec::new();
    for o in timeline.overlaps() {
        incidents.push(format!(
            "incident: {} held by nodes {:?} from {:.1} to {:.1} ms ({:.1} ms); faults: {:?}",
            o.vip,
            o.holders.iter().map(|h| h + 1).collect::<Vec<_>>(),
            ms(o.from),
            ms(o.to),
            ms(o.to - o.from),
            around(o.from, o.to)
        ));
    }
    let mut longest = Duration::ZERO;
    let mut empty_since = None;
    for (t, h) in &samples {
        match (held(h), empty_since) {
            (0, None) => empty_since = Some(*t),
            (k, Some(since)) if k > 0 => {
                longest = longest.max(*t - since);
                empty_since = None;
            }
            _ => {}
        }
    }
    let recovery: Vec<Duration> = episodes
        .iter()
        .map(|e| {
            let at_end = samples
                .iter()
                .rev()
                .find(|(t, _)| *t <= e.end)
                .map(|(_, h)| held(h));
            if at_end == Some(1) {
                return Duration::ZERO;
            }
            samples
                .iter()
                .find(|(t, h)| *t > e.end && held(h) == 1)
                .map_or(timeline.end - e.end, |(t, _)| *t - e.end)
        })
        .collect();
    if !timeline.ambiguous.is_empty() {
        println!(
            "note: {} handovers read in one wake-up (order unknown below the checker's latency)",
            timeline.ambiguous.len()
        );
    }
    if let Some(dir) = &opts.logs {
        keep_logs(&r, dir, wall0);
    }
    let role =
        r.db.as_ref()
            .map(|db| RoleView::measure(&samples, &episodes, &db.standbys()));
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for f in episodes.iter().flat_map(|e| &e.faults) {
        let name = format!("{f:?}");
        let name = name.split('(').next().unwrap_or_default().to_owned();
        match kinds.iter_mut().find(|(k, _)| *k == name) {
            Some((_, count)) => *count += 1,
            None => kinds.push((name, 1)),
        }
    }
    let report = Report {
        faults: episodes.iter().map(|e| e.faults.len()).sum(),
        kinds,
        two_holders: timeline.two_holder_time(),
        longest_no_holder: longest,
        client,
        recovery,
        settled,
        incidents,
        role,
        opts,
    };
    for l in report.lines() {
        println!("{l}");
    }
    // The report is the result; the cluster's own record (dropped next) is not asserted here.
    r.c.end_watch();
    Some(report)
}

/// Copies the daemons' and the client's logs to `dir`, with the wall-clock time of the
/// checker's zero (to align the logs' time stamps with the report's).
fn keep_logs(r: &Run, dir: &Path, wall0: std::time::SystemTime) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..r.nodes {
        let log = match &r.keepalived[i] {
            Some(k) => k.log(),
            None => r.c.log(i),
        };
        std::fs::write(dir.join(format!("n{}.log", i + 1)), log).unwrap();
    }
    let _ = std::fs::copy(r.c.dir.join("client.log"), dir.join("client.log"));
    for (name, text) in r.db.iter().flat_map(|db| db.logs()) {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let zero = wall0
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    std::fs::write(
        dir.join("t0"),
        format!(
            "checker clock zero: {:.3} s since the epoch\n",
            zero.as_secs_f64()
        ),
    )
    .unwrap();
    println!("note: logs kept in {}", dir.display());
}
