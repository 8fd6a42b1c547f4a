//! Shared lab harness for vipd lab tests: two (or more) nodes on one bridge, each running the
//! real vipd binary inside its own network namespace, with helpers to read addresses, status,
//! metrics and logs. Everything is removed when the [`Cluster`] is dropped (the
//! `vip_core::lab::Lab` kills the processes it spawned by pid and deletes the namespaces).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use vip_core::lab::{Lab, LabProcess, Ns, OverlapChecker, Timeline};
use vip_examples::control::StatusReport;

/// The vipd binary under test.
pub const VIPD: &str = env!("CARGO_BIN_EXE_vipd");
/// The vipctl binary.
pub const VIPCTL: &str = env!("CARGO_BIN_EXE_vipctl");
/// The VIP every test moves around.
pub const VIP: &str = "198.51.100.100";
/// The IPv6 VIP of the IPv6 tests.
pub const VIP6: &str = "2001:db8::100";
/// Where vipd's metrics listen inside each node's namespace.
pub const METRICS_PORT: u16 = 9650;
/// Generous bound for anything that should happen within a few advert intervals.
pub const SOON: Duration = Duration::from_secs(5);

/// One node's settings.
#[derive(Debug, Clone)]
pub struct NodeConf {
    /// Base priority.
    pub priority: u8,
    /// Preempt mode.
    pub preempt: bool,
    /// Extra keys inside the `[[instance]]` table (before its sub-tables).
    pub instance_extra: String,
    /// Whether the instance gets the lab fencer (removes the VIP in the other node's namespace).
    pub fencer: bool,
    /// Extra TOML appended at the end (more `[[instance]]` tables).
    pub tail: String,
    /// The instance's VIPs (default: the IPv4 [`VIP`]/32).
    pub vips: String,
}

impl NodeConf {
    /// Priority `priority`, preempt on, the lab fencer.
    pub fn new(priority: u8) -> Self {
        NodeConf {
            priority,
            preempt: true,
            instance_extra: String::new(),
            fencer: true,
            tail: String::new(),
            vips: format!("\"{VIP}/32\""),
        }
    }
}

/// A node: its namespace, address, config and vipd process.
pub struct Node {
    /// Its namespace.
    pub ns: Ns,
    /// Its address on eth0 (the adverts' source).
    pub addr: String,
    /// The config file.
    pub config: PathBuf,
    /// vipd's log (stderr and stdout, appended across restarts).
    pub log: PathBuf,
    /// The control socket.
    pub sock: PathBuf,
    /// The running vipd, if any.
    pub vipd: Option<LabProcess>,
}

/// A lab with `n` nodes on one bridge, plus optional extra namespaces on the same bridge.
///
/// The overlap checker watches every node from before the first vipd starts until the cluster
/// is dropped: a test that ends with two nodes having held the VIP at once fails then, whatever
/// it checked itself.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub extras: Vec<Ns>,
    pub dir: PathBuf,
    /// The switch namespace (bridge `br0`, node i on port `p{i}`, then the extras).
    pub switch: Ns,
    watch: Option<Sampler>,
    lab: Lab,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The record ends before the teardown (stopping the daemons one by one is not a test).
        let watch = self.watch.take();
        let timeline = watch
            .filter(|_| !std::thread::panicking())
            .map(|w| w.checker.finish());
        for n in &mut self.nodes {
            if let Some(mut p) = n.vipd.take() {
                p.stop(Duration::from_secs(2));
            }
        }
        if std::thread::panicking() {
            for (i, n) in self.nodes.iter().enumerate() {
                let log = std::fs::read_to_string(&n.log).unwrap_or_default();
                eprintln!("==== node{} vipd log ====\n{log}", i + 1);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        match timeline {
            Some(Ok(t)) => t.assert_never_two_holders(),
            Some(Err(e)) => panic!("the cluster's overlap record failed: {e}"),
            None => {}
        }
    }
}

impl Cluster {
    /// `nodes` nodes (198.51.100.1, .2, ...) and `extras` extra namespaces (198.51.100.50, .51, ...)
    /// on one bridge. `None` (after a one-line skip message) without root.
    pub fn new(tag: &str, nodes: usize, extras: usize) -> Option<Cluster> {
        let mut lab = Lab::new_or_skip(tag).unwrap()?;
        let dir = std::env::temp_dir().join(lab.prefix());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut ns_nodes = Vec::new();
        for i in 0..nodes {
            ns_nodes.push(lab.namespace(&format!("n{}", i + 1)).unwrap());
        }
        let mut ns_extras = Vec::new();
        for i in 0..extras {
            ns_extras.push(lab.namespace(&format!("x{}", i + 1)).unwrap());
        }
        let all: Vec<&Ns> = ns_nodes.iter().chain(ns_extras.iter()).collect();
        let switch = lab.segment(&all).unwrap();
        for (i, ns) in ns_extras.iter().enumerate() {
            let a = format!("198.51.100.{}/24", 50 + i);
            ns.run(&["ip", "addr", "add", &a, "dev", "eth0"]).unwrap();
        }
        let nodes = ns_nodes
            .into_iter()
            .enumerate()
            .map(|(i, ns)| {
                let addr = format!("198.51.100.{}", i + 1);
                ns.run(&["ip", "addr", "add", &format!("{addr}/24"), "dev", "eth0"])
                    .unwrap();
                Node {
                    ns,
                    addr,
                    config: dir.join(format!("n{}.toml", i + 1)),
                    log: dir.join(format!("n{}.log", i + 1)),
                    sock: dir.join(format!("n{}.sock", i + 1)),
                    vipd: None,
                }
            })
            .collect();
        let mut c = Cluster {
            nodes,
            extras: ns_extras,
            dir,
            switch,
            watch: None,
            lab,
        };
        c.watch = Some(c.sampler());
        Some(c)
    }

