//! Backends wrapped to record what they did in the metrics: in-use probe latency, fence
//! outcomes and role probe latency. They pass every call through unchanged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use vip_core::runtime::HealthCheck;
use vip_core::{
    AddressManager, Error, FenceOutcome, FenceRequest, Fencer, InUse, RoleProbe, RoleReport, Vip,
};

use crate::metrics::Metrics;

/// An [`AddressManager`] that records the in-use probe's latency (probe `in_use`).
pub struct MeteredAddresses {
    inner: Arc<dyn AddressManager>,
    instance: String,
    metrics: Arc<Metrics>,
}

impl MeteredAddresses {
    /// Wraps `inner` for instance `instance`.
    pub fn new(inner: Arc<dyn AddressManager>, instance: &str, metrics: Arc<Metrics>) -> Self {
        MeteredAddresses {
            inner,
            instance: instance.to_owned(),
            metrics,
        }
    }
}

#[async_trait]
impl AddressManager for MeteredAddresses {
    async fn add(&self, vips: &[Vip]) -> Result<(), Error> {
        self.inner.add(vips).await
    }

    async fn remove(&self, vips: &[Vip]) -> Result<(), Error> {
        self.inner.remove(vips).await
    }

    async fn list(&self, interface: &str) -> Result<Vec<Vip>, Error> {
        self.inner.list(interface).await
    }

    async fn announce(&self, vips: &[Vip]) -> Result<(), Error> {
        self.inner.announce(vips).await
    }

    async fn set_valid_lifetime(&self, vips: &[Vip], valid: Option<Duration>) -> Result<(), Error> {
        self.inner.set_valid_lifetime(vips, valid).await
    }

    async fn probe_in_use(&self, vips: &[Vip], timeout: Duration) -> Result<InUse, Error> {
        let start = Instant::now();
        let r = self.inner.probe_in_use(vips, timeout).await;
        self.metrics
            .observe_probe(&self.instance, "in_use", start.elapsed());
        if let Ok(InUse::Held { vip, holder }) = &r {
            tracing::warn!(
                instance = %self.instance, vip = %vip,
                holder = %holder.map(crate::commands::fence::format_mac).unwrap_or_default(),
                "in-use probe: the VIP answers elsewhere"
            );
        }
        r
    }
}

/// A [`Fencer`] that records each outcome (`vip_fence_total`).
pub struct MeteredFencer {
    inner: Arc<dyn Fencer>,
    instance: String,
    metrics: Arc<Metrics>,
}

impl MeteredFencer {
    /// Wraps `inner` for instance `instance`.
    pub fn new(inner: Arc<dyn Fencer>, instance: &str, metrics: Arc<Metrics>) -> Self {
        MeteredFencer {
            inner,
            instance: instance.to_owned(),
            metrics,
        }
    }
}

#[async_trait]
impl Fencer for MeteredFencer {
    async fn fence(&self, request: &FenceRequest) -> FenceOutcome {
        let outcome = self.inner.fence(request).await;
        self.metrics.fence_outcome(&self.instance, &outcome);
        outcome
    }
}

/// A [`RoleProbe`] that records its latency (probe `role`).
pub struct MeteredRole {
    inner: Arc<dyn RoleProbe>,
    instance: String,
    metrics: Arc<Metrics>,
}

impl MeteredRole {
    /// Wraps `inner` for instance `instance`.
    pub fn new(inner: Arc<dyn RoleProbe>, instance: &str, metrics: Arc<Metrics>) -> Self {
        MeteredRole {
            inner,
            instance: instance.to_owned(),
            metrics,
        }
    }
}

#[async_trait]
impl RoleProbe for MeteredRole {
    async fn probe(&self, timeout: Duration) -> RoleReport {
        let start = Instant::now();
        let report = self.inner.probe(timeout).await;
        self.metrics
            .observe_probe(&self.instance, "role", start.elapsed());
        report
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// A [`HealthCheck`] that records each run's latency (probe named after the check).
pub struct MeteredCheck {
    inner: Arc<dyn HealthCheck>,
    instance: String,
    metrics: Arc<Metrics>,
}

impl MeteredCheck {
    /// Wraps `inner` for instance `instance`.
    pub fn new(inner: Arc<dyn HealthCheck>, instance: &str, metrics: Arc<Metrics>) -> Self {
        MeteredCheck {
            inner,
            instance: instance.to_owned(),
            metrics,
        }
    }
}

#[async_trait]
impl HealthCheck for MeteredCheck {
    async fn check(&self) -> Result<(), Error> {
        let start = Instant::now();
        let r = self.inner.check().await;
        self.metrics
            .observe_probe(&self.instance, self.inner.name(), start.elapsed());
        r
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}
