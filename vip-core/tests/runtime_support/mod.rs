//! Test doubles for the runtime tests: recording and hanging backends, in virtual time.
//!
//! mockall mocks answer at once (their async methods cannot wait), so the doubles that must
//! hang or take time are written by hand here; the tests use the `mock` feature's mocks where
//! an instant answer is all they need.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;
use vip_core::election::{Advert, ElectionConfig, Event, EventKind, State};
use vip_core::runtime::{AdvertSink, Clock, HealthCheck, InstanceHandle, Status};
use vip_core::{
    AddressManager, Error, FenceOutcome, FenceRequest, Fencer, InUse, Interval, PeerId, Priority,
    Role, RoleProbe, RoleReport, Timestamp, Vip,
};

/// A shared, time-stamped record of backend calls.
#[derive(Clone)]
pub struct Log {
    clock: Clock,
    entries: Arc<Mutex<Vec<(Timestamp, String)>>>,
}

impl Log {
    pub fn new(clock: Clock) -> Self {
        Log {
            clock,
            entries: Arc::default(),
        }
    }

    pub fn push(&self, what: impl Into<String>) {
        self.entries
            .lock()
            .unwrap()
            .push((self.clock.now(), what.into()));
    }

    pub fn entries(&self) -> Vec<(Timestamp, String)> {
        self.entries.lock().unwrap().clone()
    }

    pub fn names(&self) -> Vec<String> {
        self.entries().into_iter().map(|(_, s)| s).collect()
    }

    /// Time of the first entry equal to `what`.
    pub fn when(&self, what: &str) -> Option<Timestamp> {
        self.entries()
            .into_iter()
            .find(|(_, s)| s == what)
            .map(|(t, _)| t)
    }

    /// Index of the first entry equal to `what`.
    pub fn index(&self, what: &str) -> Option<usize> {
        self.names().iter().position(|s| s == what)
    }

    pub fn count(&self, what: &str) -> usize {
        self.names().iter().filter(|s| *s == what).count()
    }
}

/// How the fake in-use probe answers.
#[derive(Clone, Debug)]
pub enum ProbeMode {
    Free,
    Held,
    Hang,
    /// Waits out its whole timeout, then says Free (a real probe nobody answers).
    FreeAfterWait,
}

/// An AddressManager that records every call, with configurable delays and probe answers.
pub struct FakeAddresses {
    pub log: Log,
    pub remove_delay: Duration,
    /// How many of the next removals fail with a timeout (leaving the VIPs in place).
    pub remove_failures: AtomicUsize,
    pub probe: Mutex<ProbeMode>,
    pub listed: Vec<Vip>,
    /// The timeout of every probe, in order.
    pub probe_waits: Mutex<Vec<Duration>>,
}

impl FakeAddresses {
    pub fn new(log: Log) -> Self {
        FakeAddresses {
            log,
            remove_delay: Duration::ZERO,
            remove_failures: AtomicUsize::new(0),
            probe: Mutex::new(ProbeMode::Free),
            listed: Vec::new(),
            probe_waits: Mutex::new(Vec::new()),
        }
    }

    pub fn probe_mode(self, mode: ProbeMode) -> Self {
        *self.probe.lock().unwrap() = mode;
        self
    }
}

#[async_trait]
impl AddressManager for FakeAddresses {
    async fn add(&self, _vips: &[Vip]) -> Result<(), Error> {
        self.log.push("add");
        Ok(())
    }

    async fn remove(&self, _vips: &[Vip]) -> Result<(), Error> {
        let failing = self
            .remove_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            self.log.push("remove failed");
            return Err(Error::timeout("remove", Duration::from_millis(200)));
        }
        self.log.push("remove start");
        tokio::time::sleep(self.remove_delay).await;
        self.log.push("remove done");
        Ok(())
    }

    async fn list(&self, interface: &str) -> Result<Vec<Vip>, Error> {
        self.log.push("list");
        Ok(self
            .listed
            .iter()
            .filter(|v| v.interface == interface)
            .cloned()
            .collect())
    }

    async fn announce(&self, _vips: &[Vip]) -> Result<(), Error> {
        self.log.push("announce");
        Ok(())
    }

    async fn probe_in_use(&self, vips: &[Vip], timeout: Duration) -> Result<InUse, Error> {
        self.log.push("probe");
        self.probe_waits.lock().unwrap().push(timeout);
        let mode = self.probe.lock().unwrap().clone();
        match mode {
            ProbeMode::Free => Ok(InUse::Free),
            ProbeMode::Held => Ok(InUse::Held {
                vip: vips[0].clone(),
                holder: Some([2, 0, 0, 0, 0, 1]),
            }),
            ProbeMode::Hang => std::future::pending().await,
            ProbeMode::FreeAfterWait => {
                tokio::time::sleep(timeout).await;
                Ok(InUse::Free)
            }
        }
    }

    /// Records `lifetime` (a positive one: the runtime sets the VIPs' lifetime to the time
    /// left before a grant's deadline).
    async fn set_valid_lifetime(
        &self,
        _vips: &[Vip],
        valid: Option<Duration>,
    ) -> Result<(), Error> {
        self.log.push("lifetime");
        assert!(valid.is_some_and(|v| !v.is_zero()), "{valid:?}");
        Ok(())
    }
}

