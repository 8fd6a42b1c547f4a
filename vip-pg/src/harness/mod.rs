//! Test support (feature `harness`): a real PostgreSQL 15 cluster, a primary and streaming
//! standbys registered with repmgr, in a temporary directory, torn down on drop.
//!
//! ```no_run
//! use vip_pg::harness::{Cluster, StopMode};
//! if let Some(reason) = Cluster::skip_reason() {
//!     println!("skipped: {reason}");
//!     return;
//! }
//! let cluster = Cluster::start().unwrap(); // 127.0.0.1, two free ports
//! let primary = cluster.primary().repmgr_conninfo();
//! cluster.stop(0, StopMode::Fast).unwrap();
//! cluster.promote(1).unwrap(); // repmgr standby promote
//! // dropped here: servers stopped (immediate), leftover pids killed, directory removed
//! ```
//!
//! - Servers run as the `postgres` OS user (`runuser`), optionally inside a network namespace per
//!   node ([`NodeSpec::in_netns`]); listen address and port are per node.
//! - Authentication: trust for everything except the role [`PASSWORD_USER`], which needs
//!   [`PASSWORD`] (scram-sha-256) over TCP. Users: `postgres` and `repmgr` (superusers);
//!   database `repmgr` holds the repmgr extension.
//! - Tuned for fast bring-up (fsync off, small buffers). All calls block (run them from
//!   `spawn_blocking` if the runtime must keep going).

mod exec;
mod node;
mod procs;

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use exec::{PG_BIN, pg_bin};
pub use node::{Node, NodeSpec};

/// The role that needs a password (scram-sha-256 over TCP).
pub const PASSWORD_USER: &str = "vip_pw";
/// Its password.
pub const PASSWORD: &str = "Vip-Harness-S3cret";

/// What went wrong while driving the cluster.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HarnessError {
    /// The harness cannot run on this machine (see [`Cluster::skip_reason`]).
    #[error("harness unavailable: {0}")]
    Skip(String),
    /// A file or process operation failed.
    #[error("{0}")]
    Io(String),
    /// A command exited non-zero.
    #[error("{what} failed (exit {status:?}): {output}")]
    Command {
        /// What ran.
        what: String,
        /// Its exit code.
        status: Option<i32>,
        /// Its stdout and stderr.
        output: String,
    },
    /// A wait ran out.
    #[error("timed out: {0}")]
    Timeout(String),
}

/// How to stop a server (`pg_ctl stop -m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Disconnect clients, checkpoint, stop.
    Fast,
    /// Kill everything at once, no checkpoint (crash recovery at next start).
    Immediate,
}

impl StopMode {
    fn as_arg(self) -> &'static str {
        match self {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        }
    }
}

const SHARED_CONF: &str = "\
fsync = off
synchronous_commit = off
full_page_writes = on
wal_log_hints = on
shared_buffers = 16MB
max_connections = 40
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 64MB
hot_standby = on
wal_receiver_status_interval = 1s
shared_preload_libraries = 'repmgr'
log_min_messages = warning
log_line_prefix = '%m [%p] %u@%d '
include_if_exists = 'node.conf'
";

const HBA: &str = "\
local all all trust
local replication all trust
host all vip_pw all scram-sha-256
host all all all trust
host replication all all trust
";

/// Picks the spec of a cluster before it starts.
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    nodes: Vec<NodeSpec>,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        ClusterBuilder {
            nodes: vec![NodeSpec::loopback("node1"), NodeSpec::loopback("node2")],
        }
    }
}

impl ClusterBuilder {
    /// A primary `node1` and a standby `node2` on 127.0.0.1.
    pub fn new() -> Self {
        ClusterBuilder::default()
    }

    /// Only a primary `node1` on 127.0.0.1 (faster, for tests that need no standby).
    pub fn primary_only() -> Self {
        ClusterBuilder {
            nodes: vec![NodeSpec::loopback("node1")],
        }
    }

    /// Explicit nodes: the first is the primary, the others stream from it.
    pub fn with_nodes(nodes: Vec<NodeSpec>) -> Self {
        ClusterBuilder { nodes }
    }

