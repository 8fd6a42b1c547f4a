//! Support for the tests that pair vipd with a real keepalived 2.2.7 on one lab segment: a vipd
//! process runner, VIP holder sampling in both namespaces, the lab's overlap checker over both
//! namespaces for the whole test (each step states the overlap it allows: none, except where
//! keepalived, which has no in-use probe, takes the VIP from vipd by preemption), and the
//! mixed-pair scenario (agree on one master, fail over both ways, no packet errors on either
//! side).
//!
//! Each test binary uses part of this module.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use vip_core::lab::{Keepalived, Lab, LabProcess, Ns, OverlapChecker, Timeline};
use vip_examples::control::{InstanceStatus, Request, Response, StatusReport, request};

/// The vipd binary under test.
pub const VIPD: &str = env!("CARGO_BIN_EXE_vipd");
/// The VIP of the mixed-pair tests.
pub const VIP: &str = "198.51.100.100";
/// keepalived's node address.
pub const K_ADDR: &str = "198.51.100.1";
/// vipd's node address.
pub const V_ADDR: &str = "198.51.100.2";
/// vipd's metrics port (inside its namespace, so every test can use the same one).
pub const METRICS_PORT: u16 = 9650;

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh scratch directory for one test's files.
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vip-{tag}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A vipd process in a lab namespace, with its config, control socket and captured stderr.
pub struct Vipd {
    process: LabProcess,
    /// Its config file.
    pub config: PathBuf,
    /// Its captured log (stderr and stdout).
    pub log: PathBuf,
    /// Its control socket.
    pub socket: PathBuf,
    ns: Ns,
}

impl Vipd {
    /// The `[global]` section every test vipd uses: its own control socket in `dir`, metrics on
    /// the namespace's loopback, debug logs.
    pub fn global(dir: &Path, name: &str) -> String {
        format!(
            "[global]\ncontrol_socket = \"{}\"\nmetrics_listen = \"127.0.0.1:{METRICS_PORT}\"\nlog_level = \"debug\"\n\n",
            dir.join(format!("{name}.sock")).display()
        )
    }

    /// Writes `global + instances` to `dir/name.toml` and starts vipd on it in `ns`.
    pub fn start(ns: &Ns, dir: &Path, name: &str, instances: &str) -> Vipd {
        let text = format!("{}{instances}", Vipd::global(dir, name));
        Vipd::start_config(ns, dir, name, &text)
    }

    /// Writes `config` (a complete vipd config) to `dir/name.toml` and starts vipd on it.
    pub fn start_config(ns: &Ns, dir: &Path, name: &str, config: &str) -> Vipd {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, config).unwrap();
        let log = dir.join(format!("{name}.log"));
        let socket = dir.join(format!("{name}.sock"));
        let _ = std::fs::remove_file(&socket);
        let conf_s = path.to_string_lossy().into_owned();
        let process = ns.spawn(&[VIPD, "--config", &conf_s], Some(&log)).unwrap();
        Vipd {
            process,
            config: path,
            log,
            socket,
            ns: ns.clone(),
        }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// True while it runs.
    pub fn is_running(&mut self) -> bool {
        !self.process.has_exited()
    }

    /// SIGTERM and wait up to `timeout` for the exit; true if it exited.
    pub fn stop(&mut self, timeout: Duration) -> bool {
        if self.process.has_exited() {
            return true;
        }
        let _ = self.process.signal(nix::sys::signal::Signal::SIGTERM);
        self.process.wait_timeout(timeout)
    }