/// An AdvertSink that records `advert N`.
pub struct FakeSink {
    pub log: Log,
}

#[async_trait]
impl AdvertSink for FakeSink {
    async fn send_advert(&self, priority: Priority) -> Result<(), Error> {
        self.log.push(format!("advert {priority}"));
        Ok(())
    }
}

/// A Fencer that records the call and never answers.
pub struct HangingFencer {
    pub log: Log,
}

#[async_trait]
impl Fencer for HangingFencer {
    async fn fence(&self, _request: &FenceRequest) -> FenceOutcome {
        self.log.push("fence");
        std::future::pending().await
    }
}

/// One step of a scripted role probe.
#[derive(Clone, Debug)]
pub enum RoleStep {
    Answer(Role),
    Hang,
}

/// A RoleProbe that follows a script (the last step repeats) and counts its calls.
pub struct ScriptedRole {
    pub log: Log,
    pub calls: AtomicUsize,
    pub script: Mutex<VecDeque<RoleStep>>,
    pub last: Mutex<RoleStep>,
}

impl ScriptedRole {
    pub fn new(log: Log, script: Vec<RoleStep>) -> Self {
        let last = script
            .last()
            .cloned()
            .unwrap_or(RoleStep::Answer(Role::Primary));
        ScriptedRole {
            log,
            calls: AtomicUsize::new(0),
            script: Mutex::new(script.into()),
            last: Mutex::new(last),
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl RoleProbe for ScriptedRole {
    async fn probe(&self, _timeout: Duration) -> RoleReport {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.log.push("role probe");
        let step = self.script.lock().unwrap().pop_front();
        let step = step.unwrap_or_else(|| self.last.lock().unwrap().clone());
        match step {
            RoleStep::Answer(role) => RoleReport::from_role(role),
            RoleStep::Hang => std::future::pending().await,
        }
    }

    fn name(&self) -> &str {
        "scripted"
    }
}

/// A HealthCheck that follows a script of results (`None` = hang); the last step repeats.
pub struct ScriptedCheck {
    pub log: Log,
    pub script: Mutex<VecDeque<Option<bool>>>,
    pub last: Option<bool>,
}

impl ScriptedCheck {
    pub fn new(log: Log, script: Vec<Option<bool>>) -> Self {
        let last = script.last().copied().flatten();
        ScriptedCheck {
            log,
            script: Mutex::new(script.into()),
            last,
        }
    }
}

#[async_trait]
impl HealthCheck for ScriptedCheck {
    async fn check(&self) -> Result<(), Error> {
        let step = self.script.lock().unwrap().pop_front().unwrap_or(self.last);
        self.log.push(format!("check {step:?}"));
        match step {
            Some(true) => Ok(()),
            Some(false) => Err(Error::Other {
                operation: "check".into(),
                message: "no".into(),
                transient: true,
            }),
            None => std::future::pending().await,
        }
    }

    fn name(&self) -> &str {
        "scripted"
    }
}

/// An advert from `from` at `priority`, every 10 cs, with our VIP list.
pub fn advert(from: &str, priority: u8) -> Advert {
    Advert {
        from: PeerId(addr(from)),
        priority: Priority::new(priority),
        max_advert_interval: Interval::from_centis(10),
        address_mismatch: false,
    }
}

pub fn addr(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn vip(s: &str, interface: &str) -> Vip {
    Vip::host(addr(s), interface)
}

/// A fast config: 100 ms adverts, so Master_Down_Interval is 360 ms at priority 100.
pub fn fast_config(vrid: u8, local: &str, vips: Vec<Vip>) -> ElectionConfig {
    let mut c = ElectionConfig::new(vrid, addr(local), vips);
    c.advert_interval = Interval::from_centis(10);
    c
}

/// Waits (in virtual time, at most `limit`) until `pred` holds for the status.
pub async fn wait_status(
    handle: &InstanceHandle,
    limit: Duration,
    pred: impl FnMut(&Status) -> bool,
) -> Status {
    let mut rx: watch::Receiver<Status> = handle.watch_status();
    let got = tokio::time::timeout(limit, rx.wait_for(pred)).await;
    match got {
        Ok(Ok(s)) => s.clone(),
        _ => panic!(
            "status condition not met within {limit:?}; last: {:#?}",
            handle.status()
        ),
    }
}

/// Collects every event still buffered in `rx`.
pub fn drain(rx: &mut tokio::sync::broadcast::Receiver<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}

/// The transitions among `events`, as (from, to).
pub fn transitions(events: &[Event]) -> Vec<(State, State)> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Transition { from, to } => Some((from, to)),
            _ => None,
        })
        .collect()
}

/// An AdvertSink that records `advert N` and then never returns.
pub struct HangingSink {
    pub log: Log,
}

#[async_trait]
impl AdvertSink for HangingSink {
    async fn send_advert(&self, priority: Priority) -> Result<(), Error> {
        self.log.push(format!("advert {priority}"));
        std::future::pending().await
    }
}
