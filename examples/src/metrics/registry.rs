//! The metrics registry.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use vip_core::FenceOutcome;
use vip_core::election::{Event, EventKind, Reason, State};
use vip_core::runtime::Runtime;
use vip_vrrp::socket::{StatsSnapshot, TransportStats};

use crate::control::InstanceStatus;

/// Upper bounds (seconds) of the probe-latency histogram buckets.
pub const PROBE_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const STATES: [State; 5] = [
    State::Initialize,
    State::Backup,
    State::Claiming,
    State::Master,
    State::Fault,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if self.buckets.len() != PROBE_BUCKETS.len() {
            self.buckets = vec![0; PROBE_BUCKETS.len()];
        }
        for (b, le) in self.buckets.iter_mut().zip(PROBE_BUCKETS) {
            if secs <= *le {
                *b += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }
}

/// A running instance's transport, whose counters are read when the metrics are rendered
/// (no task copies them on a timer: an idle daemon wakes only for its adverts).
#[derive(Debug)]
struct LiveTransport {
    interface: String,
    stats: Arc<TransportStats>,
}

/// The advert counters: totals of transports that have ended, plus (when rendering) the live
/// ones.
#[derive(Debug, Default, Clone)]
struct AdvertCounters {
    sent: BTreeMap<String, u64>,
    received: BTreeMap<String, u64>,
    drops: BTreeMap<(String, String), u64>,
}

impl AdvertCounters {
    /// Adds a transport's counters to the instance's (and its interface's) totals.
    fn add(&mut self, instance: &str, interface: &str, snapshot: &StatsSnapshot) {
        *self.sent.entry(instance.to_owned()).or_default() += snapshot.sent;
        *self.received.entry(instance.to_owned()).or_default() += snapshot.accepted;
        self.add_drops(interface, snapshot);
    }

    /// Adds the drops of `snapshot` to the interface's totals.
    fn add_drops(&mut self, interface: &str, snapshot: &StatsSnapshot) {
        for (reason, n) in &snapshot.drops {
            *self
                .drops
                .entry((interface.to_owned(), reason.as_str().to_owned()))
                .or_default() += n;
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    state: BTreeMap<String, State>,
    priority: BTreeMap<String, u8>,
    transitions: BTreeMap<(String, &'static str, &'static str), u64>,
    adverts: AdvertCounters,
    live: BTreeMap<String, LiveTransport>,
    /// The receive paths by interface (drops that concern no instance, such as unknown VRIDs).
    paths: BTreeMap<String, Arc<TransportStats>>,
    probes: BTreeMap<(String, String), Histogram>,
    fences: BTreeMap<(String, &'static str), u64>,
    mismatches: BTreeMap<(String, String), u64>,
    alarms: BTreeMap<String, u64>,
    hook_failures: BTreeMap<String, u64>,
}

/// All of vipd's metrics. Cheap to update from any task (one short mutex hold per update).
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    /// The runtime whose `Status`es give the live gauges read when rendering (the time left
    /// to an arbiter's deadline moves with each renewal, which raises no event).
    runtime: Option<Arc<Runtime>>,
    /// The load balancer's state, read when rendering (see [`super::lb`]).
    lb: super::lb::LbMetrics,
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry that also renders the live gauges of `runtime`'s instances.
    pub fn for_runtime(runtime: Arc<Runtime>) -> Self {
        Metrics {
            runtime: Some(runtime),
            ..Self::default()
        }
    }

    /// Reads the virtual servers' series from `source` when rendering (`None`: no series).
    pub fn set_lb(&self, source: Option<crate::lb::LbSource>) {
        self.lb.set(source);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers an instance (state initialize) so that its series exist from the start.
    pub fn add_instance(&self, instance: &str, priority: u8) {
        let mut m = self.lock();
        m.state.insert(instance.to_owned(), State::Initialize);
        m.priority.insert(instance.to_owned(), priority);
        m.adverts.sent.entry(instance.to_owned()).or_default();
        m.adverts.received.entry(instance.to_owned()).or_default();
    }

    /// Drops an instance's series (after a reload removed it).
    pub fn remove_instance(&self, instance: &str) {
        let mut m = self.lock();
        m.state.remove(instance);
        m.priority.remove(instance);
        m.adverts.sent.remove(instance);
        m.adverts.received.remove(instance);
        m.live.remove(instance);
        m.transitions.retain(|k, _| k.0 != instance);
        m.probes.retain(|k, _| k.0 != instance);
        m.fences.retain(|k, _| k.0 != instance);
        m.mismatches.retain(|k, _| k.0 != instance);
        m.alarms.remove(instance);
        m.hook_failures.remove(instance);
    }

    /// Sets an instance's state.
    pub fn set_state(&self, instance: &str, state: State) {
        self.lock().state.insert(instance.to_owned(), state);
    }

    /// Updates from an election event: transitions, state, effective priority, alarms and
    /// VIP-list mismatches with peers.
    pub fn observe_event(&self, instance: &str, event: &Event) {
        let mut m = self.lock();
        match &event.kind {
            EventKind::Transition { from, to } => {
                m.state.insert(instance.to_owned(), *to);
                *m.transitions
                    .entry((instance.to_owned(), from.as_str(), to.as_str()))
                    .or_default() += 1;
            }
            EventKind::PriorityChanged { priority } => {
                m.priority.insert(instance.to_owned(), priority.get());
            }
            EventKind::Alarm => {
                *m.alarms.entry(instance.to_owned()).or_default() += 1;
            }
            _ => {}
        }
        if let Reason::AddressMismatch { peer } = &event.reason {
            *m.mismatches
                .entry((instance.to_owned(), peer.to_string()))
                .or_default() += 1;
        }
    }

    /// Reads the instance's advert and drop counters from `stats` (its running transport on
    /// `interface`) whenever the metrics are rendered, until [`Metrics::detach_transport`]. A
    /// transport already attached for the instance is detached first.
    pub fn attach_transport(&self, instance: &str, interface: &str, stats: Arc<TransportStats>) {
        let mut m = self.lock();
        let live = LiveTransport {
            interface: interface.to_owned(),
            stats,
        };
        if let Some(old) = m.live.insert(instance.to_owned(), live) {
            m.adverts
                .add(instance, &old.interface, &old.stats.snapshot());
        }
    }

    /// Reads the drops of the receive path of `interface` (`Transport::receiver`'s stats:
    /// packets of no instance) when the metrics are rendered. A new path for the interface
    /// (the old one closed with its last transport) replaces the old one, whose final counts
    /// stay in the totals.
    pub fn attach_receive_path(&self, interface: &str, stats: Arc<TransportStats>) {
        let mut m = self.lock();
        if m.paths
            .get(interface)
            .is_some_and(|old| Arc::ptr_eq(old, &stats))
        {
            return;
        }
        if let Some(old) = m.paths.insert(interface.to_owned(), stats) {
            m.adverts.add_drops(interface, &old.snapshot());
        }
    }

    /// Stops reading the instance's transport and keeps its final counts in the totals, so the
    /// counters stay monotonic across transport restarts.
    pub fn detach_transport(&self, instance: &str) {
        let mut m = self.lock();
        if let Some(old) = m.live.remove(instance) {
            m.adverts
                .add(instance, &old.interface, &old.stats.snapshot());
        }
    }

    /// A peer advertised a VIP list different from ours.
    pub fn address_list_mismatch(&self, instance: &str, peer: &str) {
        *self
            .lock()
            .mismatches
            .entry((instance.to_owned(), peer.to_owned()))
            .or_default() += 1;
    }

    /// A probe (`role`, `in_use`, or a check name) took `elapsed`.
    pub fn observe_probe(&self, instance: &str, probe: &str, elapsed: Duration) {
        self.lock()
            .probes
            .entry((instance.to_owned(), probe.to_owned()))
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// A fencing attempt ended.
    pub fn fence_outcome(&self, instance: &str, outcome: &FenceOutcome) {
        let o = if outcome.is_fenced() {
            "fenced"
        } else {
            "failed"
        };
        *self
            .lock()
            .fences
            .entry((instance.to_owned(), o))
            .or_default() += 1;
    }

    /// A notify hook failed or timed out.
    pub fn hook_failed(&self, instance: &str) {
        *self
            .lock()
            .hook_failures
            .entry(instance.to_owned())
            .or_default() += 1;
    }

    /// The text exposition format (version 0.0.4), without the gauges read from `status`
    /// (their families are declared, with no series).
    pub fn render(&self) -> String {
        self.render_with(&[])
    }

    /// The text exposition format (version 0.0.4), with the gauges read from each instance's
    /// `status` row (holding, maintenance, role verdict, checks): they come from the runtime's
    /// `Status` when scraped, so vipd keeps no copy of them.
    pub fn render_with(&self, rows: &[InstanceStatus]) -> String {
        let m = self.lock();
        let mut adverts = m.adverts.clone();
        for (instance, live) in &m.live {
            adverts.add(instance, &live.interface, &live.stats.snapshot());
        }
        for (interface, path) in &m.paths {
            adverts.add_drops(interface, &path.snapshot());
        }
        let mut out = String::new();
        header(
            &mut out,
            "vip_build_info",
            "gauge",
            "Always 1; the labels name the running vipd's version.",
        );
        line(
            &mut out,
            "vip_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1,
        );
        header(
            &mut out,
            "vip_instance_state",
            "gauge",
            "1 for the instance's current state, 0 for the others.",
        );
        for (inst, cur) in &m.state {
            for s in STATES {
                let v = u8::from(*cur == s);
                line(
                    &mut out,
                    "vip_instance_state",
                    &[("vrrp_instance", inst), ("state", s.as_str())],
                    v,
                );
            }
        }
        status_gauges(&mut out, rows);
        header(
            &mut out,
            "vip_effective_priority",
            "gauge",
            "Priority advertised now (base plus tracked-check weights).",
        );
        for (inst, p) in &m.priority {
            line(
                &mut out,
                "vip_effective_priority",
                &[("vrrp_instance", inst)],
                p,
            );
        }
        header(
            &mut out,
            "vip_transitions_total",
            "counter",
            "State transitions, by old and new state.",
        );
        for ((inst, from, to), n) in &m.transitions {
            line(
                &mut out,
                "vip_transitions_total",
                &[("vrrp_instance", inst), ("from", from), ("to", to)],
                n,
            );
        }
        header(
            &mut out,
            "vip_adverts_sent_total",
            "counter",
            "VRRP adverts sent.",
        );
        for (inst, n) in &adverts.sent {
            line(
                &mut out,
                "vip_adverts_sent_total",
                &[("vrrp_instance", inst)],
                n,
            );
        }
        header(
            &mut out,
            "vip_adverts_received_total",
            "counter",
            "Valid VRRP adverts received.",
        );
        for (inst, n) in &adverts.received {
            line(
                &mut out,
                "vip_adverts_received_total",
                &[("vrrp_instance", inst)],
                n,
            );
        }
        header(
            &mut out,
            "vip_adverts_dropped_total",
            "counter",
            "Received packets dropped, by interface and reason.",
        );
        for ((iface, reason), n) in &adverts.drops {
            line(
                &mut out,
                "vip_adverts_dropped_total",
                &[("interface", iface), ("reason", reason)],
                n,
            );
        }
        header(
            &mut out,
            "vip_address_list_mismatch_total",
            "counter",
            "Adverts from a peer whose VIP list differs from ours (keepalived drops these: two masters may result).",
        );
        for ((inst, peer), n) in &m.mismatches {
            line(
                &mut out,
                "vip_address_list_mismatch_total",
                &[("vrrp_instance", inst), ("peer", peer)],
                n,
            );
        }
        header(
            &mut out,
            "vip_fence_total",
            "counter",
            "Fencing attempts, by outcome.",
        );
        for ((inst, o), n) in &m.fences {
            line(
                &mut out,
                "vip_fence_total",
                &[("vrrp_instance", inst), ("outcome", o)],
                n,
            );
        }
        header(
            &mut out,
            "vip_alarms_total",
            "counter",
            "Alarm events (VIP cannot be claimed safely, address errors, peer config disagreement).",
        );
        for (inst, n) in &m.alarms {
            line(&mut out, "vip_alarms_total", &[("vrrp_instance", inst)], n);
        }
        header(
            &mut out,
            "vip_notify_hook_failures_total",
            "counter",
            "Notify hooks that failed or timed out.",
        );
        for (inst, n) in &m.hook_failures {
            line(
                &mut out,
                "vip_notify_hook_failures_total",
                &[("vrrp_instance", inst)],
                n,
            );
        }
        arbiter_deadlines(&mut out, self.runtime.as_deref());
        header(
            &mut out,
            "vip_probe_duration_seconds",
            "histogram",
            "Latency of role probes, in-use probes and tracked checks.",
        );
        for ((inst, probe), h) in &m.probes {
            let labels = [("vrrp_instance", inst.as_str()), ("probe", probe.as_str())];
            for (le, b) in PROBE_BUCKETS.iter().zip(&h.buckets) {
                let le = format!("{le}");
                line(
                    &mut out,
                    "vip_probe_duration_seconds_bucket",
                    &[labels[0], labels[1], ("le", &le)],
                    b,
                );
            }
            line(
                &mut out,
                "vip_probe_duration_seconds_bucket",
                &[labels[0], labels[1], ("le", "+Inf")],
                h.count,
            );
            line(&mut out, "vip_probe_duration_seconds_sum", &labels, h.sum);
            line(
                &mut out,
                "vip_probe_duration_seconds_count",
                &labels,
                h.count,
            );
        }
        drop(m);
        self.lb.render(&mut out);
        out
    }
}

/// `vip_arbiter_deadline_seconds`: per instance that holds an ownership arbiter's grant, the
/// time left until its deadline D (the VIPs are gone by then unless a renewal moves it).
fn arbiter_deadlines(out: &mut String, runtime: Option<&Runtime>) {
    header(
        out,
        "vip_arbiter_deadline_seconds",
        "gauge",
        "Time left until the ownership arbiter's deadline, while the instance holds the grant.",
    );
    let Some(runtime) = runtime else {
        return;
    };
    let now = runtime.clock().now();
    for status in runtime.statuses() {
        if let Some(grant) = status.arbiter {
            let left = grant.time_left(now).as_secs_f64();
            line(
                out,
                "vip_arbiter_deadline_seconds",
                &[("vrrp_instance", &status.name)],
                format!("{left:.3}"),
            );
        }
    }
}

/// The gauges read from the `status` rows.
fn status_gauges(out: &mut String, rows: &[InstanceStatus]) {
    header(
        out,
        "vip_holds_vips",
        "gauge",
        "1 while the instance's VIPs are, or may be, on this node's interfaces.",
    );
    for i in rows {
        let v = u8::from(i.holds_vips);
        line(out, "vip_holds_vips", &[("vrrp_instance", &i.name)], v);
    }
    header(
        out,
        "vip_maintenance",
        "gauge",
        "1 while the instance is in maintenance (vipctl maintenance on): it does not take the VIPs.",
    );
    for i in rows {
        let v = u8::from(i.maintenance);
        line(out, "vip_maintenance", &[("vrrp_instance", &i.name)], v);
    }
    header(
        out,
        "vip_role",
        "gauge",
        "1 for the role probe's last verdict (primary, standby, unknown), 0 for the others; instances with a role probe that has answered.",
    );
    for i in rows {
        let Some(role) = &i.role else {
            continue;
        };
        let current = role.split([' ', '(']).next().unwrap_or_default();
        for r in ROLES {
            let v = u8::from(current == r);
            line(
                out,
                "vip_role",
                &[("vrrp_instance", &i.name), ("role", r)],
                v,
            );
        }
    }
    header(
        out,
        "vip_check_state",
        "gauge",
        "1 for each tracked check's debounced state (passing, failing, unknown before its first result), 0 for the others.",
    );
    for i in rows {
        for c in &i.checks {
            for s in CHECK_STATES {
                let v = u8::from(c.state == s);
                line(
                    out,
                    "vip_check_state",
                    &[("vrrp_instance", &i.name), ("check", &c.name), ("state", s)],
                    v,
                );
            }
        }
    }
}

/// The role verdicts of `vip_role`.
const ROLES: [&str; 3] = ["primary", "standby", "unknown"];

/// The states of `vip_check_state`.
const CHECK_STATES: [&str; 3] = ["passing", "failing", "unknown"];

pub(super) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

pub(super) fn line(
    out: &mut String,
    name: &str,
    labels: &[(&str, &str)],
    value: impl std::fmt::Display,
) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