    /// A second segment, `eth1`, joining every node and `n` new namespaces (`r1`, `r2`, ...):
    /// the real servers' side of a load balancer (LVS-NAT). Node i gets 203.0.113.(i+1)/24 on
    /// eth1 and forwards; real server j gets 203.0.113.(11+j)/24 and a default route via
    /// `gateway` (a VIP on the nodes' eth1, so that replies go back through the VIP's holder).
    pub fn real_server_segment(&mut self, n: usize, gateway: &str) -> Vec<Ns> {
        let reals: Vec<Ns> = (0..n)
            .map(|j| self.lab.namespace(&format!("r{}", j + 1)).unwrap())
            .collect();
        let all: Vec<&Ns> = self
            .nodes
            .iter()
            .map(|n| &n.ns)
            .chain(reals.iter())
            .collect();
        self.lab.segment_named(&all, "eth1").unwrap();
        for (i, node) in self.nodes.iter().enumerate() {
            let a = format!("203.0.113.{}/24", i + 1);
            node.ns
                .run(&["ip", "addr", "add", &a, "dev", "eth1"])
                .unwrap();
            node.ns
                .run(&["sysctl", "-qw", "net.ipv4.ip_forward=1"])
                .unwrap();
        }
        for (j, r) in reals.iter().enumerate() {
            let a = format!("203.0.113.{}/24", 11 + j);
            r.run(&["ip", "addr", "add", &a, "dev", "eth1"]).unwrap();
            r.run(&["ip", "route", "add", "default", "via", gateway])
                .unwrap();
        }
        reals
    }

    /// Ends the cluster-wide overlap assertion: for a chaos run, which reports its overlaps
    /// (with its own [`Cluster::sampler`]) instead of failing on the first.
    pub fn end_watch(&mut self) {
        drop(self.watch.take());
    }

    /// Writes node `i`'s config (0-based).
    pub fn configure(&self, i: usize, conf: &NodeConf) {
        let node = &self.nodes[i];
        let other = &self.nodes[(i + 1) % self.nodes.len()];
        let fencer = if conf.fencer {
            format!(
                "[instance.fencer]\nargv = [\"ip\", \"netns\", \"exec\", \"{}\", \"ip\", \"addr\", \"del\", \"{{vips}}\", \"dev\", \"{{interface}}\"]\ntimeout = \"2s\"\n",
                other.ns.name()
            )
        } else {
            String::new()
        };
        let text = format!(
            r#"[global]
control_socket = "{sock}"
metrics_listen = "127.0.0.1:{METRICS_PORT}"
log_level = "info,vip_vrrp=info"

[[instance]]
name = "vip"
interface = "eth0"
vrid = 51
version = 3
priority = {prio}
advert_interval = "10cs"
preempt = {preempt}
vips = [{vips}]
{extra}
{fencer}
{tail}
"#,
            sock = node.sock.display(),
            prio = conf.priority,
            preempt = conf.preempt,
            extra = conf.instance_extra,
            tail = conf.tail,
            vips = conf.vips,
        );
        std::fs::write(&node.config, text).unwrap();
    }

    /// Starts vipd on node `i` (its config must be written).
    pub fn start(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let config = node.config.display().to_string();
        let p = node
            .ns
            .spawn(
                &["env", "NO_COLOR=1", "RUST_LOG=", VIPD, "--config", &config],
                Some(&node.log),
            )
            .unwrap();
        node.vipd = Some(p);
    }

    /// Sends `signal` to node `i`'s vipd; for SIGTERM/SIGKILL waits for it to exit.
    pub fn signal(&mut self, i: usize, signal: Signal) {
        let node = &mut self.nodes[i];
        let p = node.vipd.as_mut().expect("vipd running");
        p.signal(signal).unwrap();
        if matches!(signal, Signal::SIGTERM | Signal::SIGKILL) {
            assert!(p.wait_timeout(SOON), "vipd on node{} did not exit", i + 1);
            node.vipd = None;
        }
    }

    /// Whether node `i` holds the VIP on eth0 (asks the kernel).
    pub fn holds(&self, i: usize) -> bool {
        holds(self.nodes[i].ns.name())
    }

