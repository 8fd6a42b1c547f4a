//! [`ReplicaProbe`]: recovery state and replay lag, for a load balancer's real-server check (a
//! read VIP over standbys that are not too far behind).

use std::time::Duration;

use crate::config::ProbeConfig;
use crate::error::PgError;
use crate::kept::Kept;
use crate::pgconn::PgConnector;

/// One statement: recovery state and, in recovery, the WAL received but not yet replayed (bytes;
/// NULL when no WAL receiver has received anything, as in archive-only recovery). Needs no
/// special privileges.
const REPLICA_SQL: &str = "SELECT pg_is_in_recovery(), \
     CASE WHEN pg_is_in_recovery() \
          THEN greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::int8 \
     END";

/// What a server said about its replication state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// `pg_is_in_recovery()`.
    pub in_recovery: bool,
    /// In recovery: WAL received but not yet replayed, in bytes (`None` when nothing was received
    /// by streaming, so the lag is unknown). `None` on a primary.
    pub lag_bytes: Option<u64>,
}

/// Reads [`ReplicaStatus`] over one kept connection (reconnecting with back-off), each read
/// bounded by the timeout.
pub struct ReplicaProbe {
    kept: Kept<PgConnector>,
    config: ProbeConfig,
}

impl ReplicaProbe {
    /// Builds the probe; fails on invalid settings. Connects lazily on the first read.
    pub fn new(config: ProbeConfig) -> Result<Self, PgError> {
        let driver = config.driver_config()?;
        let connector = PgConnector::new(driver, vec![REPLICA_SQL]);
        Ok(ReplicaProbe {
            kept: Kept::new(connector, config.backoff),
            config,
        })
    }

    /// The settings the probe was built with.
    pub fn config(&self) -> &ProbeConfig {
        &self.config
    }

    /// Reads the status within `timeout`.
    pub async fn status(&self, timeout: Duration) -> Result<ReplicaStatus, PgError> {
        self.kept
            .query_first(timeout, |row, conn| {
                let in_recovery: bool = row.try_get(0).map_err(|e| conn.query_error(&e))?;
                let lag: Option<i64> = row.try_get(1).map_err(|e| conn.query_error(&e))?;
                Ok(ReplicaStatus {
                    in_recovery,
                    lag_bytes: lag.and_then(|l| u64::try_from(l).ok()),
                })
            })
            .await
    }
}

impl std::fmt::Debug for ReplicaProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaProbe")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
