//! From a validated `[[instance]]` to a [`vip_node::Node`]: the one place that maps vipd's
//! config onto the library, for vipd and the tests alike. It builds in the command fencer, the
//! command checks and the notify hooks (vip-node's), the role probe (vip-pg's) and the daemon's
//! metrics as the observer; vip-node builds the transport, the address manager and the watcher.

use std::sync::Arc;

use vip_core::runtime::{CheckSchedule, RoleSchedule};
use vip_core::{Error, RoleProbe};
use vip_node::commands::check::CommandCheck;
use vip_node::commands::fence::CommandFencer;
use vip_node::{Node, Observer};

use crate::config::{CheckConfig, InstanceConfig, RepmgrNode, RoleConfig, RoleKind};

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

impl CheckConfig {
    /// The command check for this entry.
    pub fn command_check(&self) -> CommandCheck {
        CommandCheck::new(self.name.clone(), self.argv.clone(), self.timeout)
    }

    /// The runtime's schedule for this check (see [`CommandCheck::schedule`]).
    pub fn schedule(&self) -> CheckSchedule {
        self.command_check()
            .schedule(self.interval, self.rise, self.fall)
    }
}

impl InstanceConfig {
    /// The node vipd runs for this instance, reporting to `observer`. `role_probe` must be
    /// given exactly when the instance has a `[instance.role]` section (an instance that
    /// should be role-gated is never started ungated).
    pub fn to_node(
        &self,
        role_probe: Option<Arc<dyn RoleProbe>>,
        observer: Arc<dyn Observer>,
    ) -> Result<Node, Error> {
        let name = self.name.as_str();
        let mut node = Node::new(Arc::clone(&self.node)).observer(observer);
        if let Some(f) = &self.fencer {
            node = node.command_fencer(CommandFencer::new(
                f.argv.clone(),
                f.timeout,
                name,
                self.interface.clone(),
                self.vrid,
            ));
        }
        match (&self.role, role_probe) {
            (Some(r), Some(p)) => node = node.role_probe(p, r.schedule()),
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
            node = node.arbiter(a.build(name)?, a.call_bound());
        }
        for c in &self.checks {
            node = node.check(Arc::new(c.command_check()), c.schedule(), c.weight);
        }
        Ok(node)
    }
}
