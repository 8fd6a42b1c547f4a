//! vipd's load balancing (issue 16): `[[virtual_server]]` tables become one vip-lb
//! [`Balancer`](vip_lb::Balancer) with the checks each real server names, and each
//! service is active (its rules in the kernel) only while its instance holds its VIPs.
//!
//! - [`build`]: config to the crate's types, and the checks (TCP and MISC from vip-lb,
//!   PostgreSQL through vip-pg from here).
//! - [`pg_check`]: the PostgreSQL role and replay-lag check (the read VIP over standbys).
//! - [`follow`]: one task per instance that calls `set_active` as its `holds_vips` changes.
//! - [`LoadBalancer`]: the running balancer and its followers, as the daemon keeps them.

pub mod build;
pub mod follow;
pub mod pg_check;

use std::sync::Arc;

use tokio::task::JoinHandle;
use vip_core::runtime::Runtime;

use crate::config::VirtualServerConfig;
use crate::control::{LbBackend, LbService};
use vip_lb::{BalancerHandle, ServiceStatus};

/// The running balancer of a daemon: the handle, the tasks that follow the instances, and the
/// config it was started from (a reload restarts it when that changes).
pub struct LoadBalancer {
    /// The config it runs.
    pub config: Vec<VirtualServerConfig>,
    handle: BalancerHandle,
    followers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for LoadBalancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadBalancer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl LoadBalancer {
    /// Builds and starts the balancer for `config` (nothing when it is empty), with one task per
    /// instance following its `holds_vips` on `runtime`. Services start inactive.
    pub async fn start(
        config: &[VirtualServerConfig],
        runtime: &Arc<Runtime>,
    ) -> Result<Option<LoadBalancer>, String> {
        if config.is_empty() {
            return Ok(None);
        }
        let balancer = build::balancer(config)?;
        let handle = balancer
            .start()
            .await
            .map_err(|e| format!("load balancer: {e}"))?;
        let followers = follow::spawn_all(config, runtime, &handle);
        Ok(Some(LoadBalancer {
            config: config.to_vec(),
            handle,
            followers,
        }))
    }

    /// Each service's state, in config order, with the instance it follows.
    pub fn status(&self) -> Vec<LbService> {
        rows(&self.config, &self.handle.status())
    }

    /// A source of [`LoadBalancer::status`] for the metrics (read when they are rendered).
    pub fn source(&self) -> LbSource {
        let (config, handle) = (self.config.clone(), self.handle.clone());
        Arc::new(move || rows(&config, &handle.status()))
    }

    /// Stops following the instances and stops the balancer (its rules are removed).
    pub async fn stop(self) {
        for f in &self.followers {
            f.abort();
        }
        if let Err(e) = self.handle.stop().await {
            tracing::error!("load balancer: stopping: {e}");
        }
    }
}

/// Reads the virtual servers' state when called (the metrics hold one).
pub type LbSource = Arc<dyn Fn() -> Vec<LbService> + Send + Sync>;

fn rows(config: &[VirtualServerConfig], statuses: &[ServiceStatus]) -> Vec<LbService> {
    config
        .iter()
        .filter_map(|c| {
            statuses
                .iter()
                .find(|s| s.name == c.name)
                .map(|s| service_row(c, s))
        })
        .collect()
}

fn service_row(c: &VirtualServerConfig, s: &ServiceStatus) -> LbService {
    LbService {
        name: s.name.clone(),
        instance: c.instance.clone(),
        protocol: s.protocol.to_string(),
        vip: s.vip.to_string(),
        port: s.port,
        scheduler: s.scheduler.name().to_owned(),
        active: s.active,
        quorum_up: s.quorum_up,
        sorry_active: s.sorry_active,
        sorry_server: c.sorry_server.map(|a| a.to_string()),
        backends: s
            .backends
            .iter()
            .map(|b| LbBackend {
                addr: b.addr.to_string(),
                configured_weight: b.configured_weight,
                weight: b.weight,
                healthy: b.healthy,
                active_connections: b.active_connections,
                inactive_connections: b.inactive_connections,
                last_error: b.last_error.clone(),
            })
            .collect(),
    }
}
