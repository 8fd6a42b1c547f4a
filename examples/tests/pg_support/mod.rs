//! Lab for issue 7: a real PostgreSQL 15 primary and standby (repmgr-registered, vip-pg harness)
//! in namespaces n1 (198.51.100.1) and n2 (198.51.100.2), vipd on each with a repmgr role section and
//! the command fencer, and a client namespace (198.51.100.50) that reaches the database through the
//! VIP. repmgr's event_notification_command calls `vipctl repmgr-event` on each node.
//! Everything is removed on drop: vipd stopped, servers stopped, namespaces deleted.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use vip_core::lab::{Lab, LabProcess, Ns};
use vip_pg::harness::{Cluster, ClusterBuilder, NodeSpec};

/// The vipd binary under test.
pub const VIPD: &str = env!("CARGO_BIN_EXE_vipd");
/// The vipctl binary (also run by repmgr as the postgres user).
pub const VIPCTL: &str = env!("CARGO_BIN_EXE_vipctl");
/// The vipd to run: `VIP_BENCH_VIPD` (the benchmark's release build) or the test build.
pub fn vipd_bin() -> String {
    std::env::var("VIP_BENCH_VIPD").unwrap_or_else(|_| VIPD.to_owned())
}

/// The vipctl repmgr runs: `VIP_BENCH_VIPCTL` or the test build.
pub fn vipctl_bin() -> String {
    std::env::var("VIP_BENCH_VIPCTL").unwrap_or_else(|_| VIPCTL.to_owned())
}

/// The role probe interval (= timeout) of the lab configs: `VIP_BENCH_PROBE_MS` or
/// [`PROBE_INTERVAL_MS`].
pub fn probe_ms() -> u64 {
    std::env::var("VIP_BENCH_PROBE_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(PROBE_INTERVAL_MS)
}

/// The VIP clients use.
pub const VIP: &str = "198.51.100.100";
/// Generous bound for things that take a few probe or advert intervals (not a figure).
pub const SOON: Duration = Duration::from_secs(10);
/// Role probe interval in the lab configs (vipd requires timeout <= interval).
pub const PROBE_INTERVAL_MS: u64 = 200;
/// Role probe timeout.
pub const PROBE_TIMEOUT_MS: u64 = 200;

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
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))
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
                &format!("198.51.100.{last}/24"),
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
                "event_notification_command='{} --socket {} repmgr-event %n %e %s \"%t\" \"%d\"'",
                vipctl_bin(),
                sock.display()
            ));
            spec.extra_repmgr_conf.push(
                "event_notifications='standby_promote,repmgrd_failover_promote,standby_follow,standby_switchover'"
                    .to_owned(),
            );
            specs.push(spec);
            nodes.push(VNode {
                addr: format!("198.51.100.{}", i + 1),
                config: dir.join(format!("{name}.toml")),
                log: dir.join(format!("{name}.log")),
                sock,
                name,
                ns,
                vipd: None,
            });
        }
        let cluster = ClusterBuilder::with_nodes(specs).start().unwrap();
        let pg = PgLab {
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
        self.configure_with(i, extra, probe_ms(), probe_ms());
    }

    /// Like [`PgLab::configure`] with the role probe's interval and timeout in ms.
    pub fn configure_with(&self, i: usize, extra: &str, interval_ms: u64, timeout_ms: u64) {
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
interval = "{interval_ms}ms"
timeout = "{timeout_ms}ms"

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
                &[
                    "env",
                    "NO_COLOR=1",
                    "RUST_LOG=",
                    &vipd_bin(),
                    "--config",
                    &config,
                ],
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

pub use vip_core::lab::wait_until;

/// One sample: when (since the sampler started), and which nodes held the VIP from then on.
pub type Sample = (Duration, [bool; 2]);

/// Records every change of VIP ownership in both node namespaces from the kernel's address
/// events (`ip -ts monitor address`, one per namespace, timestamps taken by `ip` as it reads
/// each event), so no add or delete is missed however short, unlike polling.
pub struct Sampler {
    start: Instant,
    start_wall: f64,
    initial: [bool; 2],
    monitors: Vec<std::process::Child>,
    readers: Vec<JoinHandle<Vec<(f64, bool)>>>,
}

/// Seconds since the epoch of an `ip -ts` stamp `[YYYY-MM-DDTHH:MM:SS.ffffff]` (UTC).
fn parse_stamp(line: &str) -> Option<f64> {
    let stamp = line.strip_prefix('[')?.split(']').next()?;
    let (date, time) = stamp.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':');
    let (h, mi) = (
        t.next()?.parse::<f64>().ok()?,
        t.next()?.parse::<f64>().ok()?,
    );
    let sec = t.next()?.parse::<f64>().ok()?;
    // Days from civil (proleptic Gregorian).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + h * 3600.0 + mi * 60.0 + sec)
}