    /// The nodes that hold the VIP on eth0 (asks the kernel).
    pub fn holders(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.holds(i)).collect()
    }

    /// Sets node `i`'s eth0 up or down.
    pub fn link(&self, i: usize, up: bool) {
        self.nodes[i]
            .ns
            .run(&["ip", "link", "set", "eth0", if up { "up" } else { "down" }])
            .unwrap();
    }

    /// `vipctl status` (the table) of node `i`.
    pub fn status_table(&self, i: usize) -> String {
        let out = Command::new(VIPCTL)
            .arg("--socket")
            .arg(&self.nodes[i].sock)
            .arg("status")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `vipctl status --json` of node `i`.
    pub fn status(&self, i: usize) -> Option<StatusReport> {
        let out = Command::new(VIPCTL)
            .arg("--socket")
            .arg(&self.nodes[i].sock)
            .args(["status", "--json"])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// The state of instance `name` on node `i` ("" when unknown).
    pub fn state_of(&self, i: usize, name: &str) -> String {
        self.status(i)
            .and_then(|s| s.instances.into_iter().find(|x| x.name == name))
            .map(|x| x.state)
            .unwrap_or_default()
    }

    /// The state of the `vip` instance on node `i`.
    pub fn state(&self, i: usize) -> String {
        self.state_of(i, "vip")
    }

    /// Waits until node `i` is master of `vip` and holds the VIP, and the others do not.
    pub fn wait_master(&self, i: usize) {
        let ok = wait_until(SOON, || {
            self.state(i) == "master"
                && self.holds(i)
                && (0..self.nodes.len()).all(|j| j == i || !self.holds(j))
        });
        assert!(
            ok,
            "node{} did not become the only holder: states {:?}, holders {:?}",
            i + 1,
            (0..self.nodes.len())
                .map(|j| self.state(j))
                .collect::<Vec<_>>(),
            (0..self.nodes.len())
                .map(|j| self.holds(j))
                .collect::<Vec<_>>()
        );
    }

    /// Node `i`'s metrics, scraped from inside its namespace.
    pub fn metrics(&self, i: usize) -> String {
        self.nodes[i]
            .ns
            .enter(|| {
                let mut s = TcpStream::connect(("127.0.0.1", METRICS_PORT))?;
                s.set_read_timeout(Some(Duration::from_secs(5)))?;
                s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
                let mut body = String::new();
                s.read_to_string(&mut body)?;
                Ok::<String, std::io::Error>(body)
            })
            .unwrap()
            .unwrap()
    }

    /// Node `i`'s vipd log so far.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    /// Starts recording which nodes hold [`VIP`] or [`VIP6`] (every copy, from the kernel's
    /// address events), until the sampler is finished.
    pub fn sampler(&self) -> Sampler {
        let ns: Vec<&Ns> = self.nodes.iter().map(|n| &n.ns).collect();
        let vips = [VIP.parse().unwrap(), VIP6.parse().unwrap()];
        Sampler {
            checker: OverlapChecker::start(&ns, &vips).unwrap(),
        }
    }

    /// Like [`Cluster::sampler`], for another VIP address.
    #[allow(dead_code)]
    pub fn sampler_for(&self, vip: &str) -> Sampler {
        let ns: Vec<&Ns> = self.nodes.iter().map(|n| &n.ns).collect();
        let vips = [vip.parse().unwrap()];
        Sampler {
            checker: OverlapChecker::start(&ns, &vips).unwrap(),
        }
    }
}

/// Whether namespace `ns` holds the VIP on eth0.
pub fn holds(ns: &str) -> bool {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "addr", "show", "dev", "eth0"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!(" {VIP}/32 "))
}

pub use vip_core::lab::wait_until;

/// One sample: time since the checker started, and whether each node held the VIP from then
/// on (the first is the state at the start, the last the state at the end).
pub type Sample = (Duration, Vec<bool>);

/// The lab's overlap checker (`vip_core::lab::OverlapChecker`) over every node's namespace,
/// for [`VIP`] and [`VIP6`]: kernel address events, any copy, one thread and one clock.
pub struct Sampler {
    checker: OverlapChecker,
}

impl Sampler {
    /// Time since the checker started, on its clock.
    pub fn elapsed(&self) -> Duration {
        self.checker.elapsed()
    }

    /// Stops the record and returns it (panics on a read error or a gap in it).
    pub fn timeline(self) -> Timeline {
        self.checker.finish().unwrap()
    }

    /// Stops the record and returns the samples.
    pub fn finish(self) -> Vec<Sample> {
        self.timeline().samples()
    }

    /// Stops the record, asserts that no two nodes ever held the VIP at once, returns the
    /// samples.
    pub fn assert_never_two_holders(self) -> Vec<Sample> {
        let timeline = self.timeline();
        timeline.assert_never_two_holders();
        timeline.samples()
    }
}

/// The value of the first metrics line that starts with `series` (the series name with its
/// labels, as rendered), or 0.
pub fn metric(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.trim().parse().ok()))
        .unwrap_or(0.0)
}

/// A transition as vipd's log shows it (the runtime logs it once, in the instance's span).
pub fn transition(from: &str, to: &str, reason: &str) -> String {
    format!("transition from={from} to={to} reason={reason}")
}
