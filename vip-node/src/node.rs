//! [`Node`]: the builder that turns a [`NodeConfig`] and the embedder's backends into a running,
//! supervised instance, and [`NodeHandle`], what it returns.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use vip_core::election::StopMode;
use vip_core::runtime::{
    AdvertSink, CheckSchedule, HealthCheck, InstanceHandle, InstanceSpec, RoleSchedule, Runtime,
    Status,
};
use vip_core::{AddressManager, Fencer, OwnershipArbiter, RoleProbe};

use crate::build::{Check, NodeError, Parts, start};
use crate::commands::fence::CommandFencer;
use crate::events::EventSink;
use crate::observer::NoObserver;
use crate::supervise::{LastError, supervise};
use crate::{NodeConfig, Observer};

/// One instance being assembled: its [`NodeConfig`] plus the backends only the embedder can
/// give (role probe, fencer, checks, observer). The Linux backends (VRRP transport with its
/// receive path and steady loop, netlink address manager, link watcher) are always built from
/// the config, so an instance can be neither deaf nor blind.
pub struct Node {
    parts: Parts,
}

impl Node {
    /// A node for `config` (owned, or shared as an `Arc` with no copy), on a runtime of its
    /// own (with kernel timers, as a daemon wants).
    pub fn new(config: impl Into<Arc<NodeConfig>>) -> Self {
        Node {
            parts: Parts {
                config: config.into(),
                runtime: Arc::new(Runtime::new().kernel_timers(true)),
                role: None,
                fencer: None,
                arbiter: None,
                checks: Vec::new(),
                observer: Arc::new(NoObserver),
            },
        }
    }

    /// Runs on `runtime` instead (a daemon shares one runtime, whose registry and
    /// [`Status`] then serve every instance).
    pub fn runtime(mut self, runtime: Arc<Runtime>) -> Self {
        self.parts.runtime = runtime;
        self
    }

    /// Eligible only while `probe` says Primary, polled on `schedule`.
    pub fn role_probe(mut self, probe: Arc<dyn RoleProbe>, schedule: RoleSchedule) -> Self {
        self.parts.role = Some((probe, schedule));
        self
    }

    /// Fences through `fencer` before taking a VIP that still answers (each attempt bounded
    /// by the runtime's default fence bound).
    pub fn fencer(mut self, fencer: Arc<dyn Fencer>) -> Self {
        self.parts.fencer = Some((fencer, None));
        self
    }

    /// Fences with a command; the runtime's bound follows the command's own timeout.
    pub fn command_fencer(mut self, fencer: CommandFencer) -> Self {
        let timeout = fencer.timeout();
        self.parts.fencer = Some((Arc::new(fencer), Some(timeout)));
        self
    }

    /// Adds VIPs only while `arbiter` grants it (see [`vip_core::OwnershipArbiter`]): VRRP
    /// steers, the arbiter gates. Each arbiter call is bounded by `call_bound`
    /// ([`vip_core::runtime::Timeouts::arbiter`]; a quorum write and a failover to another
    /// member take longer than the address bound of two advert intervals).
    pub fn arbiter(mut self, arbiter: Arc<dyn OwnershipArbiter>, call_bound: Duration) -> Self {
        self.parts.arbiter = Some((arbiter, call_bound));
        self
    }

    /// Tracks `check` with `weight` (keepalived semantics; 0 = fault while failing).
    pub fn check(
        mut self,
        check: Arc<dyn HealthCheck>,
        schedule: CheckSchedule,
        weight: i32,
    ) -> Self {
        self.parts.checks.push(Check {
            check,
            schedule,
            weight,
        });
        self
    }

