//! The PostgreSQL role mode (`CHAOS_ROLE=pg`): a real PostgreSQL 15 primary in node 1's
//! namespace and a streaming standby in each other node's (repmgr-registered, vip-pg's
//! harness); every vipd has a repmgr role probe on its own server, over the Unix socket. The
//! schedule never promotes: node 1's server stays the primary, the others' stay standbys, so a
//! standby's node must never hold the VIP; a stopped or frozen server answers nothing (role
//! Unknown), and its node must release the VIP.

use std::time::Duration;

use vip_pg::harness::{Cluster as PgCluster, ClusterBuilder, NodeSpec, StopMode};

use super::Episode;
use super::faults::Fault;
use crate::lab_support::Cluster;

/// The role probe's interval and timeout (vipd requires timeout <= interval).
pub const PROBE: Duration = Duration::from_millis(200);

/// The database cluster, one server per node.
pub struct Db {
    cluster: PgCluster,
}

impl Db {
    /// Builds the servers in the nodes' namespaces: node 1 the primary, the others standbys.
    /// `None` (after a one-line skip message) without PostgreSQL 15 and repmgr.
    pub fn start(tag: &str, c: &Cluster) -> Option<Db> {
        if let Some(reason) = PgCluster::skip_reason() {
            println!("skipping {tag}: {reason}");
            return None;
        }
        let specs = c
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut spec = NodeSpec::in_netns(
                    format!("node{}", i + 1),
                    n.ns.name(),
                    n.addr.parse().unwrap(),
                );
                // A fast shutdown waits for every standby to confirm the last WAL: bound the
                // wait when a standby is frozen or cut off (default 60 s).
                spec.extra_postgresql_conf
                    .push("wal_sender_timeout = '3s'".to_owned());
                spec
            })
            .collect();
        let cluster = ClusterBuilder::with_nodes(specs).start().unwrap();
        Some(Db { cluster })
    }

    /// Node `i`'s `[instance.role]` table: repmgr, its own server over the Unix socket.
    pub fn role_table(&self, i: usize) -> String {
        let node = self.cluster.node(i);
        format!(
            "[instance.role]\nkind = \"repmgr\"\nconninfo = \"host={} port={} user=repmgr dbname=repmgr\"\n\
             node_name = \"{}\"\ninterval = \"{ms}ms\"\ntimeout = \"{ms}ms\"\n",
            node.socket_dir.display(),
            node.port,
            node.name,
            ms = PROBE.as_millis()
        )
    }

    /// The nodes whose server is a standby (all but node 1: nothing promotes).
    pub fn standbys(&self) -> Vec<usize> {
        (1..self.cluster.nodes().len()).collect()
    }

    /// Applies a database fault.
    pub fn apply(&mut self, f: Fault) {
        let r = match f {
            Fault::PgFreeze(i) => self.cluster.freeze(i),
            Fault::PgStop(i) => self.cluster.stop(i, StopMode::Fast),
            _ => Ok(()),
        };
        r.unwrap_or_else(|e| panic!("{f:?}: {e}"));
    }

    /// Ends a database fault: the server thawed, or started again (waits until it accepts
    /// connections).
    pub fn revert(&mut self, f: Fault) {
        let r = match f {
            Fault::PgFreeze(i) => self.cluster.thaw(i),
            Fault::PgStop(i) => self.cluster.start_node(i),
            _ => Ok(()),
        };
        r.unwrap_or_else(|e| panic!("revert {f:?}: {e}"));
    }

    /// Each server's log: (file name, text).
    pub fn logs(&self) -> Vec<(String, String)> {
        self.cluster
            .nodes()
            .iter()
            .map(|n| {
                (
                    format!("{}-postgres.log", n.name),
                    std::fs::read_to_string(&n.log_file).unwrap_or_default(),
                )
            })
            .collect()
    }
}

/// What the role mode measured.
pub struct RoleView {
    /// Time any standby's node held the VIP (the rule: never).
    pub standby_held: Duration,
    /// For each database fault on the node holding the VIP when the fault began, and released
    /// before its revert ended: from the fault's start to the release.
    pub released_after: Vec<Duration>,
    /// The lengths of the others (the holder kept the VIP through the fault: a freeze shorter
    /// than a probe's interval plus its timeout can pass unseen).
    pub kept: Vec<Duration>,
}

impl RoleView {
    /// From the checker's samples (each the state from its time to the next's) and episodes.
    pub fn measure(
        samples: &[(Duration, Vec<bool>)],
        episodes: &[Episode],
        standbys: &[usize],
    ) -> RoleView {
        let standby_held = samples
            .windows(2)
            .filter(|w| standbys.iter().any(|s| w[0].1[*s]))
            .map(|w| w[1].0 - w[0].0)
            .sum();
        let holds_at = |i: usize, t: Duration| {
            samples
                .iter()
                .rev()
                .find(|(at, _)| *at <= t)
                .is_some_and(|(_, h)| h[i])
        };
        let mut view = RoleView {
            standby_held,
            released_after: Vec::new(),
            kept: Vec::new(),
        };
        for e in episodes {
            for (f, (from, to)) in e.faults.iter().zip(&e.spans) {
                let i = f.node();
                if !f.on_db() || !holds_at(i, *from) {
                    continue;
                }
                match samples
                    .iter()
                    .find(|(at, h)| at > from && at <= to && !h[i])
                {
                    Some((at, _)) => view.released_after.push(*at - *from),
                    None => view.kept.push(*to - *from),
                }
            }
        }
        view
    }

    /// The slowest release.
    pub fn release_max(&self) -> Duration {
        self.released_after
            .iter()
            .copied()
            .max()
            .unwrap_or_default()
    }

    /// The longest database fault the holder kept the VIP through.
    pub fn kept_max(&self) -> Duration {
        self.kept.iter().copied().max().unwrap_or_default()
    }

    /// The report's line.
    pub fn line(&self) -> String {
        format!(
            "role: standbys held the VIP {:.1} ms; the holder's database stopped or frozen {} times: released {} times, after max {:.1} ms; kept through {} (the longest {:.1} ms)",
            super::ms(self.standby_held),
            self.released_after.len() + self.kept.len(),
            self.released_after.len(),
            super::ms(self.release_max()),
            self.kept.len(),
            super::ms(self.kept_max()),
        )
    }
}
