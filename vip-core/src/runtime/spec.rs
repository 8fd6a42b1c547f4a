//! [`InstanceSpec`]: everything needed to run one election instance, built up step by step.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use crate::election::{CheckSpec, ElectionConfig, Event};
use crate::{AddressManager, Error, Fencer, OwnershipArbiter, RoleProbe};

use super::{AdvertSink, AdvertSource, CheckSchedule, HealthCheck, SteadyLoop};

/// Bounds on backend calls. A call that takes longer is aborted and reported as a failure, so a
/// hanging backend never stalls the election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Bound on one address operation (add, remove, announce, list, lifetime). Keep it well
    /// below the Master_Down_Interval: adverts queued behind a slow address operation wait
    /// for it.
    pub address: Duration,
    /// Bound on one ownership-arbiter call (acquire, release, revoke). A release runs in the
    /// lane (after the removal, before the priority-0 advert), so that advert may wait for it;
    /// an acquire or revoke that times out counts as the arbiter being unavailable.
    pub arbiter: Duration,
    /// Bound on one fencing attempt; a fence that times out is [`crate::FenceOutcome::Failed`].
    pub fence: Duration,
    /// Bound on sending one advert.
    pub advert: Duration,
    /// Extra time granted to the in-use probe and the role probe on top of the timeout they are
    /// given as an argument, so that a backend answering right at its own bound is not cut off.
    pub probe_grace: Duration,
}

impl Default for Timeouts {
    /// Address 1 s, arbiter 1 s, fence 10 s, advert 500 ms, probe grace 50 ms.
    fn default() -> Self {
        Timeouts {
            address: Duration::from_secs(1),
            arbiter: Duration::from_secs(1),
            fence: Duration::from_secs(10),
            advert: Duration::from_millis(500),
            probe_grace: Duration::from_millis(50),
        }
    }
}

/// How often the role probe runs, and its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleSchedule {
    /// Time between the starts of two probes (a probe never overlaps the previous one).
    pub interval: Duration,
    /// Passed to [`RoleProbe::probe`]; the runtime also cuts the call off at this bound plus
    /// [`Timeouts::probe_grace`] and then reports [`crate::Role::Unknown`].
    pub timeout: Duration,
}

impl Default for RoleSchedule {
    /// Every second, 500 ms timeout.
    fn default() -> Self {
        RoleSchedule {
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
        }
    }
}

/// A tracked check with its schedule.
#[derive(Clone)]
pub(crate) struct TrackedCheck {
    pub(crate) check: Arc<dyn HealthCheck>,
    pub(crate) schedule: CheckSchedule,
}

/// Everything needed to run one election instance: its name, its [`ElectionConfig`] and its
/// backends.
///
/// The builder keeps the config consistent with the backends: [`InstanceSpec::fencer`] sets
/// `config.fencing`, [`InstanceSpec::role_probe`] sets `config.role_gated` and
/// [`InstanceSpec::check`] appends to `config.checks`. Leave those three config fields at their
/// defaults and let the builder fill them; [`super::Runtime::spawn`] rejects a spec whose config
/// and backends disagree.
#[derive(Clone)]
pub struct InstanceSpec {
    pub(crate) name: String,
    pub(crate) config: ElectionConfig,
    pub(crate) seed: Option<u64>,
    pub(crate) addresses: Arc<dyn AddressManager>,
    pub(crate) adverts: Arc<dyn AdvertSink>,
    pub(crate) source: Option<Arc<dyn AdvertSource>>,
    pub(crate) steady: Option<Arc<dyn SteadyLoop>>,
    pub(crate) fencer: Option<Arc<dyn Fencer>>,
    pub(crate) arbiter: Option<Arc<dyn OwnershipArbiter>>,
    pub(crate) role: Option<(Arc<dyn RoleProbe>, RoleSchedule)>,
    pub(crate) checks: Vec<TrackedCheck>,
    pub(crate) timeouts: Timeouts,
    pub(crate) event_capacity: usize,
    pub(crate) event_hook: Option<EventHook>,
    pub(crate) advert_queue: usize,
}

