//! The tokio runtime that drives election instances through the backend traits.
//!
//! Each instance is one tokio task owning one [`Election`](crate::election::Election). The task
//! feeds the machine `handle(now, input)` with `now` taken from the runtime's [`Clock`], sleeps
//! until `poll_timeout()`, and carries out the machine's actions through the backends:
//! [`AddressManager`](crate::AddressManager), [`Fencer`](crate::Fencer) and an [`AdvertSink`].
//! Results come back to the machine as inputs.
//!
//! # Never blocking the machine
//!
//! Every backend call runs as its own spawned future under a time bound. A call that hangs is
//! aborted at its bound and reported as a failure:
//!
//! | call | bound | reported as |
//! |------|-------|-------------|
//! | in-use probe | `in_use_probe_timeout` + [`Timeouts::probe_grace`] | `Err(Error::Timeout)` |
//! | fence | [`Timeouts::fence`] | `FenceOutcome::Failed` |
//! | add / remove / announce / list | [`Timeouts::address`] | `Err(Error::Timeout)` |
//! | advert | [`Timeouts::advert`] | logged |
//! | role probe | [`RoleSchedule::timeout`] + [`Timeouts::probe_grace`] | `Role::Unknown` |
//! | tracked check | [`CheckSchedule::timeout`] | a failed run |
//!
//! # Ordering
//!
//! Address operations and adverts of one instance go through one ordered lane: address
//! operations run one at a time in the order the machine emitted them, and an advert is sent
//! only after the address operations emitted before it have finished or timed out. On release
//! (`RemoveVips`, then `SendAdvert(0)`), backups therefore hear priority 0 only once the VIPs
//! are gone. Address operations never wait for adverts. In-use probes and fences run
//! concurrently. See `lane.rs` for the details.
//!
//! # Start and stop
//!
//! On start an instance first removes its own stale VIPs (those of its VIPs that
//! [`AddressManager::list`](crate::AddressManager::list) reports: a restarted daemon is not
//! master yet), runs its tracked checks once, and then starts the election. The role probe runs
//! right after the start, then on its schedule. [`InstanceHandle::stop`] feeds `Stop`, waits
//! until the lane is empty (VIPs removed, priority-0 advert sent) and returns the final status.
//!
//! # Wiring it into a daemon
//!
//! - **Build**: one [`InstanceSpec`] per VRID and interface:
//!   `InstanceSpec::new(name, config, addresses, advert_sink)`, then optionally
//!   [`.fencer(..)`](InstanceSpec::fencer), [`.role_probe(..)`](InstanceSpec::role_probe),
//!   [`.check(..)`](InstanceSpec::check) per tracked check, and
//!   [`.timeouts(..)`](InstanceSpec::timeouts). [`Runtime::spawn`] validates it and returns an
//!   [`InstanceHandle`].
//! - **VRRP receive** (vip-vrrp glue): give the spec an [`AdvertSource`]
//!   ([`.advert_source(..)`](InstanceSpec::advert_source)) that decodes and validates what its
//!   socket reads; the instance task polls it directly (one wake-up per advert). Or, from a
//!   receive task of your own, call [`InstanceHandle::advert`]: it never waits; count
//!   [`HandleError::Busy`] as dropped.
//! - **VRRP send**: implement [`AdvertSink`] over the transport for that interface and VRID.
//! - **Netlink watcher**: [`InstanceHandle::link`] on carrier/admin changes of the instance's
//!   interface, [`InstanceHandle::vip_removed`] when one of its VIPs disappears without the
//!   runtime having removed it.
//! - **Control (vipctl)**: [`InstanceHandle::status`] / [`Runtime::statuses`] for `status`,
//!   [`InstanceHandle::reprobe`] on repmgr events.
//! - **Notify hooks, metrics, logs**: an [`EventHook`] ([`InstanceSpec::event_hook`]: called
//!   on the instance's task with every event as it is emitted, so it needs no task or backlog
//!   and never falls behind), or the receiver from [`Runtime::spawn_with_events`] or
//!   [`InstanceHandle::events`] (a broadcast of every transition, alarm and priority change,
//!   with its reason); [`InstanceHandle::watch_status`]
//!   to react to status changes. The runtime itself logs through `tracing` under a `vip` span
//!   with `instance` and `vrid` fields: transitions at info, alarms at warn/error.
//! - **Shutdown**: [`Runtime::shutdown`]`(StopMode::Release)` on SIGTERM.
//! - **Idle cost** (a master wakes once per advert interval, so a wake-up's cost is its idle
//!   CPU): build the daemon's runtime with [`Runtime::kernel_timers`]`(true)` (a timerfd per
//!   instance: one wake-up per deadline, tokio's wheel takes two plus an eventfd write), and
//!   run it on a current-thread tokio runtime (`Builder::new_current_thread().enable_all()`):
//!   nothing in the steady state needs a second thread, and every extra worker adds a thread
//!   (and a malloc arena) and cross-thread wake-ups. Backend calls stay bounded there too; only
//!   truly blocking work needs `spawn_blocking`. Give the spec an [`AdvertSource`] (a backup
//!   then wakes once per advert, not twice) and implement [`AdvertSink::try_send_advert`] (a
//!   master's repeated advert then goes out without a boxed future), and keep other periodic
//!   work (metrics, say) off timers: read counters when asked. Finally give it a
//!   [`SteadyLoop`] ([`InstanceSpec::steady_loop`]): an idle master's adverts and an idle
//!   backup's receptions then run under short leases on the loop's thread (the transport's:
//!   one per receive path, for every instance on it), in a plain wait-send or wait-read loop,
//!   and the async runtime sleeps until something needs the machine (see [`steady`] for the
//!   protocol and why the machine stays in charge).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use async_trait::async_trait;
//! use vip_core::election::{Advert, ElectionConfig, StopMode};
//! use vip_core::runtime::{AdvertSink, InstanceSpec, Runtime};
//! use vip_core::{AddressManager, Error, InUse, Interval, PeerId, Priority, Vip};
//!
//! // Stand-ins for vip-netlink's AddressManager and vip-vrrp's transport.
//! struct Addresses;
//! #[async_trait]
//! impl AddressManager for Addresses {
//!     async fn add(&self, _: &[Vip]) -> Result<(), Error> { Ok(()) }
//!     async fn remove(&self, _: &[Vip]) -> Result<(), Error> { Ok(()) }
//!     async fn list(&self, _: &str) -> Result<Vec<Vip>, Error> { Ok(vec![]) }
//!     async fn announce(&self, _: &[Vip]) -> Result<(), Error> { Ok(()) }
//!     async fn probe_in_use(&self, _: &[Vip], _: Duration) -> Result<InUse, Error> {
//!         Ok(InUse::Free)
//!     }
//! }
//! struct Transport;
//! #[async_trait]
//! impl AdvertSink for Transport {
//!     async fn send_advert(&self, _: Priority) -> Result<(), Error> { Ok(()) }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! let vip = Vip::host("198.51.100.10".parse().unwrap(), "eth0");
//! let config = ElectionConfig::new(51, "198.51.100.1".parse().unwrap(), vec![vip]);
//! let runtime = Runtime::new();
//! let handle = runtime
//!     .spawn(InstanceSpec::new("pg", config, Arc::new(Addresses), Arc::new(Transport)))
//!     .unwrap();
//! let mut events = handle.events();
//!
//! // The transport glue passes received adverts in; the netlink watcher passes link events.
//! handle.advert(Advert {
//!     from: PeerId("198.51.100.2".parse().unwrap()),
//!     priority: Priority::new(200),
//!     max_advert_interval: Interval::DEFAULT_ADVERT,
//!     address_mismatch: false,
//! }).unwrap();
//! handle.link(true).unwrap();
//!
//! // Status snapshots and events come out.
//! tokio::time::sleep(Duration::from_millis(10)).await;
//! println!("{:?} {:?}", handle.status().state, events.try_recv());
//! let last = handle.stop(StopMode::Release).await;
//! assert!(!last.holds_vips);
//! # });
//! ```