    /// Creates, starts and registers every node; on failure everything already started is torn
    /// down.
    pub fn start(self) -> Result<Cluster, HarnessError> {
        if let Some(reason) = exec::skip_reason() {
            return Err(HarnessError::Skip(reason));
        }
        if self.nodes.is_empty() {
            return Err(HarnessError::Io("a cluster needs at least one node".into()));
        }
        let started = Instant::now();
        let dir = make_dir()?;
        let mut cluster = Cluster {
            dir,
            nodes: Vec::new(),
            postmasters: Vec::new(),
            bring_up: Duration::ZERO,
            steps: Vec::new(),
        };
        for (i, spec) in self.nodes.into_iter().enumerate() {
            let id = i32::try_from(i + 1).map_err(|_| HarnessError::Io("too many nodes".into()))?;
            let node = cluster.plan_node(id, spec)?;
            cluster.nodes.push(node);
            if i == 0 {
                cluster.init_primary()?;
            } else {
                cluster.init_standby(i)?;
            }
        }
        cluster.bring_up = started.elapsed();
        Ok(cluster)
    }
}

/// A running cluster. Dropping it stops the servers (immediate), kills leftover processes it
/// started and removes its directory.
pub struct Cluster {
    dir: PathBuf,
    nodes: Vec<Node>,
    /// (postmaster pid, data dir) of every server this cluster started.
    postmasters: Vec<(u32, PathBuf)>,
    bring_up: Duration,
    steps: Vec<(String, Duration)>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("dir", &self.dir)
            .field("nodes", &self.nodes)
            .finish()
    }
}

