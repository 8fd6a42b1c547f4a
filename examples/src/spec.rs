//! From a validated `[[instance]]` to the vip-core runtime's [`InstanceSpec`], with the command
//! fencer and command checks built in. The wiring supplies the backends that need I/O: the
//! address manager (vip-netlink), the advert sink (vip-vrrp) and the role probe (vip-pg).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use vip_core::runtime::{AdvertSink, InstanceSpec, RoleSchedule, Timeouts};
use vip_core::{AddressManager, Error, RoleProbe};

use crate::commands::check::CommandCheck;
use crate::commands::fence::CommandFencer;
use crate::config::{InstanceConfig, RepmgrNode, RoleConfig, RoleKind};

/// Extra time the runtime grants a fence beyond the fence command's own timeout, so that the
/// command fencer kills the command and reports why first.
pub const FENCE_GRACE: Duration = Duration::from_millis(500);

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
    /// The runtime spec for this instance. `local_addr` is the adverts' source
    /// ([`InstanceConfig::resolve_source`]); `role_probe` must be given exactly when the
    /// instance has a `[instance.role]` section (an instance that should be role-gated is
    /// never started ungated).
    pub fn to_instance_spec(
        &self,
        local_addr: IpAddr,
        addresses: Arc<dyn AddressManager>,
        adverts: Arc<dyn AdvertSink>,
        role_probe: Option<Arc<dyn RoleProbe>>,
    ) -> Result<InstanceSpec, Error> {
        // The builder sets fencing, role gating and checks from the backends it is given.
        let mut config = self.to_election_config(local_addr);
        config.fencing = false;
        config.role_gated = false;
        config.checks.clear();
        let mut spec = InstanceSpec::new(self.name.clone(), config, addresses, adverts);
        let mut timeouts = Timeouts::default();
        if let Some(f) = CommandFencer::from_config(self) {
            spec = spec.fencer(Arc::new(f));
            if let Some(fc) = &self.fencer {
                timeouts.fence = fc.timeout + FENCE_GRACE;
            }
        }
        spec = spec.timeouts(timeouts);
        match (&self.role, role_probe) {
            (Some(r), Some(p)) => spec = spec.role_probe(p, r.schedule()),
            (None, None) => {}
            (Some(_), None) => {
                return Err(Error::Config {
                    key: format!("instance[{}].role", self.name),
                    problem: "a role probe is configured but none was built".into(),
                });
            }
            (None, Some(_)) => {
                return Err(Error::Config {
                    key: format!("instance[{}].role", self.name),
                    problem: "a role probe was given but the instance has no role section".into(),
                });
            }
        }
        for c in &self.checks {
            spec = spec.check(
                Arc::new(CommandCheck::from_config(c)),
                c.schedule(),
                c.weight,
            );
        }
        spec.validate()?;
        Ok(spec)
    }
}
