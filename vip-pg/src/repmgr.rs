//! [`RepmgrProbe`]: repmgr's metadata for this node, cross-checked with `pg_is_in_recovery()`.

use std::time::Duration;

use async_trait::async_trait;
use tokio_postgres::Row;
use vip_core::{Role, RoleProbe, RoleReport};

use crate::config::{NodeSelector, ProbeConfig};
use crate::crosscheck::{NodeRecord, decide};
use crate::error::PgError;
use crate::kept::{Connector, Kept};
use crate::pgconn::PgConnector;
use crate::postgres::{STATUS_SQL, Status};
use crate::rank::Rank;
use crate::redact::redact;

const NODE_BY_NAME_SQL: &str = "SELECT node_id::int8, node_name, type, active, upstream_node_id::int8, \
     priority::int8, conninfo FROM repmgr.nodes WHERE node_name = $1::text";
const NODE_BY_ID_SQL: &str = "SELECT node_id::int8, node_name, type, active, upstream_node_id::int8, \
     priority::int8, conninfo FROM repmgr.nodes WHERE node_id = $1::int4";
const PRIMARIES_SQL: &str = "SELECT node_id::int8, node_name, type, active, upstream_node_id::int8, \
     priority::int8, conninfo FROM repmgr.nodes WHERE active AND type = 'primary' ORDER BY node_id";

/// Reads this node's row of `repmgr.nodes` (by name or id, parameterized) and the recorded
/// primary, and cross-checks them with the server's recovery state (see
/// [`crate::crosscheck::decide`]). Three prepared statements, pipelined in one round trip over one
/// kept connection.
pub struct RepmgrProbe {
    kept: Kept<PgConnector>,
    config: ProbeConfig,
    node: NodeSelector,
}

impl RepmgrProbe {
    /// Builds the probe for `node`; fails on invalid settings. The conninfo must point at the
    /// database holding the repmgr extension (usually `dbname=repmgr`). Connects lazily.
    pub fn new(config: ProbeConfig, node: NodeSelector) -> Result<Self, PgError> {
        if let NodeSelector::Name(name) = &node
            && name.trim().is_empty()
        {
            return Err(PgError::config("node_name", "must not be empty", None));
        }
        let driver = config.driver_config()?;
        let by = match node {
            NodeSelector::Name(_) => NODE_BY_NAME_SQL,
            NodeSelector::Id(_) => NODE_BY_ID_SQL,
        };
        let connector = PgConnector::new(driver, vec![STATUS_SQL, by, PRIMARIES_SQL]);
        Ok(RepmgrProbe {
            kept: Kept::new(connector, config.backoff),
            config,
            node,
        })
    }

    /// The settings the probe was built with.
    pub fn config(&self) -> &ProbeConfig {
        &self.config
    }

    /// The node this probe looks up.
    pub fn node(&self) -> &NodeSelector {
        &self.node
    }

    /// True while the probe keeps a connection open.
    pub async fn is_connected(&self) -> bool {
        self.kept.is_connected().await
    }

    /// Probes within `timeout` and returns the typed error (for example
    /// [`PgError::NodeNotRegistered`]) instead of folding it into [`Role::Unknown`].
    pub async fn try_probe(&self, timeout: Duration) -> Result<RoleReport, PgError> {
        self.try_probe_detailed(timeout).await.map(|d| d.report)
    }

