//! From a [`NodeConfig`] and the embedder's backends to a spawned election instance: the VRRP
//! transport (send, receive and the steady loop), the netlink address manager and its watcher,
//! and the spec that carries them all.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use vip_core::runtime::{
    AdvertSink, CheckSchedule, HealthCheck, InstanceHandle, InstanceSpec, RoleSchedule, Runtime,
    Timeouts,
};
use vip_core::{AddressManager, Fencer, OwnershipArbiter, RoleProbe};
use vip_netlink::{NetlinkAddressManager, Watcher};
use vip_vrrp::socket::{Transport, TransportError};

use crate::config::ConfigError;
use crate::events::EventSink;
use crate::metered::{MeteredAddresses, MeteredCheck, MeteredFencer, MeteredRole};
use crate::{NodeConfig, Observer};

/// Why an instance could not be built or started.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The config breaks a protocol rule (fix it; retrying does not help).
    #[error("config: {0}")]
    Config(#[from] ConfigError),
    /// The VRRP transport could not be opened (missing interface, no source address, no
    /// CAP_NET_RAW, ...).
    #[error("VRRP transport: {0}")]
    Transport(#[from] TransportError),
    /// The address manager or its watcher could not be created.
    #[error("addressing: {0}")]
    Addresses(vip_core::Error),
    /// The runtime refused the instance.
    #[error("starting the election: {0}")]
    Spawn(vip_core::Error),
}

impl NodeError {
    /// True when retrying later may help (the interface or its address may appear, a socket
    /// may open once capabilities are granted); false for config problems.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            NodeError::Config(_)
                | NodeError::Spawn(vip_core::Error::Config { .. })
                | NodeError::Transport(TransportError::Config { .. })
                | NodeError::Transport(TransportError::Encode(_))
        )
    }
}

/// A tracked check with its schedule and weight.
#[derive(Clone)]
pub(crate) struct Check {
    pub(crate) check: Arc<dyn HealthCheck>,
    pub(crate) schedule: CheckSchedule,
    pub(crate) weight: i32,
}

/// Everything a start needs; kept across restarts.
#[derive(Clone)]
pub(crate) struct Parts {
    pub(crate) config: Arc<NodeConfig>,
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) role: Option<(Arc<dyn RoleProbe>, RoleSchedule)>,
    pub(crate) fencer: Option<(Arc<dyn Fencer>, Option<Duration>)>,
    pub(crate) arbiter: Option<(Arc<dyn OwnershipArbiter>, Duration)>,
    pub(crate) checks: Vec<Check>,
    pub(crate) observer: Arc<dyn Observer>,
}

impl Parts {
    /// The runtime spec with these sending and addressing backends: the embedder's role
    /// probe, fencer and checks, each reporting to the observer, and the derived timeouts.
    pub(crate) fn spec(
        &self,
        local_addr: IpAddr,
        addresses: Arc<dyn AddressManager>,
        adverts: Arc<dyn AdvertSink>,
    ) -> InstanceSpec {
        let (name, observer) = (self.config.name.as_str(), &self.observer);
        let addresses = MeteredAddresses::new(addresses, name, observer.clone());
        let mut spec = InstanceSpec::new(
            name,
            self.config.election_config(local_addr),
            Arc::new(addresses),
            adverts,
        )
        .timeouts(self.timeouts());
        if let Some((f, _)) = &self.fencer {
            let fencer = MeteredFencer::new(f.clone(), name, observer.clone());
            spec = spec.fencer(Arc::new(fencer));
        }
        if let Some((p, schedule)) = &self.role {
            let probe = MeteredRole::new(p.clone(), name, observer.clone());
            spec = spec.role_probe(Arc::new(probe), *schedule);
        }
        if let Some((a, _)) = &self.arbiter {
            spec = spec.arbiter(a.clone());
        }
        for c in &self.checks {
            let check = MeteredCheck::new(c.check.clone(), name, observer.clone());
            spec = spec.check(Arc::new(check), c.schedule, c.weight);
        }
        spec
    }

    /// The bounds on backend calls ([`crate::timeouts`] of the interval and the fencer).
    pub(crate) fn timeouts(&self) -> Timeouts {
        let mut t = crate::timeouts(
            self.config.advert_interval,
            self.fencer.as_ref().and_then(|(_, t)| *t),
        );
        if let Some((_, bound)) = &self.arbiter {
            t.arbiter = *bound;
        }
        t
    }
}

/// The parts of a started instance.
pub(crate) struct Started {
    pub(crate) handle: InstanceHandle,
    pub(crate) manager: Arc<NetlinkAddressManager>,
    pub(crate) watcher: Watcher,
}

/// Opens the transport, the address manager and its watcher, and spawns the election, whose
/// events go to `sink` as they happen.
pub(crate) async fn start(parts: &Parts, sink: &EventSink) -> Result<Started, NodeError> {
    let config = &parts.config;
    let name = config.name.as_str();
    let transport = Arc::new(Transport::new(config.transport_config())?);
    let manager = Arc::new(
        NetlinkAddressManager::new(config.manager_config()).map_err(NodeError::Addresses)?,
    );
    // Subscribed before the instance starts: the first link state reaches it.
    let watcher = manager
        .watch(&config.interface)
        .await
        .map_err(NodeError::Addresses)?;

    let mut spec = parts
        .spec(transport.source(), manager.clone(), transport.clone())
        // The instance task reads the socket itself: one wake-up per received advert.
        .advert_source(transport.clone())
        // Every event reaches the observer and the notify hooks from the instance's task, as
        // it happens (no task, no backlog, nothing to fall behind); the broadcast is left for
        // an embedder's own subscribers, with a short backlog: its slots are allocated up
        // front (64 of them cost about 6 KiB per instance).
        .event_hook({
            let sink = sink.clone();
            Arc::new(move |event| sink.emit(event))
        })
        .event_capacity(8);
    if transport.supports_steady() {
        // An idle master's adverts and an idle backup's receptions on the interface's receive
        // thread, while the async runtime sleeps (see vip_core::runtime::steady).
        spec = spec.steady_loop(transport.clone());
    }
    let handle = parts.runtime.spawn(spec).map_err(NodeError::Spawn)?;
    parts
        .observer
        .transport_opened(name, &config.interface, transport.stats());
    parts
        .observer
        .receive_path_opened(&config.interface, transport.receiver().stats());
    tracing::info!(
        instance = %name, interface = %config.interface, vrid = config.vrid,
        source = %transport.source(), "election instance started"
    );
    Ok(Started {
        handle,
        manager,
        watcher,
    })
}
