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

mod cluster;
mod exec;
mod node;
mod procs;
mod setup;

pub use cluster::Cluster;
pub use exec::{PG_BIN, pg_bin};
pub use node::{Node, NodeSpec};
pub use setup::ClusterBuilder;

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