/// Told of every event of an instance as it happens, on the instance's task, in order and
/// before the broadcast's subscribers see it (see [`InstanceSpec::event_hook`]). It must not
/// block.
pub type EventHook = Arc<dyn Fn(&Event) + Send + Sync>;

impl InstanceSpec {
    /// A spec for instance `name` driving `config`, adding and removing VIPs through
    /// `addresses` and sending adverts through `adverts`. No fencer, role probe or checks yet.
    pub fn new(
        name: impl Into<String>,
        config: ElectionConfig,
        addresses: Arc<dyn AddressManager>,
        adverts: Arc<dyn AdvertSink>,
    ) -> Self {
        InstanceSpec {
            name: name.into(),
            config,
            seed: None,
            addresses,
            adverts,
            source: None,
            steady: None,
            fencer: None,
            arbiter: None,
            role: None,
            checks: Vec::new(),
            timeouts: Timeouts::default(),
            event_capacity: 256,
            event_hook: None,
            advert_queue: 256,
        }
    }

    /// Reads received adverts from `source`, polled by the instance task itself (one wake-up
    /// per advert; see [`AdvertSource`]). [`super::InstanceHandle::advert`] keeps working
    /// alongside it.
    pub fn advert_source(mut self, source: Arc<dyn AdvertSource>) -> Self {
        self.source = Some(source);
        self
    }

    /// Keeps idle adverts on the steady loop's thread, run by `steady` (see
    /// [`SteadyLoop`]): the async runtime then sleeps while the pair is idle. Needs an
    /// [`InstanceSpec::advert_source`] (the loop reads the same socket) and a runtime with
    /// [`super::Runtime::kernel_timers`] (it follows the real clock); it is ignored otherwise.
    pub fn steady_loop(mut self, steady: Arc<dyn SteadyLoop>) -> Self {
        self.steady = Some(steady);
        self
    }

    /// Fences through `fencer` (sets `config.fencing`). Each attempt is bounded by
    /// [`Timeouts::fence`].
    pub fn fencer(mut self, fencer: Arc<dyn Fencer>) -> Self {
        self.fencer = Some(fencer);
        self.config.fencing = true;
        self
    }

    /// Gates the VIPs on `arbiter` (sets `config.arbiter`): a claim adds them only under its
    /// grant, a master removes them by the grant's deadline (see
    /// [`crate::OwnershipArbiter`]). Each call is bounded by [`Timeouts::address`].
    pub fn arbiter(mut self, arbiter: Arc<dyn OwnershipArbiter>) -> Self {
        self.arbiter = Some(arbiter);
        self.config.arbiter = true;
        self
    }

    /// Gates eligibility on `probe` (sets `config.role_gated`), polled on `schedule`.
    pub fn role_probe(mut self, probe: Arc<dyn RoleProbe>, schedule: RoleSchedule) -> Self {
        self.role = Some((probe, schedule));
        self.config.role_gated = true;
        self
    }

    /// Tracks `check` with `weight` (keepalived semantics; 0 = fault while failing), run on
    /// `schedule`. Appends a [`CheckSpec`] to `config.checks`; checks are indexed in the order
    /// they are added.
    pub fn check(
        mut self,
        check: Arc<dyn HealthCheck>,
        schedule: CheckSchedule,
        weight: i32,
    ) -> Self {
        self.checks.push(TrackedCheck { check, schedule });
        self.config.checks.push(CheckSpec { weight });
        self
    }

