//! The typed error of the vip-pg probes.
//!
//! Every string inside a [`PgError`] went through [`crate::redact::redact`] when it was built, so
//! neither `Display` nor `Debug` can show a password.

use std::fmt;
use std::time::Duration;

use crate::redact::redact;

/// Which step of a probe ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for another probe on the same connection to finish.
    Wait,
    /// Connecting, authenticating and preparing the statements.
    Connect,
    /// Running the probe's statements over the kept connection.
    Query,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Wait => "waiting for the previous probe",
            Stage::Connect => "connect",
            Stage::Query => "query",
        })
    }
}

/// An error from a PostgreSQL or repmgr probe. Never contains a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgError {
    /// The probe configuration is invalid (bad conninfo, empty node name, zero timeout).
    #[error("invalid configuration: {key}: {problem}")]
    Config {
        /// The configuration key at fault.
        key: String,
        /// What is wrong with it (secrets removed).
        problem: String,
    },
    /// The server could not be reached (refused, unreachable, reset, DNS).
    #[error(
        "connect to {target} failed: {reason} (hint: check that PostgreSQL runs and listens there, and the host and port in conninfo)"
    )]
    Connect {
        /// Where (host, port, database, user; never the password).
        target: String,
        /// Why (secrets removed).
        reason: String,
    },
    /// The server refused our credentials.
    #[error(
        "authentication to {target} failed: {reason} (hint: check the user, the password and pg_hba.conf)"
    )]
    Auth {
        /// Where.
        target: String,
        /// Why (secrets removed).
        reason: String,
    },
    /// A step did not finish within the probe timeout; the connection was dropped.
    #[error("{stage} to {target} timed out after {after:?} (server down, hung or overloaded)")]
    Timeout {
        /// Which step.
        stage: Stage,
        /// Where.
        target: String,
        /// The bound that expired.
        after: Duration,
    },
    /// The kept connection broke while the probe used it.
    #[error("connection to {target} lost: {reason}")]
    ConnectionLost {
        /// Where.
        target: String,
        /// Why (secrets removed).
        reason: String,
    },
    /// A statement failed on a live connection.
    #[error("query on {target} failed: {reason}")]
    Query {
        /// Where.
        target: String,
        /// Why (secrets removed).
        reason: String,
        /// The SQLSTATE, when the server sent one.
        sqlstate: Option<String>,
    },
    /// The probe is waiting before its next connection attempt (bounded exponential back-off).
    #[error("not connected to {target}; next attempt in {retry_in:?} (last error: {last_error})")]
    BackingOff {
        /// Where.
        target: String,
        /// How long until the next attempt.
        retry_in: Duration,
        /// The error that started or extended the back-off.
        last_error: String,
    },
    /// The database has no repmgr metadata.
    #[error(
        "repmgr metadata not readable on {target}: {reason} (hint: point conninfo at the repmgr database, where the repmgr extension is installed)"
    )]
    MetadataMissing {
        /// Where.
        target: String,
        /// Why (secrets removed).
        reason: String,
    },
    /// This node has no row in `repmgr.nodes`.
    #[error(
        "node {node} is not registered in repmgr.nodes on {target} (hint: check node_name/node_id, or run `repmgr primary register` / `repmgr standby register` on that node)"
    )]
    NodeNotRegistered {
        /// The name or id looked up.
        node: String,
        /// Where.
        target: String,
    },
}

impl PgError {
    /// A configuration error; `problem` is redacted.
    pub(crate) fn config(key: &str, problem: &str, secret: Option<&[u8]>) -> Self {
        PgError::Config {
            key: key.to_owned(),
            problem: redact(problem, secret),
        }
    }

    /// True when the kept connection must be dropped after this error.
    pub fn drops_connection(&self) -> bool {
        matches!(
            self,
            PgError::Timeout { .. } | PgError::ConnectionLost { .. }
        )
    }

    /// True when retrying later may succeed without an operator.
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            PgError::Config { .. }
                | PgError::Auth { .. }
                | PgError::MetadataMissing { .. }
                | PgError::NodeNotRegistered { .. }
        )
    }
}

impl From<PgError> for vip_core::Error {
    fn from(e: PgError) -> Self {
        let message = e.to_string();
        match e {
            PgError::Config { key, problem } => vip_core::Error::Config { key, problem },
            PgError::Timeout { stage, after, .. } => vip_core::Error::Timeout {
                operation: format!("postgres probe {stage}"),
                after,
            },
            PgError::Connect { target, reason } | PgError::ConnectionLost { target, reason } => {
                vip_core::Error::Unreachable {
                    operation: "postgres probe".into(),
                    target,
                    reason,
                    hint: "check that PostgreSQL runs and listens there".into(),
                }
            }
            PgError::BackingOff {
                target, last_error, ..
            } => vip_core::Error::Unreachable {
                operation: "postgres probe".into(),
                target,
                reason: last_error,
                hint: "check that PostgreSQL runs and listens there".into(),
            },
            PgError::Auth { target, .. } => vip_core::Error::Config {
                key: "conninfo".into(),
                problem: format!("authentication to {target} failed: {message}"),
            },
            PgError::NodeNotRegistered { .. } => vip_core::Error::Config {
                key: "node".into(),
                problem: message,
            },
            PgError::MetadataMissing { .. } => vip_core::Error::Other {
                operation: "repmgr probe".into(),
                message,
                transient: false,
            },
            PgError::Query { .. } => vip_core::Error::Other {
                operation: "postgres probe".into(),
                message,
                transient: true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_into_core_errors_with_transience() {
        let t = PgError::Timeout {
            stage: Stage::Query,
            target: "db".into(),
            after: Duration::from_millis(5),
        };
        assert!(t.drops_connection());
        let core: vip_core::Error = t.into();
        assert!(core.is_transient());
        let n = PgError::NodeNotRegistered {
            node: "name node9".into(),
            target: "db".into(),
        };
        assert!(!n.is_transient());
        let core: vip_core::Error = n.into();
        assert!(!core.is_transient());
        assert!(core.to_string().contains("node9"));
    }

    #[test]
    fn config_problem_is_redacted() {
        let e = PgError::config(
            "conninfo",
            "bad value in host=x password=hunter2",
            Some(b"hunter2"),
        );
        assert!(!e.to_string().contains("hunter2"));
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