    /// Like [`RepmgrProbe::try_probe`], plus the metadata rows it decided on (this node's, with its
    /// repmgr priority, and the recorded primaries), for tie-break rules. Conninfo strings in the
    /// rows have their passwords masked.
    pub async fn try_probe_detailed(&self, timeout: Duration) -> Result<RepmgrDetails, PgError> {
        let conn = self.kept.connector();
        let node = &self.node;
        let (status, me, primaries) = self
            .kept
            .run(timeout, |session| async move {
                let [status_sql, node_sql, primaries_sql] = session.statements.as_slice() else {
                    return Err(conn.missing_statement());
                };
                let client = &session.client;
                let me = async {
                    match node {
                        NodeSelector::Name(name) => client.query_opt(node_sql, &[name]).await,
                        NodeSelector::Id(id) => client.query_opt(node_sql, &[id]).await,
                    }
                };
                // Polled together, the three statements are pipelined: one round trip.
                let (status, me, primaries) = futures::try_join!(
                    client.query_one(status_sql, &[]),
                    me,
                    client.query(primaries_sql, &[])
                )
                .map_err(|e| conn.query_error(&e))?;
                let status = Status::from_row(&status, conn.target())?;
                let me = me.map(|r| node_record(&r, conn)).transpose()?;
                let primaries = primaries
                    .iter()
                    .map(|r| node_record(r, conn))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((status, me, primaries))
            })
            .await
            .map_err(|e| metadata_missing(e, conn))?;
        let me = me.ok_or_else(|| PgError::NodeNotRegistered {
            node: self.node.to_string(),
            target: conn.target().to_owned(),
        })?;
        let decision = decide(&me, status.in_recovery, &primaries);
        // The split-brain rule (crate::rank): recorded in our own metadata, then timeline.
        let priority = decision.role.is_primary().then(|| {
            let recorded = primaries.iter().any(|p| p.node_id == me.node_id);
            Rank::new(recorded, status.timeline).priority()
        });
        let report = RoleReport {
            role: decision.role,
            recorded_primary: decision.recorded_primary,
            timeline: status.timeline,
            warnings: decision.warnings,
            priority,
        };
        let masked = |mut n: NodeRecord| {
            n.conninfo = redact(&n.conninfo, None);
            n
        };
        Ok(RepmgrDetails {
            report,
            node: masked(me),
            in_recovery: status.in_recovery,
            primaries: primaries.into_iter().map(masked).collect(),
        })
    }
}

/// A [`RepmgrProbe`] answer with the metadata behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepmgrDetails {
    /// What [`RoleProbe::probe`] would report.
    pub report: RoleReport,
    /// This node's row of `repmgr.nodes` (conninfo password masked).
    pub node: NodeRecord,
    /// The server's recovery state.
    pub in_recovery: bool,
    /// The active primaries recorded in `repmgr.nodes`, lowest node_id first (masked).
    pub primaries: Vec<NodeRecord>,
}

fn node_record(row: &Row, conn: &PgConnector) -> Result<NodeRecord, PgError> {
    let bad = |e: tokio_postgres::Error| conn.query_error(&e);
    Ok(NodeRecord {
        node_id: row.try_get(0).map_err(bad)?,
        node_name: row.try_get(1).map_err(bad)?,
        node_type: row.try_get(2).map_err(bad)?,
        active: row.try_get(3).map_err(bad)?,
        upstream_node_id: row.try_get(4).map_err(bad)?,
        priority: row.try_get(5).map_err(bad)?,
        conninfo: row.try_get(6).map_err(bad)?,
    })
}

/// A missing schema or table (SQLSTATE 3F000 or 42P01) means this database has no repmgr metadata.
fn metadata_missing(e: PgError, conn: &PgConnector) -> PgError {
    match e {
        PgError::Query {
            reason,
            sqlstate: Some(code),
            ..
        } if code == "3F000" || code == "42P01" => PgError::MetadataMissing {
            target: conn.target().to_owned(),
            reason,
        },
        other => other,
    }
}

impl std::fmt::Debug for RepmgrProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepmgrProbe")
            .field("config", &self.config)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl RoleProbe for RepmgrProbe {
    async fn probe(&self, timeout: Duration) -> RoleReport {
        match self.try_probe(timeout).await {
            Ok(report) => {
                for w in &report.warnings {
                    tracing::debug!("repmgr probe: {w}");
                }
                report
            }
            Err(e) => {
                tracing::debug!("repmgr probe: {e}");
                RoleReport::from_role(Role::unknown(e.to_string()))
            }
        }
    }

    fn name(&self) -> &str {
        "repmgr"
    }
}