    /// Bounds on backend calls (defaults: [`Timeouts::default`]).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The seed of the machine's pseudo-random choices. By default it is derived from the VRID
    /// and the local address, so that nodes differ and a restarted node repeats itself.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// How many events a slow [`super::InstanceHandle::events`] subscriber may fall behind
    /// before it misses some (default 256).
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity;
        self
    }

    /// Hands every event to `hook` as the instance emits it (see [`EventHook`]): a consumer
    /// that must see every event (notify hooks, metrics) needs no task and no backlog of its
    /// own, and cannot fall behind. The broadcast ([`super::InstanceHandle::events`]) still
    /// carries every event; with a hook its [`InstanceSpec::event_capacity`] can be small.
    pub fn event_hook(mut self, hook: EventHook) -> Self {
        self.event_hook = Some(hook);
        self
    }

    /// How many received adverts may wait for the instance before
    /// [`super::InstanceHandle::advert`] rejects more (default 256).
    pub fn advert_queue(mut self, capacity: usize) -> Self {
        self.advert_queue = capacity;
        self
    }

    /// The instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The election config as it will be run.
    pub fn config(&self) -> &ElectionConfig {
        &self.config
    }

    /// The seed the machine will get.
    pub(crate) fn effective_seed(&self) -> u64 {
        self.seed.unwrap_or_else(|| {
            let mut h = std::hash::DefaultHasher::new();
            self.config.vrid.hash(&mut h);
            self.config.local_addr.hash(&mut h);
            h.finish()
        })
    }

    /// Checks that the spec can run: a name, a VRID, VIPs, and config fields that agree with
    /// the backends.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |key: &str, problem: String| {
            Err(Error::Config {
                key: key.into(),
                problem,
            })
        };
        if self.name.trim().is_empty() {
            return bad("name", "instance name is empty".into());
        }
        let c = &self.config;
        if c.vrid == 0 {
            return bad("vrid", "VRID must be 1..=255".into());
        }
        if c.vips.is_empty() {
            return bad("vips", "at least one VIP is needed".into());
        }
        // The interval each version can carry: a protocol rule stated once, in crate::rules.
        crate::rules::check_advert_interval(c.version, c.advert_interval)?;
        if c.checks.len() != self.checks.len() {
            return bad(
                "checks",
                format!(
                    "config lists {} tracked checks but {} are attached (add checks with \
                     InstanceSpec::check only)",
                    c.checks.len(),
                    self.checks.len()
                ),
            );
        }
        if c.role_gated != self.role.is_some() {
            return bad(
                "role_gated",
                "set it by attaching a role probe (InstanceSpec::role_probe)".into(),
            );
        }
        if c.fencing != self.fencer.is_some() {
            return bad(
                "fencing",
                "set it by attaching a fencer (InstanceSpec::fencer)".into(),
            );
        }
        if c.arbiter != self.arbiter.is_some() {
            return bad(
                "arbiter",
                "set it by attaching an ownership arbiter (InstanceSpec::arbiter)".into(),
            );
        }
        let t = &self.timeouts;
        for (key, d) in [
            ("timeouts.address", t.address),
            ("timeouts.arbiter", t.arbiter),
            ("timeouts.fence", t.fence),
            ("timeouts.advert", t.advert),
        ] {
            if d.is_zero() {
                return bad(key, "must be positive".into());
            }
        }
        if let Some((_, s)) = &self.role
            && (s.interval.is_zero() || s.timeout.is_zero())
        {
            return bad("role_probe", "interval and timeout must be positive".into());
        }
        for (i, tc) in self.checks.iter().enumerate() {
            if tc.schedule.interval.is_zero() || tc.schedule.timeout.is_zero() {
                return bad(
                    &format!("checks[{i}]"),
                    "interval and timeout must be positive".into(),
                );
            }
        }
        if self.event_capacity == 0 || self.advert_queue == 0 {
            return bad(
                "capacity",
                "event and advert queue capacities must be positive".into(),
            );
        }
        Ok(())
    }
}

impl fmt::Debug for InstanceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstanceSpec")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("advert_source", &self.source.is_some())
            .field("steady_loop", &self.steady.is_some())
            .field("fencer", &self.fencer.is_some())
            .field(
                "arbiter",
                &self.arbiter.as_ref().map(|a| a.name().to_owned()),
            )
            .field(
                "role",
                &self.role.as_ref().map(|(p, s)| (p.name().to_owned(), *s)),
            )
            .field(
                "checks",
                &self
                    .checks
                    .iter()
                    .map(|c| c.check.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .field("timeouts", &self.timeouts)
            .field("event_hook", &self.event_hook.is_some())
            .finish_non_exhaustive()
    }
}
