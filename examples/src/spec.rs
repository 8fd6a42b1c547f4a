//! From a validated `[[instance]]` to the vip-core runtime's [`InstanceSpec`]: the one place
//! that builds it, for vipd's wiring and for the tests alike. It builds in the command fencer
//! and the command checks, scales the backend timeouts to the advert interval, and wraps the
//! address manager, the fencer, the role probe and the checks to record their latencies and
//! outcomes in the metrics. The wiring supplies the
//! backends that need I/O: the address manager (vip-netlink), the advert sink (vip-vrrp) and
//! the role probe (vip-pg, [`RoleConfig::build_probe`]).

use std::net::IpAddr;
use std::sync::Arc;

use vip_core::runtime::{AdvertSink, InstanceSpec, RoleSchedule};
use vip_core::{AddressManager, Error, RoleProbe};

use crate::commands::check::CommandCheck;
use crate::commands::fence::CommandFencer;
use crate::config::{InstanceConfig, RepmgrNode, RoleConfig, RoleKind};
use crate::metrics::Metrics;
use crate::wiring::{MeteredAddresses, MeteredCheck, MeteredFencer, MeteredRole, timeouts};

impl RoleConfig {
    /// Builds the vip-pg probe (it connects lazily, on its first probe).
    pub fn build_probe(&self) -> Result<Arc<dyn RoleProbe>, vip_pg::PgError> {
        let kind = match &self.kind {
            RoleKind::Postgres => vip_pg::ProbeKind::Postgres,
            RoleKind::Repmgr {
                node: RepmgrNode::Name(n),
            } => vip_pg::ProbeKind::Repmgr(vip_pg::NodeSelector::Name(n.clone())),
            RoleKind::Repmgr {
                node: RepmgrNode::Id(id),
            } => {
                let id = i32::try_from(*id).map_err(|_| vip_pg::PgError::Config {
                    key: "node_id".into(),
                    problem: format!("{id} is out of range"),
                })?;
                vip_pg::ProbeKind::Repmgr(vip_pg::NodeSelector::Id(id))
            }
        };
        let config = vip_pg::ProbeConfig::new(self.conninfo.clone())
            .interval(self.interval)
            .timeout(self.timeout);
        vip_pg::build_probe(kind, config)
    }

    /// The runtime's schedule for the role probe.
    pub fn schedule(&self) -> RoleSchedule {
        RoleSchedule {
            interval: self.interval,
            timeout: self.timeout,
        }
    }
}

impl InstanceConfig {
    /// The runtime spec for this instance, as vipd runs it. `local_addr` is the adverts'
    /// source ([`InstanceConfig::resolve_source`]); `role_probe` must be given exactly when the
    /// instance has a `[instance.role]` section (an instance that should be role-gated is
    /// never started ungated). The address manager, the fencer, the role probe and the checks
    /// record what they do in `metrics`; the backend timeouts are [`timeouts`].
    pub fn to_instance_spec(
        &self,
        local_addr: IpAddr,
        addresses: Arc<dyn AddressManager>,
        adverts: Arc<dyn AdvertSink>,
        role_probe: Option<Arc<dyn RoleProbe>>,
        metrics: &Arc<Metrics>,
    ) -> Result<InstanceSpec, Error> {
        let name = self.name.as_str();
        // The builder sets fencing, role gating and checks from the backends it is given.
        let mut config = self.to_election_config(local_addr);
        config.fencing = false;
        config.role_gated = false;
        config.checks.clear();
        let addresses = Arc::new(MeteredAddresses::new(addresses, name, metrics.clone()));
        let mut bounds = timeouts(self);
        if let Some(a) = &self.arbiter {
            // The runtime bounds arbiter calls by the address timeout; an etcd call needs more
            // than 2 advert intervals (a quorum write, and a failover to another member).
            bounds.address = bounds.address.max(a.call_bound());
        }
        let mut spec = InstanceSpec::new(name, config, addresses, adverts).timeouts(bounds);
        if let Some(f) = CommandFencer::from_config(self) {
            let fencer = MeteredFencer::new(Arc::new(f), name, metrics.clone());
            spec = spec.fencer(Arc::new(fencer));
        }
        match (&self.role, role_probe) {
            (Some(r), Some(p)) => {
                let probe = MeteredRole::new(p, name, metrics.clone());
                spec = spec.role_probe(Arc::new(probe), r.schedule());
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(Error::Config {
                    key: format!("instance[{name}].role"),
                    problem: "a role probe is configured but none was built".into(),
                });
            }
            (None, Some(_)) => {
                return Err(Error::Config {
                    key: format!("instance[{name}].role"),
                    problem: "a role probe was given but the instance has no role section".into(),
                });
            }
        }
        if let Some(a) = &self.arbiter {
            spec = spec.arbiter(a.build(name)?);
        }
        for c in &self.checks {
            let check = MeteredCheck::new(
                Arc::new(CommandCheck::from_config(c)),
                name,
                metrics.clone(),
            );
            spec = spec.check(Arc::new(check), c.schedule(), c.weight);
        }
        spec.validate()?;
        Ok(spec)
    }
}