    /// Its status over the control socket (None while it does not answer).
    pub fn status(&self) -> Option<StatusReport> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        match rt.block_on(request(&self.socket, &Request::Status)) {
            Ok(Response::Status(report)) => Some(report),
            _ => None,
        }
    }

    /// The status of its instance `name`.
    pub fn instance(&self, name: &str) -> Option<InstanceStatus> {
        self.status()?
            .instances
            .into_iter()
            .find(|i| i.name == name)
    }

    /// Its `/metrics` page, fetched inside its namespace.
    pub fn metrics(&self) -> String {
        self.ns
            .enter(|| {
                use std::io::{Read, Write};
                let mut s = std::net::TcpStream::connect(("127.0.0.1", METRICS_PORT))?;
                s.set_read_timeout(Some(Duration::from_secs(5)))?;
                s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
                let mut out = String::new();
                s.read_to_string(&mut out)?;
                Ok::<String, std::io::Error>(out)
            })
            .unwrap()
            .unwrap_or_default()
    }

    /// The metric lines (name and labels, then value) of `name` with a non-zero value.
    pub fn nonzero(&self, name: &str) -> Vec<String> {
        self.metrics()
            .lines()
            .filter(|l| l.starts_with(name))
            .filter(|l| {
                l.rsplit(' ')
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
                    .is_some_and(|v| v != 0.0)
            })
            .map(str::to_string)
            .collect()
    }

    /// The sum of the values of metric `name` whose line contains `filter`.
    pub fn metric_sum(&self, name: &str, filter: &str) -> f64 {
        self.metrics()
            .lines()
            .filter(|l| l.starts_with(name) && l.contains(filter))
            .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
            .sum()
    }
}

impl Drop for Vipd {
    fn drop(&mut self) {
        if !self.stop(Duration::from_secs(3)) {
            let _ = self.process.signal(nix::sys::signal::Signal::SIGKILL);
            let _ = self.process.wait_timeout(Duration::from_secs(2));
        }
    }
}

/// True if `addr` (no prefix) is on `eth0` in `ns`.
pub fn has_addr(ns: &Ns, addr: &str) -> bool {
    let family = if addr.contains(':') { "-6" } else { "-4" };
    let needle = format!(" {addr}/");
    ns.run(&["ip", family, "-o", "addr", "show", "dev", "eth0"])
        .map(|out| out.contains(&needle))
        .unwrap_or(false)
}

/// How many of `addrs` are on `eth0` in `ns`.
pub fn count_addrs(ns: &Ns, addrs: &[&str]) -> usize {
    let out = ns
        .run(&["ip", "-o", "addr", "show", "dev", "eth0"])
        .unwrap_or_default();
    addrs
        .iter()
        .filter(|a| out.contains(&format!(" {a}/")))
        .count()
}

/// Which node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The keepalived node.
    Keepalived,
    /// The vipd node.
    Vipd,
}

impl Side {
    /// The other node.
    pub fn other(self) -> Side {
        match self {
            Side::Keepalived => Side::Vipd,
            Side::Vipd => Side::Keepalived,
        }
    }
}

/// Who holds the VIPs at one sample: (keepalived's node, vipd's node), each "all VIPs".
pub type Holders = (bool, bool);

/// Two nodes on one segment: keepalived in `k` (198.51.100.1), vipd in `v` (198.51.100.2).
/// Dropping it stops both daemons, then removes the namespaces; after a failure the scratch
/// directory (configs and logs) is kept and its path printed.
pub struct Pair {
    /// The running keepalived.
    pub ka: Option<Keepalived>,
    /// The running vipd.
    pub vipd: Option<Vipd>,
    /// keepalived's namespace.
    pub k: Ns,
    /// vipd's namespace.
    pub v: Ns,
    /// Scratch directory.
    pub dir: PathBuf,
    /// The VIPs both sides must hold together (addresses, no prefix).
    pub vips: Vec<String>,
    /// Packet-error lines of keepalived runs that have been replaced.
    pub earlier_errors: Vec<String>,
    /// Logs of vipd runs that have been replaced.
    pub earlier_vipd_logs: String,
    /// The overlap checker over both namespaces, for [`Pair::vips`].
    watch: Option<OverlapChecker>,
    /// The steps so far: (start on the checker's clock, name, the overlap allowed in it).
    steps: Vec<(Duration, String, Duration)>,
    lab: Lab,
}

impl Pair {
    /// The lab, or None (after a one-line message) without root or keepalived.
    pub fn new(tag: &str) -> Option<Pair> {
        Pair::with_addrs(tag, K_ADDR, V_ADDR)
    }

