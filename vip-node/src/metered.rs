//! Backends wrapped to tell the [`Observer`] what they did: in-use probe latency, fence
//! outcomes, role probe and check latency. They pass every call through unchanged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vip_core::runtime::HealthCheck;
use vip_core::{
    AddressManager, Error, FenceOutcome, FenceRequest, Fencer, InUse, RoleProbe, RoleReport, Vip,
    async_trait,
};

use crate::Observer;
use crate::commands::fence::format_mac;

/// An [`AddressManager`] that reports the in-use probe's latency (probe `in_use`).
pub(crate) struct MeteredAddresses {
    inner: Arc<dyn AddressManager>,
    instance: String,
    observer: Arc<dyn Observer>,
}

impl MeteredAddresses {
    /// Wraps `inner` for instance `instance`.
    pub(crate) fn new(
        inner: Arc<dyn AddressManager>,
        instance: &str,
        observer: Arc<dyn Observer>,
    ) -> Self {
        MeteredAddresses {
            inner,
            instance: instance.to_owned(),
            observer,
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
        self.observer
            .probe(&self.instance, "in_use", start.elapsed());
        if let Ok(InUse::Held { vip, holder }) = &r {
            tracing::warn!(
                instance = %self.instance, vip = %vip,
                holder = %holder.map(format_mac).unwrap_or_default(),
                "in-use probe: the VIP answers elsewhere"
            );
        }
        r
    }
}

/// A [`Fencer`] that reports each outcome.
pub(crate) struct MeteredFencer {
    inner: Arc<dyn Fencer>,
    instance: String,
    observer: Arc<dyn Observer>,
}

impl MeteredFencer {
    /// Wraps `inner` for instance `instance`.
    pub(crate) fn new(inner: Arc<dyn Fencer>, instance: &str, observer: Arc<dyn Observer>) -> Self {
        MeteredFencer {
            inner,
            instance: instance.to_owned(),
            observer,
        }
    }
}

#[async_trait]
impl Fencer for MeteredFencer {
    async fn fence(&self, request: &FenceRequest) -> FenceOutcome {
        let outcome = self.inner.fence(request).await;
        self.observer.fence(&self.instance, &outcome);
        outcome
    }
}

/// A [`RoleProbe`] that reports its latency (probe `role`).
pub(crate) struct MeteredRole {
    inner: Arc<dyn RoleProbe>,
    instance: String,
    observer: Arc<dyn Observer>,
}

impl MeteredRole {
    /// Wraps `inner` for instance `instance`.
    pub(crate) fn new(
        inner: Arc<dyn RoleProbe>,
        instance: &str,
        observer: Arc<dyn Observer>,
    ) -> Self {
        MeteredRole {
            inner,
            instance: instance.to_owned(),
            observer,
        }
    }
}

#[async_trait]
impl RoleProbe for MeteredRole {
    async fn probe(&self, timeout: Duration) -> RoleReport {
        let start = Instant::now();
        let report = self.inner.probe(timeout).await;
        self.observer.probe(&self.instance, "role", start.elapsed());
        report
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// A [`HealthCheck`] that reports each run's latency (probe named after the check).
pub(crate) struct MeteredCheck {
    inner: Arc<dyn HealthCheck>,
    instance: String,
    observer: Arc<dyn Observer>,
}

impl MeteredCheck {
    /// Wraps `inner` for instance `instance`.
    pub(crate) fn new(
        inner: Arc<dyn HealthCheck>,
        instance: &str,
        observer: Arc<dyn Observer>,
    ) -> Self {
        MeteredCheck {
            inner,
            instance: instance.to_owned(),
            observer,
        }
    }
}

#[async_trait]
impl HealthCheck for MeteredCheck {
    async fn check(&self) -> Result<(), Error> {
        let start = Instant::now();
        let r = self.inner.check().await;
        self.observer
            .probe(&self.instance, self.inner.name(), start.elapsed());
        r
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}
