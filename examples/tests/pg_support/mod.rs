//! Lab for issue 7: a real PostgreSQL 15 primary and standby (repmgr-registered, vip-pg harness)
//! in namespaces n1 (192.0.2.1) and n2 (192.0.2.2), vipd on each with a repmgr role section and
//! the command fencer, and a client namespace (192.0.2.50) that reaches the database through the
//! VIP. repmgr's event_notification_command calls `vipctl repmgr-event` on each node.
//! Everything is removed on drop: vipd stopped, servers stopped, namespaces deleted.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use vip_core::lab::{Lab, LabProcess, Ns};
use vip_pg::harness::{Cluster, ClusterBuilder, NodeSpec};

/// The vipd binary under test.
pub const VIPD: &str = env!("CARGO_BIN_EXE_vipd");
/// The vipctl binary (also run by repmgr as the postgres user).
pub const VIPCTL: &str = env!("CARGO_BIN_EXE_vipctl");
/// The VIP clients use.
pub const VIP: &str = "192.0.2.100";
/// Generous bound for things that take a few probe or advert intervals (not a figure).
pub const SOON: Duration = Duration::from_secs(10);
/// Role probe interval and timeout in the lab configs.
pub const PROBE_INTERVAL_MS: u64 = 100;
/// Role probe timeout.
pub const PROBE_TIMEOUT_MS: u64 = 300;

/// A vipd node: namespace, files, process.
pub struct VNode {
    /// Its namespace.
    pub ns: Ns,
    /// Its address on eth0.
    pub addr: String,
    /// repmgr node name.
    pub name: String,
    /// Config file.
    pub config: PathBuf,
    /// vipd's log.
    pub log: PathBuf,
    /// Control socket.
    pub sock: PathBuf,
    /// The running vipd.
    pub vipd: Option<LabProcess>,
}

/// The whole lab. Field order matters for drop: vipd first (Drop impl), then the cluster, then
/// the namespaces.
pub struct PgLab {
    /// The vipd nodes (index = harness node index).
    pub nodes: Vec<VNode>,
    /// The database cluster (node 0 primary, node 1 standby at start).
    pub cluster: Option<Cluster>,
    /// The client namespace.
    pub client: Ns,
    /// Temp dir (configs, logs, sockets).
    pub dir: PathBuf,
    lab: Lab,
}

