//! A running harness cluster: control (stop, start, promote, rejoin, freeze, thaw, psql, repmgr)
//! and a teardown that always runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use super::exec::{self, pg_bin};
use super::node::Node;
use super::procs;
use super::setup::ClusterBuilder;
use super::{HarnessError, StopMode};

/// A running cluster. Dropping it stops the servers (immediate), kills leftover processes it
/// started and removes its directory.
pub struct Cluster {
    pub(super) dir: PathBuf,
    pub(super) nodes: Vec<Node>,
    /// (postmaster pid, data dir) of every server this cluster started.
    pub(super) postmasters: Vec<(u32, PathBuf)>,
    pub(super) bring_up: Duration,
    pub(super) steps: Vec<(String, Duration)>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("dir", &self.dir)
            .field("nodes", &self.nodes)
            .finish()
    }
}

impl Cluster {
    pub(super) fn empty(dir: PathBuf) -> Self {
        Cluster {
            dir,
            nodes: Vec::new(),
            postmasters: Vec::new(),
            bring_up: Duration::ZERO,
            steps: Vec::new(),
        }
    }

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

    pub(super) fn bin(&self, i: usize, name: &str) -> std::process::Command {
        let node = &self.nodes[i];
        exec::as_postgres(node.netns.as_deref(), &self.dir, &pg_bin(name))
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
        )?;
        self.wait_attached(i, upstream, Duration::from_secs(30))
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

    /// Waits until node `upstream` lists node `i` as a streaming standby in
    /// `pg_stat_replication` (what `repmgr standby register --upstream-node-id` checks).
    pub fn wait_attached(
        &self,
        i: usize,
        upstream: usize,
        timeout: Duration,
    ) -> Result<(), HarnessError> {
        let sql = format!(
            "SELECT count(*) FROM pg_stat_replication WHERE application_name = '{}' \
             AND state = 'streaming'",
            self.nodes[i].name.replace('\'', "''")
        );
        self.wait_for(upstream, "postgres", &sql, "1", timeout)
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
