//! Lab for issue 7: a real PostgreSQL 15 primary and standby (repmgr-registered, vip-pg harness)
//! in namespaces n1 (198.51.100.1) and n2 (198.51.100.2), vipd on each with a repmgr role section and
//! the command fencer, and a client namespace (198.51.100.50) that reaches the database through the
//! VIP. repmgr's event_notification_command calls `vipctl repmgr-event` on each node.
//! Everything is removed on drop: vipd stopped, servers stopped, namespaces deleted.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use vip_core::lab::{Lab, LabProcess, Ns, OverlapChecker, Timeline};
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
    /// A witness namespace (198.51.100.60) on the same segment, when asked for (a third etcd
    /// member, say).
    pub witness: Option<Ns>,
    /// Temp dir (configs, logs, sockets).
    pub dir: PathBuf,
    /// The overlap checker over both nodes from before the first vipd starts until the drop,
    /// which fails the test if two nodes ever held the VIP at once.
    watch: Option<Sampler>,
    lab: Lab,
}

impl Drop for PgLab {
    fn drop(&mut self) {
        // The record ends before the teardown (stopping the daemons one by one is not a test).
        let watch = self.watch.take();
        let timeline = watch
            .filter(|_| !std::thread::panicking())
            .map(|w| w.checker.finish());
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
        match timeline {
            Some(Ok(t)) => t.assert_never_two_holders(),
            Some(Err(e)) => panic!("the lab's overlap record failed: {e}"),
            None => {}
        }
    }
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))
}

impl PgLab {
    /// Builds the lab and the cluster (vipd not started yet). `None` after a one-line skip
    /// message when not root or PostgreSQL/repmgr are missing.
    pub fn new(tag: &str) -> Option<PgLab> {
        Self::build(tag, false)
    }

    /// Like [`PgLab::new`], with a witness namespace (198.51.100.60) on the segment.
    pub fn with_witness(tag: &str) -> Option<PgLab> {
        Self::build(tag, true)
    }

    fn build(tag: &str, with_witness: bool) -> Option<PgLab> {
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
        let witness = with_witness.then(|| lab.namespace("w").unwrap());
        let mut on_segment = vec![(&n1, 1), (&n2, 2), (&client, 50)];
        if let Some(w) = &witness {
            on_segment.push((w, 60));
        }
        let members: Vec<&Ns> = on_segment.iter().map(|(ns, _)| *ns).collect();
        lab.segment(&members).unwrap();
        for (ns, last) in on_segment {
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
        let mut pg = PgLab {
            nodes,
            cluster: Some(cluster),
            client,
            witness,
            dir,
            watch: None,
            lab,
        };
        pg.watch = Some(pg.sampler());
        for i in 0..2 {
            pg.configure(i, "");
        }
        Some(pg)
    }

    /// Ends the lab-wide overlap assertion: for a benchmark's keepalived control, which has no
    /// fencing, so that its two-holder time is measured (with [`PgLab::sampler`]), not asserted.
    pub fn measure_only(&mut self) {
        drop(self.watch.take());
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

    /// Records which node holds the VIP (every copy, kernel events) until finished.
    pub fn sampler(&self) -> Sampler {
        Sampler::start(&[&self.nodes[0].ns, &self.nodes[1].ns])
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

/// One sample: when (since the checker started), and which nodes held the VIP from then on.
pub type Sample = (Duration, [bool; 2]);

/// The lab's overlap checker (`vip_core::lab::OverlapChecker`) over both node namespaces: every
/// copy of the VIP, from the kernel's address events, read by one thread with one clock.
pub struct Sampler {
    checker: OverlapChecker,
}

impl Sampler {
    fn start(namespaces: &[&Ns]) -> Sampler {
        let vip: IpAddr = VIP.parse().unwrap();
        Sampler {
            checker: OverlapChecker::start(namespaces, &[vip]).unwrap(),
        }
    }

    /// Time since the checker started, on its clock.
    pub fn elapsed(&self) -> Duration {
        self.checker.elapsed()
    }

    /// Stops the record and returns it (panics on a read error or a gap in it).
    pub fn timeline(self) -> Timeline {
        self.checker.finish().unwrap()
    }

    /// Stops recording; returns the initial state and every change, in time order, plus a
    /// final entry for now.
    pub fn finish(self) -> Vec<Sample> {
        to_pairs(&self.timeline())
    }

    /// Stops recording, asserts that both nodes never held the VIP at once, returns the
    /// samples.
    pub fn assert_never_two_holders(self) -> Vec<Sample> {
        let timeline = self.timeline();
        timeline.assert_never_two_holders();
        to_pairs(&timeline)
    }
}

fn to_pairs(t: &Timeline) -> Vec<Sample> {
    t.samples()
        .into_iter()
        .map(|(at, h)| (at, [h[0], h[1]]))
        .collect()
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
