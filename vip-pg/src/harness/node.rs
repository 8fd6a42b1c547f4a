//! One PostgreSQL server of a harness cluster: where it lives and how to reach it.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::PathBuf;

use super::{PASSWORD, PASSWORD_USER};

/// How to place one node (the first node of a cluster is the primary, the others standbys).
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// repmgr node_name; node ids are 1, 2, ... in order.
    pub name: String,
    /// The address the server listens on and that conninfo strings use.
    pub host: IpAddr,
    /// The port; `None` picks a free one (on `host` when `netns` is `None`, else 5432).
    pub port: Option<u16>,
    /// A network namespace to run the server (and its repmgr commands) in; it must exist and
    /// have `host` configured. `None`: the current namespace.
    pub netns: Option<String>,
    /// Extra lines for this node's postgresql configuration (`node.conf`).
    pub extra_postgresql_conf: Vec<String>,
    /// Extra lines for this node's repmgr.conf (for example `event_notification_command=...`).
    pub extra_repmgr_conf: Vec<String>,
}

impl NodeSpec {
    /// A node on 127.0.0.1 with a free port.
    pub fn loopback(name: impl Into<String>) -> Self {
        NodeSpec {
            name: name.into(),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: None,
            netns: None,
            extra_postgresql_conf: Vec::new(),
            extra_repmgr_conf: Vec::new(),
        }
    }

    /// A node in network namespace `netns`, listening on `host`, port 5432.
    pub fn in_netns(name: impl Into<String>, netns: impl Into<String>, host: IpAddr) -> Self {
        NodeSpec {
            host,
            netns: Some(netns.into()),
            port: Some(5432),
            ..NodeSpec::loopback(name)
        }
    }
}

/// A free TCP port on `host` (in the current namespace), or `None` when none can be bound there.
pub(crate) fn free_port(host: IpAddr) -> Option<u16> {
    TcpListener::bind((host, 0))
        .ok()?
        .local_addr()
        .ok()
        .map(|a| a.port())
}

/// A server of the cluster.
#[derive(Debug, Clone)]
pub struct Node {
    /// repmgr node_id (1 for the first node).
    pub id: i32,
    /// repmgr node_name.
    pub name: String,
    /// Listen address.
    pub host: IpAddr,
    /// Listen port.
    pub port: u16,
    /// Network namespace, if any.
    pub netns: Option<String>,
    /// The node's directory (data, socket, logs, repmgr.conf).
    pub dir: PathBuf,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The Unix socket directory.
    pub socket_dir: PathBuf,
    /// repmgr.conf.
    pub repmgr_conf: PathBuf,
    /// The server log.
    pub log_file: PathBuf,
    pub(crate) extra_postgresql_conf: Vec<String>,
    pub(crate) extra_repmgr_conf: Vec<String>,
}

impl Node {
    /// `host=H port=P user=USER dbname=DB` over TCP.
    pub fn conninfo(&self, user: &str, dbname: &str) -> String {
        format!(
            "host={} port={} user={user} dbname={dbname}",
            self.host, self.port
        )
    }

    /// The repmgr superuser on the repmgr database (trust auth): what a `RepmgrProbe` uses.
    pub fn repmgr_conninfo(&self) -> String {
        self.conninfo("repmgr", "repmgr")
    }

    /// The `postgres` superuser on the postgres database (trust auth).
    pub fn postgres_conninfo(&self) -> String {
        self.conninfo("postgres", "postgres")
    }

    /// The password role ([`PASSWORD_USER`], scram-sha-256 over TCP) with `password`; pass
    /// [`PASSWORD`] for the right one.
    pub fn password_conninfo(&self, password: &str) -> String {
        format!(
            "{} password={password}",
            self.conninfo(PASSWORD_USER, "postgres")
        )
    }

    /// The password role with the right password.
    pub fn good_password_conninfo(&self) -> String {
        self.password_conninfo(PASSWORD)
    }

    /// A short tail of the server log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}
