//! [`CommandCheck`]: a tracked check that runs a command (no shell), as a runtime
//! [`HealthCheck`].

use std::sync::Arc;

use async_trait::async_trait;
use vip_core::Error;
use vip_core::runtime::HealthCheck;

use crate::commands::check::run_check;
use crate::config::CheckConfig;
use crate::metrics::Metrics;

/// Runs a configured check command; exit 0 within its timeout passes. Every run's duration is
/// recorded in the metrics as a probe named after the check.
#[derive(Debug, Clone)]
pub struct CommandCheck {
    check: CheckConfig,
    instance: String,
    metrics: Arc<Metrics>,
}

impl CommandCheck {
    /// The check `check` of instance `instance`.
    pub fn new(check: CheckConfig, instance: impl Into<String>, metrics: Arc<Metrics>) -> Self {
        CommandCheck {
            check,
            instance: instance.into(),
            metrics,
        }
    }
}

#[async_trait]
impl HealthCheck for CommandCheck {
    async fn check(&self) -> Result<(), Error> {
        let outcome = run_check(&self.check).await;
        self.metrics
            .observe_probe(&self.instance, &self.check.name, outcome.elapsed);
        if outcome.success() {
            Ok(())
        } else {
            Err(Error::Other {
                operation: format!("tracked check {}", self.check.name),
                message: outcome.describe(),
                transient: true,
            })
        }
    }

    fn name(&self) -> &str {
        &self.check.name
    }
}