    /// Like [`Pair::new`] with the nodes' addresses given.
    pub fn with_addrs(tag: &str, k_addr: &str, v_addr: &str) -> Option<Pair> {
        if !Keepalived::available() {
            println!("skipping {tag}: keepalived is not installed");
            return None;
        }
        let mut lab = Lab::new_or_skip(tag).unwrap()?;
        let k = lab.namespace("k").unwrap();
        let v = lab.namespace("v").unwrap();
        lab.segment(&[&k, &v]).unwrap();
        k.run(&["ip", "addr", "add", &format!("{k_addr}/24"), "dev", "eth0"])
            .unwrap();
        v.run(&["ip", "addr", "add", &format!("{v_addr}/24"), "dev", "eth0"])
            .unwrap();
        let mut p = Pair {
            ka: None,
            vipd: None,
            k,
            v,
            dir: scratch(tag),
            vips: vec![VIP.to_string()],
            earlier_errors: Vec::new(),
            earlier_vipd_logs: String::new(),
            watch: None,
            steps: Vec::new(),
            lab,
        };
        p.watch();
        Some(p)
    }

    /// (Re)starts the overlap checker over both namespaces for [`Pair::vips`] (call it again
    /// after changing them, before any daemon starts); the first step, "start", allows none.
    pub fn watch(&mut self) {
        let vips: Vec<std::net::IpAddr> = self.vips.iter().map(|v| v.parse().unwrap()).collect();
        drop(self.watch.take());
        self.watch = Some(OverlapChecker::start(&[&self.k, &self.v], &vips).unwrap());
        self.steps = vec![(Duration::ZERO, "start".into(), Duration::ZERO)];
    }

    /// A new step from now on: an overlap that begins in it may last at most `allowed`.
    pub fn step(&mut self, name: &str, allowed: Duration) {
        let at = self
            .watch
            .as_ref()
            .map_or(Duration::ZERO, OverlapChecker::elapsed);
        self.steps.push((at, name.to_owned(), allowed));
    }

    /// Ends the record and fails the test if an overlap lasted longer than its step allows;
    /// prints every overlap seen. Returns the record.
    pub fn check_overlaps(&mut self) -> Option<Timeline> {
        let timeline = self.watch.take()?.finish().unwrap();
        for o in timeline.overlaps() {
            let (_, name, allowed) = self
                .steps
                .iter()
                .rev()
                .find(|(at, _, _)| *at <= o.from)
                .cloned()
                .unwrap_or_default();
            let took = o.to - o.from;
            println!(
                "overlap in step {name:?}: {} held by both for {took:?} (allowed {allowed:?})",
                o.vip
            );
            if took > allowed {
                self.fail(&format!(
                    "two holders in step {name:?}: {} from {:?} to {:?} ({took:?}, allowed \
                     {allowed:?}); changes: {:?}",
                    o.vip, o.from, o.to, timeline.changes
                ));
            }
        }
        Some(timeline)
    }

    /// The namespace of `side`.
    pub fn ns(&self, side: Side) -> &Ns {
        match side {
            Side::Keepalived => &self.k,
            Side::Vipd => &self.v,
        }
    }

    /// Starts (or restarts) keepalived with `conf`.
    pub fn start_keepalived(&mut self, conf: &str) {
        if let Some(mut old) = self.ka.take() {
            old.stop(Duration::from_secs(5)).unwrap();
            self.earlier_errors.extend(old.packet_errors());
        }
        self.ka = Some(Keepalived::start(&self.k, "k", conf).unwrap());
    }

    /// Starts (or restarts) vipd with the `[[instance]]` text `instances`.
    pub fn start_vipd(&mut self, instances: &str) {
        self.retire_vipd();
        self.vipd = Some(Vipd::start(&self.v, &self.dir, "vipd", instances));
    }

    /// Starts (or restarts) vipd with a complete config.
    pub fn start_vipd_config(&mut self, config: &str) {
        self.retire_vipd();
        self.vipd = Some(Vipd::start_config(&self.v, &self.dir, "vipd", config));
    }

    fn retire_vipd(&mut self) {
        if let Some(mut old) = self.vipd.take() {
            assert!(old.stop(Duration::from_secs(5)), "vipd did not stop");
            self.earlier_vipd_logs.push_str(&old.log());
        }
    }

    /// keepalived, running.
    pub fn ka(&mut self) -> &mut Keepalived {
        self.ka.as_mut().expect("keepalived runs")
    }

    /// vipd, running.
    pub fn vipd(&self) -> &Vipd {
        self.vipd.as_ref().expect("vipd runs")
    }

