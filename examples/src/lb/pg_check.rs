//! The PostgreSQL real-server check: the server's role (`pg_is_in_recovery()`) and, for a
//! standby, the WAL it has received but not replayed, read through vip-pg's [`ReplicaProbe`]
//! over one kept connection. A standby whose lag passes `max_lag_bytes` is Down (it leaves the
//! pool after the service's retries) and Up again once it has caught up: the read VIP over
//! healthy standbys.

use async_trait::async_trait;
use vip_pg::{ProbeConfig, ReplicaProbe, ReplicaStatus};

use crate::config::{PgCheckConfig, PgRole};
use vip_lb::{CheckOutcome, RealServerCheck};

/// A `pg_check`.
#[derive(Debug)]
pub struct PgCheck {
    probe: ReplicaProbe,
    config: PgCheckConfig,
}

impl PgCheck {
    /// The check for `config` (connects on its first run).
    pub fn new(config: PgCheckConfig) -> Result<Self, vip_pg::PgError> {
        let probe =
            ReplicaProbe::new(ProbeConfig::new(config.conninfo.clone()).timeout(config.timeout))?;
        Ok(PgCheck { probe, config })
    }
}

/// The verdict on one status read.
pub fn verdict(role: PgRole, max_lag_bytes: Option<u64>, s: ReplicaStatus) -> CheckOutcome {
    let up = CheckOutcome::Up { weight: None };
    match (role, s.in_recovery) {
        (PgRole::Primary, true) => {
            CheckOutcome::Down("in recovery (a standby), not the primary".into())
        }
        (PgRole::Primary, false) | (PgRole::Any, false) => up,
        (PgRole::Standby, false) => {
            CheckOutcome::Down("not in recovery (the primary), not a standby".into())
        }
        (PgRole::Standby | PgRole::Any, true) => match (max_lag_bytes, s.lag_bytes) {
            (None, _) => up,
            (Some(_), None) => {
                CheckOutcome::Down("replay lag unknown (no WAL received by streaming)".into())
            }
            (Some(max), Some(lag)) if lag > max => CheckOutcome::Down(format!(
                "replay lag {lag} bytes is above max_lag_bytes {max}"
            )),
            (Some(_), Some(_)) => up,
        },
    }
}

#[async_trait]
impl RealServerCheck for PgCheck {
    async fn check(&self) -> CheckOutcome {
        match self.probe.status(self.config.timeout).await {
            Ok(s) => verdict(self.config.role, self.config.max_lag_bytes, s),
            Err(e) => CheckOutcome::Down(e.to_string()),
        }
    }

    fn name(&self) -> &str {
        "pg"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(in_recovery: bool, lag_bytes: Option<u64>) -> ReplicaStatus {
        ReplicaStatus {
            in_recovery,
            lag_bytes,
        }
    }

    fn up(o: &CheckOutcome) -> bool {
        matches!(o, CheckOutcome::Up { .. })
    }

    #[test]
    fn standbys_within_the_bound_are_up() {
        assert!(up(&verdict(
            PgRole::Standby,
            Some(100),
            st(true, Some(100))
        )));
        assert!(!up(&verdict(
            PgRole::Standby,
            Some(100),
            st(true, Some(101))
        )));
        assert!(!up(&verdict(PgRole::Standby, Some(100), st(true, None))));
        assert!(up(&verdict(PgRole::Standby, None, st(true, None))));
        assert!(!up(&verdict(PgRole::Standby, None, st(false, None))));
    }

    #[test]
    fn primary_and_any() {
        assert!(up(&verdict(PgRole::Primary, None, st(false, None))));
        assert!(!up(&verdict(PgRole::Primary, None, st(true, Some(0)))));
        assert!(up(&verdict(PgRole::Any, Some(10), st(false, None))));
        assert!(!up(&verdict(PgRole::Any, Some(10), st(true, Some(11)))));
    }
}
