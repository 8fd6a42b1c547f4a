//! [`PostgresProbe`]: the role from `pg_is_in_recovery()`, plus the current timeline.

use std::time::Duration;

use async_trait::async_trait;
use tokio_postgres::Row;
use vip_core::{Role, RoleProbe, RoleReport};

use crate::config::ProbeConfig;
use crate::error::PgError;
use crate::kept::{Connector, Kept};
use crate::pgconn::{PgConnector, query_error};
use crate::rank::Rank;

/// One statement: recovery state and timeline. On a primary the timeline comes from the current
/// WAL file name (exact right after a promotion); in recovery, where that function is not
/// allowed, from the last checkpoint (or restartpoint). Needs no special privileges.
pub(crate) const STATUS_SQL: &str = "SELECT pg_is_in_recovery(), \
     CASE WHEN pg_is_in_recovery() \
          THEN (SELECT timeline_id FROM pg_control_checkpoint()) \
          ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int4 \
     END";

/// What the status statement returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    pub in_recovery: bool,
    pub timeline: Option<u32>,
}

impl Status {
    pub(crate) fn from_row(row: &Row, target: &str) -> Result<Self, PgError> {
        let bad = |e: tokio_postgres::Error| query_error(target, None, &e);
        let in_recovery: bool = row.try_get(0).map_err(bad)?;
        let timeline: Option<i32> = row.try_get(1).map_err(bad)?;
        Ok(Status {
            in_recovery,
            timeline: timeline.and_then(|t| u32::try_from(t).ok()),
        })
    }

    pub(crate) fn role(&self) -> Role {
        if self.in_recovery {
            Role::Standby
        } else {
            Role::Primary
        }
    }
}

/// Reports Primary when the server is not in recovery, Standby when it is, and Unknown (with the
/// reason) when it cannot tell within the timeout. Keeps one connection and one prepared
/// statement; reconnects with bounded exponential back-off.
pub struct PostgresProbe {
    kept: Kept<PgConnector>,
    config: ProbeConfig,
}

impl PostgresProbe {
    /// Builds the probe; fails on invalid settings. Connects lazily on the first probe.
    pub fn new(config: ProbeConfig) -> Result<Self, PgError> {
        let driver = config.driver_config()?;
        let connector = PgConnector::new(driver, vec![STATUS_SQL]);
        Ok(PostgresProbe {
            kept: Kept::new(connector, config.backoff),
            config,
        })
    }

    /// The settings the probe was built with (interval and timeout for the daemon's schedule).
    pub fn config(&self) -> &ProbeConfig {
        &self.config
    }

    /// True while the probe keeps a connection open.
    pub async fn is_connected(&self) -> bool {
        self.kept.is_connected().await
    }

    /// Probes within `timeout` and returns the typed error instead of folding it into
    /// [`Role::Unknown`].
    pub async fn try_probe(&self, timeout: Duration) -> Result<RoleReport, PgError> {
        let status = self
            .kept
            .query_first(timeout, |row, conn| Status::from_row(row, conn.target()))
            .await?;
        let mut report = RoleReport::from_role(status.role());
        report.timeline = status.timeline;
        // The split-brain rule without metadata: timeline, then address (crate::rank).
        if report.role.is_primary() {
            report.priority = Some(Rank::new(false, status.timeline).priority());
        }
        Ok(report)
    }
}

impl std::fmt::Debug for PostgresProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresProbe")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl RoleProbe for PostgresProbe {
    async fn probe(&self, timeout: Duration) -> RoleReport {
        match self.try_probe(timeout).await {
            Ok(report) => report,
            Err(e) => {
                tracing::debug!("postgres probe: {e}");
                RoleReport::from_role(Role::unknown(e.to_string()))
            }
        }
    }

    fn name(&self) -> &str {
        "postgres"
    }
}