    /// Graceful stop of `side`'s daemon (SIGTERM); waits for the exit.
    pub fn stop(&mut self, side: Side) {
        match side {
            Side::Keepalived => {
                let mut ka = self.ka.take().expect("keepalived runs");
                ka.stop(Duration::from_secs(5)).unwrap();
                self.earlier_errors.extend(ka.packet_errors());
            }
            Side::Vipd => {
                let mut v = self.vipd.take().expect("vipd runs");
                let stopped = v.stop(Duration::from_secs(5));
                self.earlier_vipd_logs.push_str(&v.log());
                assert!(stopped, "vipd did not exit within 5 s of SIGTERM");
            }
        }
    }

    /// Sets `side`'s eth0 up or down.
    pub fn link(&self, side: Side, up: bool) {
        let state = if up { "up" } else { "down" };
        self.ns(side)
            .run(&["ip", "link", "set", "eth0", state])
            .unwrap();
    }

    /// True if `side` holds every VIP.
    pub fn holds(&self, side: Side) -> bool {
        let vips: Vec<&str> = self.vips.iter().map(String::as_str).collect();
        count_addrs(self.ns(side), &vips) == vips.len()
    }

    /// True if `side` holds any VIP.
    pub fn holds_any(&self, side: Side) -> bool {
        let vips: Vec<&str> = self.vips.iter().map(String::as_str).collect();
        count_addrs(self.ns(side), &vips) > 0
    }

    /// One sample: does each node hold any VIP? (keepalived, vipd)
    pub fn holders(&self) -> Holders {
        (self.holds_any(Side::Keepalived), self.holds_any(Side::Vipd))
    }

    fn expect_only(side: Side) -> Holders {
        match side {
            Side::Keepalived => (true, false),
            Side::Vipd => (false, true),
        }
    }