fn wall_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Sampler {
    fn start(names: Vec<String>) -> Sampler {
        use std::io::BufRead;
        let mut monitors = Vec::new();
        let mut readers = Vec::new();
        for name in &names {
            let mut child = Command::new("ip")
                .env("TZ", "UTC")
                .args(["-ts", "-o", "-n", name, "monitor", "address"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let out = child.stdout.take().unwrap();
            monitors.push(child);
            readers.push(std::thread::spawn(move || {
                let needle = format!(" {VIP}/32 ");
                let mut events = Vec::new();
                for line in std::io::BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if !line.contains(&needle) {
                        continue;
                    }
                    if let Some(t) = parse_stamp(&line) {
                        let gone = line
                            .split_once("] ")
                            .is_some_and(|(_, r)| r.starts_with("Deleted"));
                        events.push((t, !gone));
                    }
                }
                events
            }));
        }
        // Let the monitors subscribe, then read the state they start from.
        std::thread::sleep(Duration::from_millis(100));
        let start_wall = wall_now();
        let start = Instant::now();
        let initial = [holds(&names[0]), holds(&names[1])];
        Sampler {
            start,
            start_wall,
            initial,
            monitors,
            readers,
        }
    }

    /// Time since the sampler started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Stops recording; returns the initial state and every change, in time order, plus a
    /// final entry for now.
    pub fn finish(mut self) -> Vec<Sample> {
        let end = self.start.elapsed();
        // Address events are delivered at once; give the readers a moment to print the last.
        std::thread::sleep(Duration::from_millis(100));
        for m in &mut self.monitors {
            let _ = m.kill();
            let _ = m.wait();
        }
        let mut all: Vec<(f64, usize, bool)> = Vec::new();
        for (i, r) in std::mem::take(&mut self.readers).into_iter().enumerate() {
            for (t, held) in r.join().unwrap() {
                all.push((t - self.start_wall, i, held));
            }
        }
        all.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        let mut state = self.initial;
        let mut samples = vec![(Duration::ZERO, state)];
        for (t, i, held) in all {
            if t < 0.0 {
                continue;
            }
            state[i] = held;
            samples.push((Duration::from_secs_f64(t), state));
        }
        samples.push((end.max(samples.last().unwrap().0), state));
        samples
    }

    /// Stops recording, asserts that both nodes never held the VIP at once, returns the
    /// samples.
    pub fn assert_never_two_holders(self) -> Vec<Sample> {
        let samples = self.finish();
        let both: Vec<&Sample> = samples.iter().filter(|(_, h)| h[0] && h[1]).collect();
        assert!(
            both.is_empty(),
            "both nodes held the VIP {} time(s), first at {:?}; changes: {samples:?}",
            both.len(),
            both[0].0
        );
        samples
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        for m in &mut self.monitors {
            let _ = m.kill();
            let _ = m.wait();
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

/// When node `i` last stopped holding the VIP (the change after its last holding sample).
pub fn released_at(samples: &[Sample], i: usize) -> Option<Duration> {
    let last = samples.iter().rposition(|(_, h)| h[i])?;
    samples
        .get(last + 1)
        .filter(|(_, h)| !h[i])
        .map(|(t, _)| *t)
}
