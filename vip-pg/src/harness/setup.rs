//! Bring-up: the data directories, configuration files, initdb, base backups and repmgr
//! registration of a harness cluster.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::exec::{self, PG_BIN};
use super::node::{self, Node, NodeSpec};
use super::{Cluster, HarnessError, PASSWORD, PASSWORD_USER};

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
        let mut cluster = Cluster::empty(dir);
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
        // `repmgr standby register --upstream-node-id` refuses ("this node does not appear to
        // be attached to upstream node") until the upstream lists it in pg_stat_replication.
        self.step("wait attached", |c| {
            c.wait_attached(i, 0, Duration::from_secs(30))
        })?;
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
}