    /// Waits until `side` holds every VIP and the other none; returns how long that took.
    pub fn wait_for(&self, side: Side, patience: Duration, what: &str) -> Duration {
        let start = Instant::now();
        let mut last = self.holders();
        while start.elapsed() < patience {
            last = self.holders();
            if last == Pair::expect_only(side) && self.holds(side) {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.fail(&format!(
            "{what}: {side:?} did not become the only holder within {patience:?}; last sample (keepalived, vipd) = {last:?}"
        ));
    }

    /// Samples both namespaces for `window`: at every sample `side` must hold every VIP and the
    /// other node none. Returns the number of samples.
    pub fn assert_steady(&self, side: Side, window: Duration, what: &str) -> usize {
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < window {
            let h = self.holders();
            n += 1;
            if h != Pair::expect_only(side) || !self.holds(side) {
                self.fail(&format!(
                    "{what}: sample {n} at {:?}: (keepalived, vipd) hold = {h:?}, expected only {side:?}",
                    start.elapsed()
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        n
    }

    /// Every packet-error line keepalived logged, in this run and the replaced ones.
    pub fn keepalived_packet_errors(&self) -> Vec<String> {
        let mut all = self.earlier_errors.clone();
        if let Some(ka) = &self.ka {
            all.extend(ka.packet_errors());
        }
        all
    }

    /// Every vipd log so far.
    pub fn vipd_logs(&self) -> String {
        let mut all = self.earlier_vipd_logs.clone();
        if let Some(v) = &self.vipd {
            all.push_str(&v.log());
        }
        all
    }

    /// Panics with `msg` and the end of both logs.
    pub fn fail(&self, msg: &str) -> ! {
        let ka_log = self.ka.as_ref().map(|k| k.log()).unwrap_or_default();
        panic!(
            "{msg}\n--- keepalived log (tail) ---\n{}\n--- vipd log (tail) ---\n{}",
            tail(&ka_log, 25),
            tail(&self.vipd_logs(), 40)
        );
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // A test that did not check its overlaps is checked here, before the teardown.
        if !std::thread::panicking() {
            self.check_overlaps();
        }
        if let Some(mut ka) = self.ka.take() {
            let _ = ka.stop(Duration::from_secs(3));
        }
        if let Some(v) = self.vipd.take() {
            drop(v);
        }
        if std::thread::panicking() {
            let all = self.vipd_logs();
            let _ = std::fs::write(self.dir.join("vipd-all.log"), all);
            eprintln!("vipd files (configs, logs) kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The VRRP flavour of a mixed pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// VRRPv2 with PASS authentication, 1 s adverts, multicast.
    V2Pass,
    /// VRRPv3 over IPv4, 10 cs adverts, multicast (keepalived's pseudo-header checksum).
    V3,
    /// VRRPv3 over IPv4, 10 cs adverts, unicast both ways.
    V3Unicast,
}

impl Mode {
    /// The VRID.
    pub fn vrid(self) -> u8 {
        match self {
            Mode::V2Pass => 51,
            Mode::V3 => 52,
            Mode::V3Unicast => 56,
        }
    }

    /// The advert interval.
    pub fn advert(self) -> Duration {
        match self {
            Mode::V2Pass => Duration::from_secs(1),
            Mode::V3 | Mode::V3Unicast => Duration::from_millis(100),
        }
    }

    /// How long to wait for a takeover: Master_Down_Interval is below 4 adverts; the rest is
    /// slack for a loaded machine.
    pub fn patience(self) -> Duration {
        self.advert() * 4 + Duration::from_secs(4)
    }

    /// How long to watch a settled pair: ten adverts at 10 cs, two at 1 s.
    pub fn window(self) -> Duration {
        match self {
            Mode::V2Pass => Duration::from_secs(2),
            Mode::V3 | Mode::V3Unicast => Duration::from_secs(1),
        }
    }

    /// keepalived's config at `priority`.
    pub fn keepalived_conf(self, priority: u8) -> String {
        let version = match self {
            Mode::V2Pass => "",
            _ => "  vrrp_version 3\n",
        };
        let (advert, extra) = match self {
            Mode::V2Pass => (
                "1",
                "  authentication {\n    auth_type PASS\n    auth_pass 1111\n  }\n".to_string(),
            ),
            Mode::V3 => ("0.1", String::new()),
            Mode::V3Unicast => (
                "0.1",
                format!("  unicast_src_ip {K_ADDR}\n  unicast_peer {{\n    {V_ADDR}\n  }}\n"),
            ),
        };
        format!(
            "global_defs {{\n  router_id lab_k\n{version}  vrrp_garp_master_delay 0\n}}\n\
             vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {}\n  \
             priority {priority}\n  advert_int {advert}\n{extra}  virtual_ipaddress {{\n    \
             {VIP}/32 dev eth0\n  }}\n}}\n",
            self.vrid()
        )
    }

    /// vipd's `[[instance]]` at `priority`.
    pub fn vipd_instance(self, priority: u8) -> String {
        let specific = match self {
            Mode::V2Pass => {
                "version = 2\nadvert_interval = \"1s\"\nauth = { type = \"pass\", password = \"1111\" }\n"
                    .to_string()
            }
            Mode::V3 => "version = 3\nadvert_interval = \"10cs\"\n".to_string(),
            Mode::V3Unicast => format!(
                "version = 3\nadvert_interval = \"10cs\"\nsource = \"{V_ADDR}\"\nunicast_peers = [\"{K_ADDR}\"]\n"
            ),
        };
        format!(
            "[[instance]]\nname = \"mixed\"\ninterface = \"eth0\"\nvrid = {}\npriority = {priority}\n\
             {specific}vips = [\"{VIP}/32\"]\n",
            self.vrid()
        )
    }
}

/// The mixed-pair scenario: keepalived and vipd on one segment, `higher` at priority 150 and
/// the other at 100.
///
/// 1. Start the higher node, then the lower: exactly one master, the higher (sampled in both
///    namespaces), and vipd's status agrees (its role, and the master's address).
/// 2. Graceful stop (SIGTERM) of the higher: the lower takes over alone.
/// 3. Restart the higher: it preempts, the lower steps down.
/// 4. Link down on the higher: the lower takes over, the down node releases the VIP.
/// 5. Link up: the higher preempts again.
/// 6. keepalived logged no packet error; vipd counted no drop and no VIP-list mismatch.
pub fn mixed_pair(tag: &str, mode: Mode, higher: Side) {
    let Some(mut p) = Pair::new(tag) else { return };
    let lower = higher.other();
    let prio = |side: Side| if side == higher { 150 } else { 100 };
    let ka_conf = mode.keepalived_conf(prio(Side::Keepalived));
    let vipd_conf = mode.vipd_instance(prio(Side::Vipd));
    let start = |p: &mut Pair, side: Side| match side {
        Side::Keepalived => p.start_keepalived(&ka_conf),
        Side::Vipd => p.start_vipd(&vipd_conf),
    };
    let (patience, window) = (mode.patience(), mode.window());

    // 1. One master: the higher. Both start at once; when keepalived is the higher, vipd may
    // become master before keepalived's first advert reaches it on a loaded machine, and
    // keepalived (no in-use probe) then preempts it.
    if higher == Side::Keepalived {
        p.step("start", keepalived_preempt_bound(mode.advert()));
    }
    start(&mut p, higher);
    start(&mut p, lower);
    p.wait_for(higher, patience + mode.advert() * 4, "start");
    p.assert_steady(higher, window, "settled after start");
    check_vipd_view(&p, higher);

    // keepalived has no in-use probe: when it preempts vipd it adds the VIP at once, and vipd
    // removes its copy as soon as it hears keepalived's higher advert. That overlap is
    // measured and bounded (a vipd that never stepped down would exceed it); vipd taking the
    // VIP, whatever the step, may overlap nothing.
    let preempt_overlap = |to: Side| {
        if to == Side::Keepalived {
            keepalived_preempt_bound(mode.advert())
        } else {
            Duration::ZERO
        }
    };

    // 2. Graceful stop of the master.
    p.step("graceful stop of the master", Duration::ZERO);
    p.stop(higher);
    p.wait_for(lower, patience, "graceful stop of the master");
    p.assert_steady(lower, window / 2, "after graceful stop");

    // 3. The higher comes back and preempts.
    p.step("restart of the higher node", preempt_overlap(higher));
    start(&mut p, higher);
    p.wait_for(
        higher,
        patience + mode.advert() * 4,
        "restart of the higher node",
    );
    p.assert_steady(higher, window, "after preempting back");
    check_vipd_view(&p, higher);

    // 4. Link down on the master: the lower takes over, and the down node has released the VIP
    // (keepalived enters FAULT and removes it; vipd enters Fault and releases it).
    p.step("link down on the master", Duration::ZERO);
    p.link(higher, false);
    p.wait_for(lower, patience, "link down on the master");
    p.assert_steady(lower, window / 2, "while the master's link is down");

    // 5. Link up: the higher preempts again.
    p.step("link back up", preempt_overlap(higher));
    p.link(higher, true);
    p.wait_for(higher, patience + mode.advert() * 4, "link back up");
    p.assert_steady(higher, window, "after link up");
    check_vipd_view(&p, higher);
    p.check_overlaps();

    // 6. No packet errors on either side.
    let errors = p.keepalived_packet_errors();
    if !errors.is_empty() {
        p.fail(&format!("keepalived logged packet errors: {errors:#?}"));
    }
    let vipd = p.vipd();
    let drops = vipd.nonzero("vip_adverts_dropped_total");
    let mismatches = vipd.nonzero("vip_address_list_mismatch_total");
    let received = vipd.metric_sum("vip_adverts_received_total", "");
    if !drops.is_empty() || !mismatches.is_empty() {
        p.fail(&format!(
            "vipd dropped keepalived's adverts: {drops:?}, mismatches: {mismatches:?}"
        ));
    }
    // The current vipd run has seen keepalived's adverts (it was backup to it, or heard its
    // claim), so the counters above are about real traffic.
    if received == 0.0 {
        p.fail("vipd's current run counted no received adverts");
    }
}

/// The longest overlap allowed when keepalived preempts vipd: keepalived adds the VIP as it
/// becomes master, vipd removes its copy when it hears keepalived's higher advert. Bounded by a
/// Master_Down_Interval (below four adverts) plus 1 s of slack for a loaded machine: not a
/// timing figure, a bound a vipd that failed to step down would exceed.
pub fn keepalived_preempt_bound(advert: Duration) -> Duration {
    advert * 4 + Duration::from_secs(1)
}

/// vipd's own view agrees with the addresses: master when it holds the VIP, otherwise backup
/// with keepalived's address as the master.
pub fn check_vipd_view(p: &Pair, master: Side) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = None;
    while Instant::now() < deadline {
        if let Some(st) = p.vipd().instance("mixed") {
            let state = st.state.to_ascii_lowercase();
            let ok = match master {
                Side::Vipd => state == "master",
                Side::Keepalived => {
                    state == "backup" && st.master.as_deref().is_some_and(|m| m.contains(K_ADDR))
                }
            };
            if ok {
                return;
            }
            last = Some(st);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    p.fail(&format!(
        "vipd's status disagrees: expected {master:?} as master, got {last:?}"
    ));
}