    /// Reports probes, fences, events and the transport's counters to `observer`.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.parts.observer = observer;
        self
    }

    /// The runtime spec this node runs, with stand-ins for the Linux backends: the embedder's
    /// role probe, fencer and checks (each reporting to the observer), the derived timeouts,
    /// and `local_addr` as the adverts' source. For tests that run the election without
    /// sockets; [`Node::start`] builds the same spec around the real transport and manager.
    pub fn spec(
        &self,
        local_addr: IpAddr,
        addresses: Arc<dyn AddressManager>,
        adverts: Arc<dyn AdvertSink>,
    ) -> InstanceSpec {
        self.parts.spec(local_addr, addresses, adverts)
    }

    /// Starts the instance now and supervises it from then on (a broken socket or watcher
    /// releases the VIPs and rebuilds the instance). Call it inside a tokio runtime with I/O
    /// and time enabled, in the interface's network namespace, with CAP_NET_RAW and
    /// CAP_NET_ADMIN.
    ///
    /// # Errors
    /// [`NodeError::Config`] for a config that breaks a protocol rule, and every error of the
    /// first start (no such interface, no source address, no permission).
    pub async fn start(self) -> Result<NodeHandle, NodeError> {
        self.parts.config.validate()?;
        let sink = self.sink();
        let first = start(&self.parts, &sink).await?;
        Ok(self.supervise(Some(first), sink))
    }

    /// Supervises the instance from now on, starting it in the background: a start that may
    /// succeed later (the interface does not exist yet) is retried every second, as a daemon
    /// wants. [`NodeHandle::last_error`] says why it is not running.
    ///
    /// # Errors
    /// [`NodeError::Config`] for a config that breaks a protocol rule.
    pub fn spawn(self) -> Result<NodeHandle, NodeError> {
        self.parts.config.validate()?;
        let sink = self.sink();
        Ok(self.supervise(None, sink))
    }

    /// Where the instance's events go (the observer and the notify hooks), kept across
    /// restarts.
    fn sink(&self) -> EventSink {
        EventSink::spawn(self.parts.config.clone(), self.parts.observer.clone())
    }

    fn supervise(self, first: Option<crate::build::Started>, sink: EventSink) -> NodeHandle {
        let (tx, rx) = watch::channel(None);
        let last_error: LastError = Arc::new(Mutex::new(None));
        let parts = self.parts.clone();
        parts.observer.node_started(&parts.config);
        let join = tokio::spawn(supervise(self.parts, sink, first, rx, last_error.clone()));
        NodeHandle {
            config: parts.config,
            runtime: parts.runtime,
            observer: parts.observer,
            stop: tx,
            join,
            last_error,
        }
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("config", &self.parts.config)
            .field("role_probe", &self.parts.role.is_some())
            .field("fencer", &self.parts.fencer.is_some())
            .field("checks", &self.parts.checks.len())
            .finish_non_exhaustive()
    }
}

/// A supervised instance. Stop it with [`NodeHandle::stop`]; dropping it leaves the instance
/// running.
pub struct NodeHandle {
    config: Arc<NodeConfig>,
    runtime: Arc<Runtime>,
    observer: Arc<dyn Observer>,
    stop: watch::Sender<Option<StopMode>>,
    join: JoinHandle<()>,
    last_error: LastError,
}

impl fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeHandle")
            .field("instance", &self.config.name)
            .field("running", &self.instance().is_some())
            .finish_non_exhaustive()
    }
}

impl NodeHandle {
    /// The instance's config.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The running election instance (`None` while it cannot start or is being rebuilt).
    pub fn instance(&self) -> Option<InstanceHandle> {
        self.runtime
            .get(&self.config.name)
            .filter(InstanceHandle::is_running)
    }

    /// The instance's status (`None` before its first start).
    pub fn status(&self) -> Option<Status> {
        self.runtime.get(&self.config.name).map(|h| h.status())
    }

    /// Why the instance is not running (a failed start or the last restart), if it is not.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs the role probe now. False when the instance is not running.
    pub fn reprobe(&self) -> bool {
        self.instance().is_some_and(|h| {
            h.reprobe();
            true
        })
    }

    /// Waits until the instance runs its election (for tests and start-up ordering), at most
    /// `timeout`; true when it does.
    pub async fn wait_running(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.instance().is_some() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the instance like [`NodeHandle::stop`] and tells the observer it is gone for
    /// good ([`Observer::node_retired`]), for a daemon whose config no longer has it.
    pub async fn retire(self, mode: Option<StopMode>) {
        let (name, observer) = (self.config.name.clone(), self.observer.clone());
        self.stop(mode).await;
        observer.node_retired(&name);
    }

    /// Stops the instance per `mode` (`None`: the config's `on_stop`) and waits until it
    /// has: with [`StopMode::Release`] its VIPs are removed and a priority-0 advert sent. The
    /// runtime's registry forgets it.
    pub async fn stop(self, mode: Option<StopMode>) {
        let _ = self.stop.send(Some(mode.unwrap_or(self.config.on_stop)));
        if let Err(e) = self.join.await {
            tracing::error!(instance = %self.config.name, "instance supervisor ended abnormally: {e}");
        }
        if self
            .runtime
            .get(&self.config.name)
            .is_some_and(|h| !h.is_running())
        {
            self.runtime.remove(&self.config.name);
        }
    }
}