fn make_dir() -> Result<PathBuf, HarnessError> {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let (uid, gid) =
        exec::os_user_ids().ok_or_else(|| HarnessError::Skip("no postgres user".into()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "vip-pg-{}-{}-{nanos:x}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir)
        .map_err(|e| HarnessError::Io(format!("create {}: {e}", dir.display())))?;
    std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
        .map_err(|e| HarnessError::Io(format!("chown: {e}")))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| HarnessError::Io(format!("chmod: {e}")))?;
    Ok(dir)
}

fn write_owned(path: &Path, text: &str) -> Result<(), HarnessError> {
    std::fs::write(path, text)
        .map_err(|e| HarnessError::Io(format!("write {}: {e}", path.display())))?;
    chown_tree(path)
}

fn chown_tree(path: &Path) -> Result<(), HarnessError> {
    let (uid, gid) =
        exec::os_user_ids().ok_or_else(|| HarnessError::Skip("no postgres user".into()))?;
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(|e| HarnessError::Io(format!("chown {}: {e}", path.display())))
}

fn mkdir_owned(path: &Path) -> Result<(), HarnessError> {
    std::fs::create_dir_all(path)
        .map_err(|e| HarnessError::Io(format!("mkdir {}: {e}", path.display())))?;
    chown_tree(path)
}

impl Cluster {
    /// A primary and a standby on 127.0.0.1 (see [`ClusterBuilder::new`]).
    pub fn start() -> Result<Cluster, HarnessError> {
        ClusterBuilder::new().start()
    }

    /// A builder for other shapes.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::new()
    }

    /// Why the harness cannot run here (not root, binaries missing), or `None`.
    pub fn skip_reason() -> Option<String> {
        exec::skip_reason()
    }

    /// How long [`ClusterBuilder::start`] took.
    pub fn bring_up_time(&self) -> Duration {
        self.bring_up
    }

    /// How long each bring-up step took (initdb, start, register, basebackup...).
    pub fn bring_up_steps(&self) -> &[(String, Duration)] {
        &self.steps
    }

    fn step<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Self) -> Result<T, HarnessError>,
    ) -> Result<T, HarnessError> {
        let t0 = Instant::now();
        let r = f(self);
        self.steps.push((name.to_owned(), t0.elapsed()));
        r
    }

    /// The cluster's temporary directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// All nodes, in id order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Node `i` (0-based: node id `i + 1`).
    ///
    /// # Panics
    /// When `i` is out of range (test support).
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// The first node (the primary at start).
    pub fn primary(&self) -> &Node {
        self.node(0)
    }

    /// The second node (the standby at start).
    pub fn standby(&self) -> &Node {
        self.node(1)
    }

    fn plan_node(&self, id: i32, spec: NodeSpec) -> Result<Node, HarnessError> {
        let port = match (spec.port, &spec.netns) {
            (Some(p), _) => p,
            (None, Some(_)) => 5432,
            (None, None) => node::free_port(spec.host)
                .ok_or_else(|| HarnessError::Io(format!("no free port on {}", spec.host)))?,
        };
        let dir = self.dir.join(format!("n{id}"));
        mkdir_owned(&dir)?;
        let socket_dir = dir.join("sock");
        mkdir_owned(&socket_dir)?;
        Ok(Node {
            id,
            name: spec.name,
            host: spec.host,
            port,
            netns: spec.netns,
            data_dir: dir.join("data"),
            repmgr_conf: dir.join("repmgr.conf"),
            log_file: dir.join("postgres.log"),
            socket_dir,
            dir,
            extra_postgresql_conf: spec.extra_postgresql_conf,
            extra_repmgr_conf: spec.extra_repmgr_conf,
        })
    }

    fn bin(&self, i: usize, name: &str) -> std::process::Command {
        let node = &self.nodes[i];
        exec::as_postgres(node.netns.as_deref(), &self.dir, &pg_bin(name))
    }

    fn write_node_conf(&self, i: usize) -> Result<(), HarnessError> {
        let node = &self.nodes[i];
        let mut text = format!(
            "port = {}\nlisten_addresses = '{}'\nunix_socket_directories = '{}'\ncluster_name = '{}'\n",
            node.port,
            node.host,
            node.socket_dir.display(),
            node.name
        );
        if i > 0 {
            let primary = &self.nodes[0];
            text.push_str(&format!(
                "primary_conninfo = 'host={} port={} user=repmgr application_name={}'\n",
                primary.host, primary.port, node.name
            ));
        }
        for line in &node.extra_postgresql_conf {
            text.push_str(line);
            text.push('\n');
        }
        write_owned(&node.data_dir.join("node.conf"), &text)
    }

    fn write_repmgr_conf(&self, i: usize) -> Result<(), HarnessError> {
        let node = &self.nodes[i];
        let mut text = format!(
            "node_id={}\nnode_name='{}'\nconninfo='{} connect_timeout=2'\ndata_directory='{}'\n\
             pg_bindir='{PG_BIN}'\nlog_level='WARNING'\nuse_replication_slots=no\n\
             log_file='{}'\n",
            node.id,
            node.name,
            node.repmgr_conninfo(),
            node.data_dir.display(),
            node.dir.join("repmgr.log").display()
        );
        // repmgr starts and stops servers itself (node rejoin, switchover): always with a log file,
        // so that no server inherits the harness's output pipes.
        let pg_ctl = format!("{PG_BIN}/pg_ctl -D {}", node.data_dir.display());
        let log = node.log_file.display();
        text.push_str(&format!(
            "service_start_command='{pg_ctl} -l {log} -w -t 30 start'\n\
             service_stop_command='{pg_ctl} -m fast -w -t 30 stop'\n\
             service_restart_command='{pg_ctl} -l {log} -m fast -w -t 30 restart'\n"
        ));
        for line in &node.extra_repmgr_conf {
            text.push_str(line);
            text.push('\n');
        }
        write_owned(&node.repmgr_conf, &text)
    }

    fn init_primary(&mut self) -> Result<(), HarnessError> {
        let data = self.nodes[0].data_dir.clone();
        self.step("initdb", |c| {
            exec::run(
                "initdb",
                c.bin(0, "initdb").arg("-D").arg(&data).args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-N",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]),
            )
        })?;
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf)
            .map_err(|e| HarnessError::Io(format!("read conf: {e}")))?;
        text.push_str(SHARED_CONF);
        write_owned(&conf, &text)?;
        write_owned(&data.join("pg_hba.conf"), HBA)?;
        self.step("start node1", |c| c.start_with_port_retry(0))?;
        let t0 = Instant::now();
        // One psql, one transaction per -c (CREATE DATABASE cannot run inside a block).
        let node = &self.nodes[0];
        let mut cmd = self.bin(0, "psql");
        cmd.args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-h",
        ]);
        cmd.arg(&node.socket_dir)
            .args(["-p", &node.port.to_string()]);
        cmd.args([
            "-c",
            "CREATE USER repmgr SUPERUSER",
            "-c",
            "CREATE DATABASE repmgr OWNER repmgr",
            "-c",
        ]);
        cmd.arg(format!(
            "CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'"
        ));
        exec::run("create users", &mut cmd)?;
        self.steps.push(("create users".into(), t0.elapsed()));
        self.write_repmgr_conf(0)?;
        self.step("primary register", |c| {
            c.repmgr(0, &["primary", "register"])
        })?;
        Ok(())
    }

    fn init_standby(&mut self, i: usize) -> Result<(), HarnessError> {
        let data = self.nodes[i].data_dir.clone();
        let (phost, pport) = (self.nodes[0].host, self.nodes[0].port);
        let (host, port) = (phost.to_string(), pport.to_string());
        self.step("pg_basebackup", |c| {
            let mut cmd = c.bin(i, "pg_basebackup");
            cmd.arg("-D").arg(&data);
            cmd.args([
                "-h",
                &host,
                "-p",
                &port,
                "-U",
                "repmgr",
                "-c",
                "fast",
                "-X",
                "stream",
                "--no-sync",
                "--no-manifest",
            ]);
            exec::run("pg_basebackup", &mut cmd)
        })?;
        write_owned(&data.join("standby.signal"), "")?;
        self.step("start standby", |c| c.start_with_port_retry(i))?;
        self.write_repmgr_conf(i)?;
        self.step("standby register", |c| {
            c.repmgr(i, &["standby", "register", "--upstream-node-id", "1"])
        })?;
        let expect = (i + 1).to_string();
        self.step("wait replicated", |c| {
            c.wait_for(
                i,
                "repmgr",
                "SELECT count(*) FROM repmgr.nodes",
                &expect,
                Duration::from_secs(15),
            )
        })
    }

    /// Starts node `i`'s server; a loopback node whose port was taken meanwhile gets a new one.
    fn start_with_port_retry(&mut self, i: usize) -> Result<(), HarnessError> {
        let mut attempt = 0;
        loop {
            self.write_node_conf(i)?;
            match self.start_node(i) {
                Ok(()) => return Ok(()),
                Err(e)
                    if attempt < 3
                        && self.nodes[i].netns.is_none()
                        && self.nodes[i].log_tail().contains("could not bind") =>
                {
                    attempt += 1;
                    tracing::debug!("port {} taken, retrying: {e}", self.nodes[i].port);
                    self.nodes[i].port =
                        node::free_port(self.nodes[i].host).unwrap_or(self.nodes[i].port);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Starts node `i`'s server and waits until it accepts connections.
    pub fn start_node(&mut self, i: usize) -> Result<(), HarnessError> {
        let node = &self.nodes[i];
        let (data, log) = (node.data_dir.clone(), node.log_file.clone());
        let result = exec::run(
            &format!("pg_ctl start {}", node.name),
            self.bin(i, "pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "30", "start"]),
        );
        if let Some(pid) = procs::postmaster_pid(&data) {
            self.postmasters.push((pid, data));
        }
        result.map(|_| ()).map_err(|e| {
            HarnessError::Io(format!("{e}\nserver log:\n{}", self.nodes[i].log_tail()))
        })
    }

    /// Stops node `i`'s server (`pg_ctl stop -m fast|immediate`), waiting for it to exit.
    pub fn stop(&self, i: usize, mode: StopMode) -> Result<(), HarnessError> {
        let node = &self.nodes[i];
        exec::run(
            &format!("pg_ctl stop -m {} {}", mode.as_arg(), node.name),
            self.bin(i, "pg_ctl").arg("-D").arg(&node.data_dir).args([
                "-m",
                mode.as_arg(),
                "-w",
                "-t",
                "30",
                "stop",
            ]),
        )
        .map(|_| ())
    }

    /// `repmgr standby promote` on node `i` (repmgr refuses while another primary is reachable).
    pub fn promote(&self, i: usize) -> Result<Output, HarnessError> {
        self.repmgr(i, &["standby", "promote"])
    }

    /// Turns stopped node `i` into a standby of node `upstream` (`repmgr node rejoin
    /// --force-rewind`, which runs pg_rewind when the timelines diverged), starts it and waits until
    /// it streams and its record replicated back.
    pub fn rejoin(&mut self, i: usize, upstream: usize) -> Result<(), HarnessError> {
        let conninfo = self.nodes[upstream].repmgr_conninfo();
        self.repmgr(
            i,
            &[
                "node",
                "rejoin",
                "-d",
                &conninfo,
                "--force-rewind",
                "--no-wait",
            ],
        )?;
        if let Some(pid) = self.postmaster_pid(i) {
            self.postmasters.push((pid, self.nodes[i].data_dir.clone()));
        }
        let sql = format!(
            "SELECT type FROM repmgr.nodes WHERE node_id = {}",
            self.nodes[i].id
        );
        self.wait_for(i, "repmgr", &sql, "standby", Duration::from_secs(30))?;
        self.wait_for(
            i,
            "postgres",
            "SELECT status FROM pg_stat_wal_receiver",
            "streaming",
            Duration::from_secs(30),
        )
    }

    /// `pg_ctl promote -w` on node `i`, bypassing repmgr (its metadata is not updated): how a
    /// split brain starts.
    pub fn pg_promote(&self, i: usize) -> Result<(), HarnessError> {
        let node = &self.nodes[i];
        exec::run(
            &format!("pg_ctl promote {}", node.name),
            self.bin(i, "pg_ctl")
                .arg("-D")
                .arg(&node.data_dir)
                .args(["-w", "-t", "30", "promote"]),
        )
        .map(|_| ())
    }

    /// Runs `repmgr -f <node i's repmgr.conf> ARGS` as postgres (in the node's namespace).
    pub fn repmgr(&self, i: usize, args: &[&str]) -> Result<Output, HarnessError> {
        let node = &self.nodes[i];
        exec::run(
            &format!("repmgr {} on {}", args.join(" "), node.name),
            self.bin(i, "repmgr")
                .arg("-f")
                .arg(&node.repmgr_conf)
                .args(args),
        )
    }

    /// Runs `sql` with psql on node `i` as the postgres superuser over the Unix socket, returning
    /// the unaligned, tuples-only output (trimmed).
    pub fn psql(&self, i: usize, dbname: &str, sql: &str) -> Result<String, HarnessError> {
        let node = &self.nodes[i];
        let out = exec::run(
            &format!("psql on {}", node.name),
            self.bin(i, "psql")
                .args([
                    "-X",
                    "-A",
                    "-t",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-U",
                    "postgres",
                    "-d",
                    dbname,
                    "-h",
                ])
                .arg(&node.socket_dir)
                .args(["-p", &node.port.to_string(), "-c", sql]),
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Polls `sql` on node `i` (every 20 ms) until it returns `expected`.
    pub fn wait_for(
        &self,
        i: usize,
        dbname: &str,
        sql: &str,
        expected: &str,
        timeout: Duration,
    ) -> Result<(), HarnessError> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.psql(i, dbname, sql) {
                Ok(out) if out == expected => return Ok(()),
                Ok(out) => last = out,
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(HarnessError::Timeout(format!(
            "{sql:?} on {} never returned {expected:?} (last: {last})",
            self.nodes[i].name
        )))
    }

    /// Node `i`'s postmaster pid, if it runs.
    pub fn postmaster_pid(&self, i: usize) -> Option<u32> {
        procs::postmaster_pid(&self.nodes[i].data_dir)
    }

    /// Freezes node `i`: SIGSTOP to the postmaster, then to all its children (backends, walsender,
    /// checkpointer...), so kept connections hang too. A hung server, as far as clients can tell.
    pub fn freeze(&self, i: usize) -> Result<(), HarnessError> {
        let pid = self
            .postmaster_pid(i)
            .ok_or_else(|| HarnessError::Io(format!("{} is not running", self.nodes[i].name)))?;
        procs::signal("STOP", &[pid])?;
        procs::signal("STOP", &procs::children(pid))
    }

    /// Freezes only node `i`'s postmaster (new connections hang; existing backends still answer).
    pub fn freeze_postmaster(&self, i: usize) -> Result<(), HarnessError> {
        let pid = self
            .postmaster_pid(i)
            .ok_or_else(|| HarnessError::Io(format!("{} is not running", self.nodes[i].name)))?;
        procs::signal("STOP", &[pid])
    }

    /// Thaws node `i` (SIGCONT to the children, then the postmaster).
    pub fn thaw(&self, i: usize) -> Result<(), HarnessError> {
        let pid = self
            .postmaster_pid(i)
            .ok_or_else(|| HarnessError::Io(format!("{} is not running", self.nodes[i].name)))?;
        procs::signal("CONT", &procs::children(pid))?;
        procs::signal("CONT", &[pid])
    }

    fn teardown(&mut self) {
        for i in (0..self.nodes.len()).rev() {
            let data = self.nodes[i].data_dir.clone();
            if let Some(pid) = procs::postmaster_pid(&data) {
                self.postmasters.push((pid, data.clone()));
                let _ = procs::signal("CONT", &procs::children(pid));
                let _ = procs::signal("CONT", &[pid]);
                let _ = exec::run(
                    "pg_ctl stop -m immediate",
                    self.bin(i, "pg_ctl").arg("-D").arg(&data).args([
                        "-m",
                        "immediate",
                        "-w",
                        "-t",
                        "5",
                        "stop",
                    ]),
                );
            }
        }
        for (pid, data) in &self.postmasters {
            if procs::alive(*pid) && procs::cmdline_mentions(*pid, &data.display().to_string()) {
                let kids = procs::children(*pid);
                let _ = procs::signal("KILL", &[*pid]);
                let _ = procs::signal("KILL", &kids);
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!("harness: could not remove {}: {e}", self.dir.display());
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.teardown();
    }
}