mod call;
mod check;
mod check_task;
mod clock;
mod debounce;
mod handle;
mod instance;
mod lane;
mod message;
mod reconcile;
mod role_task;
mod sink;
mod source;
mod spec;
mod status;
pub mod steady;
mod timer;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::broadcast;

use crate::Error;
use crate::election::{Event, StopMode};

pub use check::{CheckSchedule, HealthCheck};
pub use clock::Clock;
pub use debounce::Debouncer;
pub use handle::{HandleError, InstanceHandle};
pub use sink::AdvertSink;
pub use source::AdvertSource;
pub use spec::{EventHook, InstanceSpec, RoleSchedule, Timeouts};
pub use status::{Phase, Status, Transition};
pub use steady::SteadyLoop;

#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use check::MockHealthCheck;
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use sink::MockAdvertSink;

/// Runs election instances, each as its own tokio task, on a shared [`Clock`].
///
/// Create it inside a tokio runtime (any flavour; the `time` driver must be enabled), then
/// [`spawn`](Runtime::spawn) one [`InstanceSpec`] per VRID/interface. The runtime keeps a handle
/// to each instance, so instances live until stopped; [`shutdown`](Runtime::shutdown) stops
/// them all.
#[derive(Debug)]
pub struct Runtime {
    clock: Clock,
    kernel_timers: bool,
    instances: Mutex<BTreeMap<String, InstanceHandle>>,
    /// Names of the instances in maintenance (an operator's request that outlives restarts of
    /// the instance; each instance's [`Status::maintenance`] says what it does).
    maintenance: Mutex<BTreeSet<String>>,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl Runtime {
    /// A runtime with no instances; its clock starts now.
    pub fn new() -> Self {
        Runtime {
            clock: Clock::start(),
            kernel_timers: false,
            instances: Mutex::new(BTreeMap::new()),
            maintenance: Mutex::new(BTreeSet::new()),
        }
    }

    /// Instances spawned from now on wait for their deadlines on a Linux timerfd each instead
    /// of tokio's timer wheel: one wake-up per deadline, as keepalived does (the wheel wakes
    /// twice for most deadlines over 64 ms away, and re-arming a fired timer also wakes its
    /// driver). This roughly halves the idle CPU of a master advertising every 10 cs. Use it in
    /// daemons; not in tests with paused tokio time (a timerfd follows the real clock). It needs
    /// the tokio runtime's I/O driver; without a timerfd an instance falls back to tokio's timer.
    pub fn kernel_timers(mut self, on: bool) -> Self {
        self.kernel_timers = on;
        self
    }

    /// The clock shared by all instances.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Validates `spec` and starts its instance on the current tokio runtime.
    ///
    /// Errors: an invalid spec ([`InstanceSpec::validate`]), a name already used by a running
    /// instance, or no tokio runtime to spawn on.
    pub fn spawn(&self, spec: InstanceSpec) -> Result<InstanceHandle, Error> {
        self.spawn_with_events(spec).map(|(handle, _)| handle)
    }

    /// Like [`Runtime::spawn`], and also returns an event receiver subscribed before the
    /// instance started, so that it sees every event including the first transitions. (A
    /// receiver from [`InstanceHandle::events`] sees events from the moment it subscribes; on
    /// a multi-threaded runtime the instance may already have started by then.) Use it for
    /// notify hooks and metrics.
    pub fn spawn_with_events(
        &self,
        spec: InstanceSpec,
    ) -> Result<(InstanceHandle, broadcast::Receiver<Event>), Error> {
        spec.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Other {
                operation: "spawn instance".into(),
                message: "not called inside a tokio runtime".into(),
                transient: false,
            });
        }
        let mut instances = self.lock();
        if instances
            .get(spec.name())
            .is_some_and(InstanceHandle::is_running)
        {
            return Err(Error::Config {
                key: "name".into(),
                problem: format!("an instance named {:?} is already running", spec.name()),
            });
        }
        let name = spec.name().to_owned();
        let maintenance = self.in_maintenance(&name);
        let (handle, events) = instance::spawn(spec, self.clock, self.kernel_timers, maintenance);
        instances.insert(name, handle.clone());
        Ok((handle, events))
    }

    /// Puts the instance named `name` in maintenance or takes it out: the running instance (if
    /// any) is told now, and every later spawn of that name starts in it, so it survives the
    /// instance's restarts. Returns whether it was on before.
    pub fn set_maintenance(&self, name: &str, on: bool) -> bool {
        let was = {
            let mut set = self
                .maintenance
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if on {
                !set.insert(name.to_owned())
            } else {
                set.remove(name)
            }
        };
        if let Some(h) = self.get(name) {
            let _ = h.maintenance(on);
        }
        was
    }

    /// Whether the instance named `name` is to be in maintenance.
    pub fn in_maintenance(&self, name: &str) -> bool {
        self.maintenance
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(name)
    }

    /// The handle of the instance named `name`.
    pub fn get(&self, name: &str) -> Option<InstanceHandle> {
        self.lock().get(name).cloned()
    }

    /// Forgets the instance named `name` (after it stopped, when a daemon drops it from its
    /// config) and returns its handle. A running instance keeps running; stop it first.
    pub fn remove(&self, name: &str) -> Option<InstanceHandle> {
        self.lock().remove(name)
    }

    /// Handles of all instances, by name.
    pub fn handles(&self) -> Vec<InstanceHandle> {
        self.lock().values().cloned().collect()
    }

    /// Status snapshots of all instances, by name.
    pub fn statuses(&self) -> Vec<Status> {
        self.lock().values().map(InstanceHandle::status).collect()
    }

    /// Stops every instance (concurrently) and waits for all of them; returns their final
    /// statuses, by name. The runtime forgets them.
    pub async fn shutdown(&self, mode: StopMode) -> Vec<Status> {
        let handles: Vec<InstanceHandle> =
            std::mem::take(&mut *self.lock()).into_values().collect();
        for h in &handles {
            // Ask all first, so that they release concurrently.
            let _ = h.command(handle::Command::Stop(mode));
        }
        let mut statuses = Vec::with_capacity(handles.len());
        for h in &handles {
            statuses.push(h.stopped().await);
        }
        statuses
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, InstanceHandle>> {
        self.instances
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