impl Drop for PgLab {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut p) = n.vipd.take() {
                p.stop(Duration::from_secs(3));
            }
        }
        if std::thread::panicking() {
            for n in &self.nodes {
                let log = std::fs::read_to_string(&n.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                eprintln!("==== {} vipd log (last 60 lines) ====", n.name);
                for l in tail.iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
        drop(self.cluster.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

impl PgLab {
    /// Builds the lab and the cluster (vipd not started yet). `None` after a one-line skip
    /// message when not root or PostgreSQL/repmgr are missing.
    pub fn new(tag: &str) -> Option<PgLab> {
        if let Some(reason) = Cluster::skip_reason() {
            println!("skipping {tag}: {reason}");
            return None;
        }
        let mut lab = Lab::new_or_skip(tag).unwrap()?;
        let dir = std::env::temp_dir().join(lab.prefix());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // The postgres user (repmgr's event command) must reach the control sockets.
        Command::new("chmod")
            .arg("0755")
            .arg(&dir)
            .status()
            .unwrap();
        let n1 = lab.namespace("n1").unwrap();
        let n2 = lab.namespace("n2").unwrap();
        let client = lab.namespace("c").unwrap();
        lab.segment(&[&n1, &n2, &client]).unwrap();
        for (ns, last) in [(&n1, 1), (&n2, 2), (&client, 50)] {
            ns.run(&[
                "ip",
                "addr",
                "add",
                &format!("192.0.2.{last}/24"),
                "dev",
                "eth0",
            ])
            .unwrap();
        }
        let mut nodes = Vec::new();
        let mut specs = Vec::new();
        for (i, ns) in [n1, n2].into_iter().enumerate() {
            let name = format!("node{}", i + 1);
            let sock = dir.join(format!("{name}.sock"));
            let mut spec = NodeSpec::in_netns(&name, ns.name(), ip(i as u8 + 1));
            spec.extra_postgresql_conf
                .push("listen_addresses = '*'".to_owned());
            spec.extra_repmgr_conf.push(format!(
                "event_notification_command='{VIPCTL} --socket {} repmgr-event %n %e %s \"%t\" \"%d\"'",
                sock.display()
            ));
            spec.extra_repmgr_conf.push(
                "event_notifications='standby_promote,repmgrd_failover_promote,standby_follow,standby_switchover'"
                    .to_owned(),
            );
            specs.push(spec);
            nodes.push(VNode {
                addr: format!("192.0.2.{}", i + 1),
                config: dir.join(format!("{name}.toml")),
                log: dir.join(format!("{name}.log")),
                sock,
                name,
                ns,
                vipd: None,
            });
        }
        let cluster = ClusterBuilder::with_nodes(specs).start().unwrap();
        let mut pg = PgLab {
            nodes,
            cluster: Some(cluster),
            client,
            dir,
            lab,
        };
        for i in 0..2 {
            pg.configure(i, "");
        }
        Some(pg)
    }

    /// The cluster.
    pub fn db(&self) -> &Cluster {
        self.cluster.as_ref().unwrap()
    }

    /// The cluster, mutably.
    pub fn db_mut(&mut self) -> &mut Cluster {
        self.cluster.as_mut().unwrap()
    }

    /// Writes node `i`'s vipd config: 10 cs adverts, repmgr role probe every 100 ms (300 ms
    /// bound), the command fencer (removes the VIP inside the other node's namespace). `extra`
    /// goes into the `[[instance]]` table.
    pub fn configure(&self, i: usize, extra: &str) {
        let node = &self.nodes[i];
        let other = &self.nodes[1 - i];
        let text = format!(
            r#"[global]
control_socket = "{sock}"
log_level = "info"

[[instance]]
name = "pg"
interface = "eth0"
vrid = 61
version = 3
priority = 100
advert_interval = "10cs"
vips = ["{VIP}/32"]
{extra}

[instance.role]
kind = "repmgr"
conninfo = "host={addr} port=5432 user=repmgr dbname=repmgr"
node_name = "{name}"
interval = "{PROBE_INTERVAL_MS}ms"
timeout = "{PROBE_TIMEOUT_MS}ms"

[instance.fencer]
argv = ["ip", "netns", "exec", "{other}", "ip", "addr", "del", "{{vip}}/32", "dev", "{{interface}}"]
timeout = "2s"
"#,
            sock = node.sock.display(),
            addr = node.addr,
            name = node.name,
            other = other.ns.name(),
        );
        std::fs::write(&node.config, text).unwrap();
    }

    /// Starts vipd on node `i` and opens its control socket to the postgres group.
    pub fn start_vipd(&mut self, i: usize) {
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
        let sock = node.sock.clone();
        assert!(
            wait_until(SOON, || sock.exists()),
            "vipd on {} never opened its control socket",
            self.nodes[i].name
        );
        let ok = Command::new("chgrp")
            .arg("postgres")
            .arg(&sock)
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Starts both vipd and waits until node `i` holds the VIP alone.
    pub fn start_all_expect(&mut self, i: usize) {
        self.start_vipd(0);
        self.start_vipd(1);
        self.wait_sole_holder(i, SOON);
    }

    /// Signals node `i`'s vipd.
    pub fn signal_vipd(&self, i: usize, signal: Signal) {
        self.nodes[i].vipd.as_ref().unwrap().signal(signal).unwrap();
    }

    /// Whether node `i` holds the VIP (asks the kernel).
    pub fn holds(&self, i: usize) -> bool {
        holds(self.nodes[i].ns.name())
    }

    /// Waits until node `i` holds the VIP and the other does not.
    pub fn wait_sole_holder(&self, i: usize, limit: Duration) {
        let ok = wait_until(limit, || self.holds(i) && !self.holds(1 - i));
        assert!(
            ok,
            "{} never became the only holder (holders: {}, {})",
            self.nodes[i].name,
            self.holds(0),
            self.holds(1)
        );
    }

    /// Samples both namespaces on a thread until finished.
    pub fn sampler(&self) -> Sampler {
        Sampler::start(self.nodes.iter().map(|n| n.ns.name().to_owned()).collect())
    }

    /// `psql -h VIP -c SQL` from the client namespace (3 s connect timeout); stdout trimmed.
    pub fn client_query(&self, sql: &str) -> Result<String, String> {
        client_query(self.client.name(), sql)
    }

    /// node `i`'s vipd log.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    /// `vipctl status` of node `i` (text).
    pub fn status(&self, i: usize) -> String {
        let out = Command::new(VIPCTL)
            .arg("--socket")
            .arg(&self.nodes[i].sock)
            .arg("status")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// `psql` through the VIP from namespace `ns`.
pub fn client_query(ns: &str, sql: &str) -> Result<String, String> {
    let psql = vip_pg::harness::pg_bin("psql");
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(psql)
        .args(["-X", "-A", "-t", "-q", "-w"])
        .arg(format!(
            "host={VIP} port=5432 user=repmgr dbname=repmgr connect_timeout=3"
        ))
        .args(["-c", sql])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Whether namespace `ns` holds the VIP on eth0.
pub fn holds(ns: &str) -> bool {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "-4", "addr", "show", "dev", "eth0"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!(" {VIP}/32 "))
}

/// Polls `f` every 10 ms until true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One sample: when, and which nodes held the VIP.
pub type Sample = (Duration, [bool; 2]);

/// Samples which of the two node namespaces hold the VIP, as fast as `ip` allows.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    start: Instant,
    thread: Option<JoinHandle<Vec<Sample>>>,
}

impl Sampler {
    fn start(names: Vec<String>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let start = Instant::now();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !s.load(Ordering::Relaxed) {
                let held = [holds(&names[0]), holds(&names[1])];
                samples.push((start.elapsed(), held));
            }
            samples
        });
        Sampler {
            stop,
            start,
            thread: Some(thread),
        }
    }

    /// Time since the sampler started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Stops sampling and returns the samples.
    pub fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }

    /// Stops sampling, asserts that no sample saw both nodes hold the VIP, returns the samples.
    pub fn assert_never_two_holders(self) -> Vec<Sample> {
        let samples = self.finish();
        assert!(samples.len() >= 20, "too few samples: {}", samples.len());
        let both: Vec<&Sample> = samples.iter().filter(|(_, h)| h[0] && h[1]).collect();
        assert!(
            both.is_empty(),
            "both nodes held the VIP in {} of {} samples, first at {:?}",
            both.len(),
            samples.len(),
            both[0].0
        );
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

/// The first sample time at or after `from` where node `i` held the VIP and the other not.
pub fn first_sole(samples: &[Sample], i: usize, from: Duration) -> Option<Duration> {
    samples
        .iter()
        .find(|(t, h)| *t >= from && h[i] && !h[1 - i])
        .map(|(t, _)| *t)
}

/// The last sample time at which node `i` held the VIP.
pub fn last_held(samples: &[Sample], i: usize) -> Option<Duration> {
    samples.iter().rev().find(|(_, h)| h[i]).map(|(t, _)| *t)
}
