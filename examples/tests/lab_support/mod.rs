//! Shared lab harness for vipd lab tests: two (or more) nodes on one bridge, each running the
//! real vipd binary inside its own network namespace, with helpers to read addresses, status,
//! metrics and logs. Everything is removed when the [`Cluster`] is dropped (the
//! `vip_core::lab::Lab` kills the processes it spawned by pid and deletes the namespaces).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use vip_core::lab::{Lab, LabProcess, Ns};
use vip_examples::control::StatusReport;

/// The vipd binary under test.
pub const VIPD: &str = env!("CARGO_BIN_EXE_vipd");
/// The vipctl binary.
pub const VIPCTL: &str = env!("CARGO_BIN_EXE_vipctl");
/// The VIP every test moves around.
pub const VIP: &str = "192.0.2.100";
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
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub extras: Vec<Ns>,
    pub dir: PathBuf,
    lab: Lab,
}

impl Drop for Cluster {
    fn drop(&mut self) {
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
    }
}

impl Cluster {
    /// `nodes` nodes (192.0.2.1, .2, ...) and `extras` extra namespaces (192.0.2.50, .51, ...)
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
        lab.segment(&all).unwrap();
        for (i, ns) in ns_extras.iter().enumerate() {
            let a = format!("192.0.2.{}/24", 50 + i);
            ns.run(&["ip", "addr", "add", &a, "dev", "eth0"]).unwrap();
        }
        let nodes = ns_nodes
            .into_iter()
            .enumerate()
            .map(|(i, ns)| {
                let addr = format!("192.0.2.{}", i + 1);
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
        Some(Cluster {
            nodes,
            extras: ns_extras,
            dir,
            lab,
        })
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

    /// Sets node `i`'s eth0 up or down.
    pub fn link(&self, i: usize, up: bool) {
        self.nodes[i]
            .ns
            .run(&["ip", "link", "set", "eth0", if up { "up" } else { "down" }])
            .unwrap();
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

    /// Starts sampling which nodes hold the VIP, every ~1 ms, until the sampler is finished.
    pub fn sampler(&self) -> Sampler {
        self.sampler_for(VIP)
    }

    /// Like [`Cluster::sampler`], for another VIP address.
    pub fn sampler_for(&self, vip: &str) -> Sampler {
        let vip: std::net::IpAddr = vip.parse().unwrap();
        let readers = self.nodes.iter().map(|n| Reader::new(&n.ns, vip)).collect();
        Sampler::start(readers)
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

/// Reads one namespace's vip-tagged addresses over a netlink socket opened inside it (much
/// faster than running `ip`, so that samples are ~1 ms apart even on a loaded machine).
struct Reader {
    rt: tokio::runtime::Runtime,
    manager: vip_netlink::NetlinkAddressManager,
    vip: std::net::IpAddr,
}

impl Reader {
    fn new(ns: &Ns, vip: std::net::IpAddr) -> Reader {
        ns.enter(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let manager = rt
                .block_on(async { vip_netlink::NetlinkAddressManager::with_defaults() })
                .unwrap();
            Reader { rt, manager, vip }
        })
        .unwrap()
    }

    fn holds(&self) -> bool {
        use vip_core::AddressManager;
        self.rt
            .block_on(self.manager.list("eth0"))
            .map(|l| l.iter().any(|v| v.addr == self.vip))
            .unwrap_or(false)
    }
}

/// One sample: time since the sampler started, and whether each node held the VIP.
pub type Sample = (Duration, Vec<bool>);

/// Samples which namespaces hold the VIP (vipd tags the addresses it adds; the sampler reads
/// tagged addresses), one sample of every node every ~1 ms, on a thread of its own.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Sample>>>,
}

impl Sampler {
    fn start(readers: Vec<Reader>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut samples = Vec::new();
            while !s.load(Ordering::Relaxed) {
                let held: Vec<bool> = readers.iter().map(Reader::holds).collect();
                samples.push((start.elapsed(), held));
                std::thread::sleep(Duration::from_millis(1));
            }
            samples
        });
        Sampler {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling and returns the samples (time since start, holder flags by node).
    pub fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }

    /// Stops sampling and asserts that no sample saw two holders; returns the samples.
    pub fn assert_never_two_holders(self) -> Vec<Sample> {
        let samples = self.finish();
        assert!(samples.len() >= 20, "too few samples: {}", samples.len());
        for (t, held) in &samples {
            assert!(
                held.iter().filter(|h| **h).count() <= 1,
                "two holders at {t:?}: {held:?}"
            );
        }
        samples
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
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
