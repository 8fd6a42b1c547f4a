//! The database role a node reports, and the [`RoleProbe`] trait that asks for it.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::Priority;

/// What a role probe found the local database to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Accepting writes: eligible to hold the VIP.
    Primary,
    /// In recovery (a standby): not eligible.
    Standby,
    /// The probe could not tell (down, hung, timed out, metadata missing). Not eligible.
    Unknown {
        /// Why the role is unknown. Never contains a secret.
        reason: String,
    },
}

impl Role {
    /// An unknown role with the given reason.
    pub fn unknown(reason: impl Into<String>) -> Self {
        Role::Unknown {
            reason: reason.into(),
        }
    }

    /// True only for [`Role::Primary`].
    pub fn is_primary(&self) -> bool {
        matches!(self, Role::Primary)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Primary => f.write_str("primary"),
            Role::Standby => f.write_str("standby"),
            Role::Unknown { reason } => write!(f, "unknown ({reason})"),
        }
    }
}

/// The node that cluster metadata (for example `repmgr.nodes`) records as primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPrimary {
    /// The node's id in the metadata.
    pub node_id: i64,
    /// The node's name in the metadata.
    pub node_name: String,
    /// The host from the node's conninfo, if it has one: whom to fence.
    pub host: Option<String>,
}

/// A role probe's full answer: the role plus what it learned about the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleReport {
    /// This node's role.
    pub role: Role,
    /// Which node the metadata records as primary, when the probe reads metadata.
    pub recorded_primary: Option<RecordedPrimary>,
    /// The node's current timeline, when known (used to break split-brain ties).
    pub timeline: Option<u32>,
    /// Warnings worth logging (for example metadata that disagrees with recovery state).
    pub warnings: Vec<String>,
    /// A role-derived priority (for example vip-pg's split-brain rank). When set, a role-gated
    /// instance advertises it from then on instead of its configured base priority
    /// (tracked-check weights still apply), so that the VRRP election itself decides between
    /// two nodes that both report Primary. `None` changes nothing (probes set it only while
    /// Primary, so a node that loses the role keeps its last rank while it releases).
    pub priority: Option<Priority>,
}

impl RoleReport {
    /// A report carrying only a role.
    pub fn from_role(role: Role) -> Self {
        RoleReport {
            role,
            recorded_primary: None,
            timeline: None,
            warnings: Vec::new(),
            priority: None,
        }
    }
}

/// Asks the local database which role it has.
///
/// Implementations must answer within `timeout`: a probe that cannot tell in time returns
/// [`Role::Unknown`] with a reason rather than hanging. The runtime bounds every call by the
/// same timeout as a second line of defence.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait RoleProbe: Send + Sync {
    /// Probes the role, answering within `timeout`.
    async fn probe(&self, timeout: Duration) -> RoleReport;

    /// A short name for logs and metrics (for example `postgres` or `repmgr`).
    fn name(&self) -> &str;
}
