//! The driver: turns the machines' actions into events on a virtual LAN.

use std::time::Duration;

use crate::election::{Action, AddressOp, Advert, CheckStatus, Election, EventKind, Input, State};
use crate::{FenceOutcome, FenceRequest, InUse, PeerId, Priority, Role, Timestamp, Vip};

use super::node::{Client, Daemon, Node};
use super::queue::{Ev, Queue};
use crate::lane::{LaneOp, LaneStep};
use crate::reconcile::{RECONCILE_RETRIES, retry_wait};

mod arbiter;
use super::rng::SimRng;
use super::{Fault, FenceKind, Oracle, SimConfig, TimedFault};

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// More events than the budget allows: a machine keeps asking to be called at once.
    EventBudget {
        /// When the budget ran out.
        at: Timestamp,
    },
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::EventBudget { at } => {
                write!(
                    f,
                    "event budget exhausted at {at} (a machine loops without time passing?)"
                )
            }
        }
    }
}

/// Counters over a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Events processed.
    pub events: u64,
    /// Fences requested.
    pub fences: u64,
    /// Fences that powered a node off.
    pub fenced: u64,
    /// Alarm events raised by the machines.
    pub alarms: u64,
    /// Adverts sent.
    pub adverts: u64,
}

/// A deterministic multi-node simulation. See the module docs.
#[derive(Debug)]
pub struct Sim {
    cfg: SimConfig,
    now: Timestamp,
    queue: Queue,
    rng: SimRng,
    nodes: Vec<Node>,
    groups: Vec<u8>,
    loss: Vec<Vec<u8>>,
    extra_delay: Duration,
    extra_jitter: Duration,
    fencer_works: bool,
    oracle: Oracle,
    trace: Vec<String>,
    last_disturbance: Timestamp,
    stats: SimStats,
    event_budget: u64,
    service: arbiter::Service,
}

impl Sim {
    /// A cluster of `cfg.nodes`, all booting at time zero.
    pub fn new(cfg: SimConfig) -> Self {
        let n = cfg.nodes.len();
        let mut rng = SimRng::new(cfg.seed);
        let nodes: Vec<Node> = cfg
            .nodes
            .iter()
            .map(|spec| Node::new(spec.clone(), rng.next_u64()))
            .collect();
        let oracle = Oracle::new(
            cfg.nodes.iter().map(|s| s.role.clone()).collect(),
            cfg.nodes.iter().map(|s| s.election.role_gated).collect(),
        );
        let mut queue = Queue::default();
        let spread = u64::try_from(cfg.boot_spread.as_micros()).unwrap_or(u64::MAX);
        for node in 0..n {
            let at = Timestamp::from_micros(rng.upto(spread));
            queue.push(at, Ev::Boot { node, boot: 0 });
        }
        Sim {
            cfg,
            now: Timestamp::ZERO,
            queue,
            rng,
            nodes,
            groups: vec![0; n],
            loss: vec![vec![0; n]; n],
            extra_delay: Duration::ZERO,
            extra_jitter: Duration::ZERO,
            fencer_works: true,
            oracle,
            trace: Vec::new(),
            last_disturbance: Timestamp::ZERO,
            stats: SimStats::default(),
            event_budget: 5_000_000,
            service: arbiter::Service::new(n),
        }
    }

    /// Schedules faults (in addition to any already scheduled).
    pub fn schedule(&mut self, faults: &[TimedFault]) {
        for tf in faults {
            self.queue.push(tf.at, Ev::Fault(tf.fault.clone()));
        }
    }

    /// Caps the number of events one run may process (default 5 million).
    pub fn set_event_budget(&mut self, budget: u64) {
        self.event_budget = budget;
    }

    /// Runs every event up to and including `until`, then sets the clock to `until`.
    pub fn run_until(&mut self, until: Timestamp) -> Result<(), SimError> {
        while let Some((at, ev)) = self.queue.pop_until(until) {
            self.now = self.now.max(at);
            self.stats.events += 1;
            if self.stats.events > self.event_budget {
                return Err(SimError::EventBudget { at: self.now });
            }
            self.dispatch(ev);
        }
        self.now = self.now.max(until);
        Ok(())
    }

    /// Runs until `quiet` has passed since the last disturbance (a fault, or a fenced node
    /// booting again), but not beyond `limit`. Returns true if it got that quiet time.
    pub fn run_until_quiet(&mut self, quiet: Duration, limit: Timestamp) -> Result<bool, SimError> {
        loop {
            let target = (self.last_disturbance + quiet).min(limit);
            self.run_until(target)?;
            if self.last_disturbance + quiet <= self.now {
                return Ok(true);
            }
            if self.now >= limit {
                return Ok(false);
            }
        }
    }

    /// Closes the oracle's open intervals at the current time.
    pub fn finish(&mut self) {
        self.oracle.finish(self.now);
    }

    /// The current virtual time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The oracle.
    pub fn oracle(&self) -> &Oracle {
        &self.oracle
    }

    /// The readable trace (empty unless `SimConfig::trace`).
    pub fn trace(&self) -> &[String] {
        &self.trace
    }

    /// Counters.
    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    /// The last fault, or the last boot of a fenced node, whichever is later.
    pub fn last_disturbance(&self) -> Timestamp {
        self.last_disturbance
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True with no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `node`'s election state.
    pub fn state(&self, node: usize) -> Option<State> {
        self.nodes.get(node).map(|n| n.election.state())
    }

    /// Node `node`'s daemon state.
    pub fn daemon(&self, node: usize) -> Option<Daemon> {
        self.nodes.get(node).map(|n| n.daemon)
    }

    /// Node `node`'s real effective priority: base plus the weights of its checks' real status.
    pub fn true_priority(&self, node: usize) -> Option<Priority> {
        let n = self.nodes.get(node)?;
        let weight: i32 = n
            .spec
            .election
            .checks
            .iter()
            .zip(&n.checks)
            .map(|(spec, status)| match status {
                CheckStatus::Passing if spec.weight > 0 => spec.weight,
                CheckStatus::Failing if spec.weight < 0 => spec.weight,
                _ => 0,
            })
            .sum();
        Some(n.spec.election.priority.with_weight(weight))
    }

    /// Whether node `node` really may hold the VIP: daemon running, link up, no weight-0 check
    /// failing, and (when role-gated) a primary database.
    pub fn truly_eligible(&self, node: usize) -> bool {
        let Some(n) = self.nodes.get(node) else {
            return false;
        };
        let check_fault = n
            .spec
            .election
            .checks
            .iter()
            .zip(&n.checks)
            .any(|(spec, status)| spec.weight == 0 && *status == CheckStatus::Failing);
        n.daemon == Daemon::Running
            && n.link_up
            && !check_fault
            && (!n.spec.election.role_gated || n.role.is_primary())
    }

    /// The node that should hold the VIP with preempt on: the eligible node with the highest
    /// real effective priority, ties to the highest address.
    pub fn expected_holder(&self) -> Option<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.truly_eligible(i))
            .max_by_key(|&i| {
                (
                    self.true_priority(i),
                    self.nodes[i].spec.election.local_addr,
                )
            })
    }

    fn log(&mut self, node: Option<usize>, msg: impl FnOnce() -> String) {
        if self.cfg.trace {
            let who = node.map(|n| format!("n{n}")).unwrap_or_else(|| "--".into());
            self.trace
                .push(format!("{:>12} {who} {}", self.now.to_string(), msg()));
        }
    }

    fn delay(&mut self) -> Duration {
        let jitter = self.cfg.net_jitter + self.extra_jitter;
        let j = self
            .rng
            .upto(u64::try_from(jitter.as_micros()).unwrap_or(u64::MAX));
        self.cfg.net_delay + self.extra_delay + Duration::from_micros(j)
    }

    fn loss_pct(&self, from: usize, to: usize) -> u8 {
        self.loss
            .get(from)
            .and_then(|r| r.get(to))
            .copied()
            .unwrap_or(0)
    }

    fn reachable(&self, a: usize, b: usize) -> bool {
        match (self.nodes.get(a), self.nodes.get(b)) {
            (Some(x), Some(y)) => {
                x.powered()
                    && y.powered()
                    && x.link_up
                    && y.link_up
                    && self.groups.get(a) == self.groups.get(b)
            }
            _ => false,
        }
    }

    fn update_holding(&mut self, node: usize) {
        if let Some(n) = self.nodes.get(node) {
            let holds = n.holds();
            self.oracle.set_holding(self.now, node, holds);
        }
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::Fault(f) => self.apply_fault(f),
            Ev::Boot { node, boot } => {
                if self.nodes.get(node).is_some_and(|n| n.boot_epoch == boot) {
                    if boot > 0 {
                        self.last_disturbance = self.last_disturbance.max(self.now);
                    }
                    self.log(Some(node), || "host boots".into());
                    self.start_daemon(node);
                }
            }
            Ev::Kernel {
                node,
                boot,
                epoch,
                op,
                vips,
                lifetime,
            } => self.kernel_op(node, boot, epoch, op, vips, lifetime),
            Ev::Probe {
                node,
                epoch,
                id,
                vips,
                started,
                timeout,
            } => self.probe_arrives(node, epoch, id, vips, started, timeout),
            Ev::FenceDone {
                node,
                epoch,
                id,
                request,
            } => self.fence_done(node, epoch, id, request),
            Ev::Packet { from, to, .. } if !self.reachable(from, to) => {}
            ev @ (Ev::Packet { .. }
            | Ev::Deliver { .. }
            | Ev::RoleTick { .. }
            | Ev::LaneNext { .. }
            | Ev::ArbReply { .. }
            | Ev::ArbTimeout { .. }
            | Ev::ArbRenew { .. }) => self.deliver_to_daemon(ev),
            Ev::ArbRequest { node, req } => self.serve(node, req),
            Ev::Expire { node, boot, at } => self.expire(node, boot, at),
            Ev::Reconcile {
                node,
                epoch,
                attempt,
            } => self.reconcile(node, epoch, attempt),
            Ev::Timer { node, generation } => self.timer(node, generation),
        }
    }

    /// Daemon-bound events: run now, wait while paused, vanish if the daemon is gone.
    fn deliver_to_daemon(&mut self, ev: Ev) {
        let (node, epoch) = match &ev {
            Ev::Packet { to, .. } => (*to, None),
            Ev::Deliver { node, epoch, .. }
            | Ev::RoleTick { node, epoch }
            | Ev::LaneNext { node, epoch, .. }
            | Ev::ArbReply { node, epoch, .. }
            | Ev::ArbTimeout { node, epoch, .. }
            | Ev::ArbRenew { node, epoch, .. } => (*node, Some(*epoch)),
            _ => return,
        };
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        if epoch.is_some_and(|e| e != n.daemon_epoch) {
            return;
        }
        match n.daemon {
            Daemon::Running => {}
            Daemon::Paused => {
                n.deferred.push(ev);
                return;
            }
            Daemon::Crashed | Daemon::Halted => return,
        }
        match ev {
            Ev::Packet { advert, .. } => self.feed(node, Input::Advert(advert)),
            Ev::Deliver { input, .. } => {
                if self.cfg.trace && !matches!(input, Input::Role(_)) {
                    let text = format!("gets {input:?}");
                    self.log(Some(node), || text);
                }
                self.feed(node, input)
            }
            Ev::RoleTick { node, epoch } => {
                let role = self
                    .nodes
                    .get(node)
                    .map(|n| n.role.clone())
                    .unwrap_or(Role::Standby);
                let at = self.now + self.cfg.role_probe_latency;
                self.queue.push(
                    at,
                    Ev::Deliver {
                        node,
                        epoch,
                        input: Input::Role(role),
                    },
                );
                let next = self.now + self.cfg.role_probe_interval;
                self.queue.push(next, Ev::RoleTick { node, epoch });
            }
            Ev::LaneNext { node, ok, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.lane.finished(ok);
                }
                self.pump_lane(node);
            }
            ev @ (Ev::ArbReply { .. } | Ev::ArbTimeout { .. } | Ev::ArbRenew { .. }) => {
                self.client_event(ev);
            }
            _ => {}
        }
    }

    fn timer(&mut self, node: usize, generation: u64) {
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        if n.timer_gen != generation || n.daemon != Daemon::Running {
            return;
        }
        n.timer_at = None;
        self.fire_if_due(node);
    }

    fn fire_if_due(&mut self, node: usize) {
        let due = self
            .nodes
            .get(node)
            .and_then(|n| n.election.poll_timeout())
            .is_some_and(|t| t <= self.now);
        if due {
            self.feed(node, Input::Timer);
        } else {
            self.reschedule_timer(node);
        }
    }

    fn reschedule_timer(&mut self, node: usize) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        let next = n.election.poll_timeout();
        if next == n.timer_at {
            return;
        }
        n.timer_gen += 1;
        n.timer_at = next;
        if let Some(at) = next {
            let generation = n.timer_gen;
            self.queue.push(at.max(now), Ev::Timer { node, generation });
        }
    }

    /// Hands one input to a running daemon and carries out what it asks for.
    fn feed(&mut self, node: usize, input: Input) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        n.election.handle(now, input);
        while let Some(action) = self
            .nodes
            .get_mut(node)
            .and_then(|n| n.election.poll_action())
        {
            self.act(node, action);
        }
        self.reschedule_timer(node);
    }

    fn act(&mut self, node: usize, action: Action) {
        let Some(n) = self.nodes.get(node) else {
            return;
        };
        let epoch = n.daemon_epoch;
        match action {
            Action::SendAdvert { priority } => self.enqueue(node, LaneOp::Advert(priority)),
            Action::AddVips(vips) => self.enqueue(
                node,
                LaneOp::Address {
                    op: AddressOp::Add,
                    vips,
                },
            ),
            Action::RemoveVips(vips) => self.enqueue(
                node,
                LaneOp::Address {
                    op: AddressOp::Remove,
                    vips,
                },
            ),
            Action::Announce(vips) => self.enqueue(
                node,
                LaneOp::Address {
                    op: AddressOp::Announce,
                    vips,
                },
            ),
            Action::ProbeInUse { id, vips, timeout } => {
                self.log(Some(node), || format!("probes in-use (#{id})"));
                let at = self.now + self.delay();
                let started = self.now;
                self.queue.push(
                    at,
                    Ev::Probe {
                        node,
                        epoch,
                        id,
                        vips,
                        started,
                        timeout,
                    },
                );
            }
            Action::Fence { id, request } => {
                self.stats.fences += 1;
                let text = format!(
                    "fences (#{id}) peer {:?} mac {:?}",
                    request.peer.map(|p| p.to_string()),
                    request.holder_mac
                );
                self.log(Some(node), || text);
                let at = self.now + self.cfg.fence_time;
                self.queue.push(
                    at,
                    Ev::FenceDone {
                        node,
                        epoch,
                        id,
                        request,
                    },
                );
            }
            Action::Acquire { id } => self.acquire(node, id),
            Action::RevokeFenced { id, token } => self.revoke(node, id, token.0),
            Action::ReleaseArbiter => self.enqueue(node, LaneOp::Release),
            Action::SetLifetime { vips, until } => {
                self.enqueue(node, LaneOp::Lifetime { vips, until });
            }
            Action::Event(event) => {
                if event.kind == EventKind::Alarm {
                    self.stats.alarms += 1;
                }
                self.log(Some(node), || format!("event: {event}"));
            }
        }
    }

    fn enqueue(&mut self, node: usize, op: LaneOp<Priority>) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.lane.push(op);
        }
        self.pump_lane(node);
    }

    /// Drives the node's sans-IO lane (the runtime's ordering, [`crate::lane`]): adverts go
    /// out at once, address operations one at a time through the kernel; the arbiter's release
    /// and a lifetime finish at once.
    fn pump_lane(&mut self, node: usize) {
        loop {
            let Some(n) = self.nodes.get_mut(node) else {
                return;
            };
            let (epoch, boot) = (n.daemon_epoch, n.boot_epoch);
            let Some(step) = n.lane.next_step() else {
                return;
            };
            match step {
                LaneStep::Advert(priority) => self.send_advert(node, priority),
                LaneStep::Address { op, vips, lifetime } => {
                    self.kernel(node, boot, epoch, op, vips, lifetime);
                }
                LaneStep::Release => {
                    self.release(node);
                    n_finished(&mut self.nodes, node);
                }
                LaneStep::ReleaseSkipped => {
                    let result = Err(crate::ArbiterError::Unavailable {
                        backend: "sim".into(),
                        reason: "not released: the VIPs' removal failed".into(),
                        hint: "the simulated arbiter".into(),
                    });
                    self.deliver_to_daemon(Ev::Deliver {
                        node,
                        epoch,
                        input: Input::Released(result),
                    });
                }
                LaneStep::Lifetime { until, .. } => {
                    self.set_lifetime(node, until);
                    n_finished(&mut self.nodes, node);
                }
            }
        }
    }

    fn send_advert(&mut self, node: usize, priority: Priority) {
        self.stats.adverts += 1;
        if self.cfg.trace && self.nodes[node].last_advert != Some(priority.get()) {
            self.log(Some(node), || {
                format!("sends adverts at priority {priority}")
            });
        }
        if let Some(n) = self.nodes.get_mut(node) {
            n.last_advert = Some(priority.get());
        }
        let cfg = &self.nodes[node].spec.election;
        let advert = Advert {
            from: PeerId(cfg.local_addr),
            priority,
            max_advert_interval: cfg.advert_interval,
            address_mismatch: false,
        };
        for to in 0..self.nodes.len() {
            if to == node || !self.reachable(node, to) {
                continue;
            }
            let pct = self.loss_pct(node, to);
            if self.rng.chance(pct) {
                continue;
            }
            let at = self.now + self.delay();
            self.queue.push(
                at,
                Ev::Packet {
                    from: node,
                    to,
                    advert,
                },
            );
        }
    }

    fn kernel(
        &mut self,
        node: usize,
        boot: u64,
        epoch: u64,
        op: AddressOp,
        vips: Vec<Vip>,
        lifetime: Option<Timestamp>,
    ) {
        let extra = self
            .nodes
            .get(node)
            .map_or(Duration::ZERO, |n| n.address_extra);
        let at = self.now + self.cfg.address_latency + extra;
        self.queue.push(
            at,
            Ev::Kernel {
                node,
                boot,
                epoch,
                op,
                vips,
                lifetime,
            },
        );
    }

    fn kernel_op(
        &mut self,
        node: usize,
        boot: u64,
        epoch: u64,
        op: AddressOp,
        vips: Vec<Vip>,
        lifetime: Option<Timestamp>,
    ) {
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        if n.boot_epoch != boot || !n.powered() {
            return;
        }
        if n.address_fails {
            self.log(Some(node), || format!("kernel: {op:?} failed"));
            let input = Input::Address {
                op,
                result: Err(crate::Error::Os {
                    operation: format!("{op:?}"),
                    errno: 105,
                    message: "simulated failure".into(),
                }),
            };
            self.deliver_to_daemon(Ev::Deliver { node, epoch, input });
            self.deliver_to_daemon(Ev::LaneNext {
                node,
                epoch,
                ok: false,
            });
            return;
        }
        match op {
            AddressOp::Add => {
                if n.iface.is_empty() {
                    // A new address is permanent until a lifetime is set.
                    n.expiry = None;
                }
                for v in vips {
                    if !n.iface.contains(&v) {
                        n.iface.push(v);
                    }
                }
            }
            AddressOp::Remove => {
                n.iface.retain(|v| !vips.contains(v));
                if n.iface.is_empty() {
                    n.expiry = None;
                }
            }
            AddressOp::Announce => {}
        }
        if let Some(until) = lifetime {
            self.set_lifetime(node, until);
        }
        let held = self.nodes.get(node).map_or(0, |n| n.iface.len());
        self.log(Some(node), || {
            format!("kernel: {op:?} done, {held} VIP(s) on the interface")
        });
        self.update_holding(node);
        let input = Input::Address { op, result: Ok(()) };
        self.deliver_to_daemon(Ev::Deliver { node, epoch, input });
        self.deliver_to_daemon(Ev::LaneNext {
            node,
            epoch,
            ok: true,
        });
    }

    fn probe_arrives(
        &mut self,
        node: usize,
        epoch: u64,
        id: u64,
        vips: Vec<Vip>,
        started: Timestamp,
        timeout: Duration,
    ) {
        let deadline = started + timeout;
        let mut answer = None;
        for other in 0..self.nodes.len() {
            if other == node || !self.reachable(node, other) {
                continue;
            }
            let Some(vip) = self.nodes[other]
                .iface
                .iter()
                .find(|v| vips.contains(v))
                .cloned()
            else {
                continue;
            };
            let (out, back) = (self.loss_pct(node, other), self.loss_pct(other, node));
            let packets = self.cfg.in_use_probe_packets.max(1);
            let answered = (0..packets).any(|_| !self.rng.chance(out) && !self.rng.chance(back));
            if answered {
                answer = Some((other, vip));
                break;
            }
        }
        // The reply crosses the LAN back; one that comes after the deadline is not seen.
        let reply_at = self.now + self.delay();
        let (at, result) = match answer {
            Some((other, vip)) if reply_at <= deadline => {
                let holder = Some(self.nodes[other].spec.mac);
                (reply_at, InUse::Held { vip, holder })
            }
            _ => (deadline, InUse::Free),
        };
        let text = format!("in-use probe #{id}: {result:?}");
        self.log(Some(node), || text);
        let input = Input::InUse {
            probe: id,
            result: Ok(result),
        };
        self.queue.push(at, Ev::Deliver { node, epoch, input });
    }

    fn fence_done(&mut self, node: usize, epoch: u64, id: u64, request: FenceRequest) {
        // The host that answered the in-use probe is the one to fence; the last known master is
        // only a fallback (a crashed node other than the last master may still hold the VIP).
        let by_mac = request
            .holder_mac
            .and_then(|mac| (0..self.nodes.len()).find(|&i| self.nodes[i].spec.mac == mac));
        let by_peer = || {
            (0..self.nodes.len()).find(|&i| {
                request
                    .peer
                    .is_some_and(|p| p.0 == self.nodes[i].spec.election.local_addr)
            })
        };
        // A fencing token names the arbiter's holder: that is the node to fence.
        let by_token = request.token.and_then(|t| self.service.owner(t.0));
        let target = by_token.or(by_mac).or_else(by_peer);
        let outcome = match target {
            _ if !self.fencer_works => FenceOutcome::Failed {
                reason: "fencer broken".into(),
            },
            None => FenceOutcome::Failed {
                reason: "unknown fence target".into(),
            },
            Some(t) if t == node => FenceOutcome::Failed {
                reason: "refusing to fence self".into(),
            },
            Some(t) => {
                match self.cfg.fence_kind {
                    FenceKind::Stonith => self.power_off(t),
                    FenceKind::AddressOnly => self.strip_vips(t),
                }
                FenceOutcome::Fenced
            }
        };
        let text = format!("fence #{id} -> {outcome:?}");
        self.log(Some(node), || text);
        self.deliver_to_daemon(Ev::Deliver {
            node,
            epoch,
            input: Input::Fenced { fence: id, outcome },
        });
    }

    fn power_off(&mut self, node: usize) {
        let now = self.now;
        let restart = self.cfg.fence_restart_after;
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        self.stats.fenced += 1;
        if n.daemon == Daemon::Halted {
            return;
        }
        n.daemon = Daemon::Halted;
        n.daemon_epoch += 1;
        n.boot_epoch += 1;
        n.iface.clear();
        n.expiry = None;
        n.client = Client::default();
        n.deferred.clear();
        n.lane.clear();
        n.timer_gen += 1;
        n.timer_at = None;
        let boot = n.boot_epoch;
        self.queue.push(now + restart, Ev::Boot { node, boot });
        self.oracle.set_running(now, node, false);
        self.update_holding(node);
        self.log(Some(node), || "powered off by the fencer".into());
    }

    /// A restarted daemon's reconcile: it removes its stale VIPs, then starts the election; a
    /// try that fails (address operations failing, or [`Fault::ReconcileFails`]) is tried
    /// again as the runtime does ([`crate::reconcile`]), and after the last retry the election
    /// starts with the stale VIPs.
    fn reconcile(&mut self, node: usize, epoch: u64, attempt: u32) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        if n.daemon_epoch != epoch || n.daemon != Daemon::Crashed {
            return;
        }
        let failed = n.reconcile_fails > 0 || n.address_fails;
        if failed && attempt < RECONCILE_RETRIES {
            n.reconcile_fails = n.reconcile_fails.saturating_sub(1);
            let wait = retry_wait(attempt);
            self.queue.push(
                now + wait,
                Ev::Reconcile {
                    node,
                    epoch,
                    attempt: attempt + 1,
                },
            );
            self.log(Some(node), || {
                format!("reconcile: removing stale VIPs failed, again in {wait:?}")
            });
            return;
        }
        if failed {
            // Out of retries: the runtime starts the election with the stale VIPs.
            n.reconcile_fails = n.reconcile_fails.saturating_sub(1);
            self.log(Some(node), || {
                "reconcile failed; starting with stale VIPs".into()
            });
            self.start_daemon(node);
            return;
        }
        n.iface.clear();
        n.expiry = None;
        self.log(Some(node), || "restart removes stale VIPs".into());
        self.update_holding(node);
        self.start_daemon(node);
    }

    /// An address-only fence: the target's VIPs go; its daemon, if it runs, hears of it as a
    /// removal by someone else (a paused one when it resumes).
    fn strip_vips(&mut self, node: usize) {
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        self.stats.fenced += 1;
        if n.iface.is_empty() {
            return;
        }
        n.iface.clear();
        n.expiry = None;
        let epoch = n.daemon_epoch;
        self.update_holding(node);
        self.log(Some(node), || "VIPs removed by the fencer".into());
        self.deliver_to_daemon(Ev::Deliver {
            node,
            epoch,
            input: Input::VipRemovedExternally,
        });
    }

    fn start_daemon(&mut self, node: usize) {
        let seed = self.rng.next_u64();
        let now = self.now;
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        n.starts += 1;
        n.election = Election::new(n.spec.election.clone(), seed);
        n.daemon = Daemon::Running;
        n.daemon_epoch += 1;
        n.deferred.clear();
        n.lane.clear();
        n.client = Client::default();
        n.timer_gen += 1;
        n.timer_at = None;
        n.last_advert = None;
        let link_up = n.link_up;
        let checks: Vec<(usize, CheckStatus)> = n.checks.iter().copied().enumerate().collect();
        let gated = n.spec.election.role_gated;
        let epoch = n.daemon_epoch;
        self.oracle.set_running(now, node, true);
        self.feed(node, Input::Start);
        if !link_up {
            self.feed(node, Input::Link(false));
        }
        for (index, status) in checks {
            self.feed(node, Input::Check { index, status });
        }
        if gated {
            self.queue.push(now, Ev::RoleTick { node, epoch });
        }
    }

    fn stop_daemon(&mut self, node: usize, to: Daemon) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        n.daemon = to;
        if to != Daemon::Paused {
            n.daemon_epoch += 1;
            n.deferred.clear();
            n.lane.clear();
            n.client = Client::default();
        }
        n.timer_gen += 1;
        n.timer_at = None;
        self.oracle.set_running(now, node, false);
    }

    fn apply_fault(&mut self, fault: Fault) {
        self.last_disturbance = self.last_disturbance.max(self.now);
        let text = format!("FAULT {fault}");
        self.log(None, || text);
        let n = self.nodes.len();
        match fault {
            Fault::Loss { from, to, percent } => {
                if let Some(cell) = self.loss.get_mut(from).and_then(|r| r.get_mut(to)) {
                    *cell = percent;
                }
            }
            Fault::LossAll { percent } => self.loss = vec![vec![percent; n]; n],
            Fault::Delay { extra, jitter } => {
                self.extra_delay = extra;
                self.extra_jitter = jitter;
            }
            Fault::Partition(groups) => {
                self.groups = (0..n)
                    .map(|i| groups.get(i).copied().unwrap_or(0))
                    .collect();
            }
            Fault::Heal => self.groups = vec![0; n],
            Fault::Pause(node) => {
                if self.daemon(node) == Some(Daemon::Running) {
                    self.stop_daemon(node, Daemon::Paused);
                }
            }
            Fault::Resume(node) => {
                if self.daemon(node) == Some(Daemon::Paused) {
                    if let Some(nd) = self.nodes.get_mut(node) {
                        nd.daemon = Daemon::Running;
                    }
                    self.oracle.set_running(self.now, node, true);
                    let deferred = self
                        .nodes
                        .get_mut(node)
                        .map(|n| std::mem::take(&mut n.deferred));
                    for ev in deferred.unwrap_or_default() {
                        self.deliver_to_daemon(ev);
                    }
                    self.fire_if_due(node);
                }
            }
            Fault::Crash(node) => {
                if matches!(self.daemon(node), Some(Daemon::Running | Daemon::Paused)) {
                    self.stop_daemon(node, Daemon::Crashed);
                }
            }
            Fault::Restart(node) => {
                if self.daemon(node) == Some(Daemon::Crashed) {
                    // A new process: its reconcile runs before the election starts.
                    let epoch = self.nodes.get_mut(node).map_or(0, |nd| {
                        nd.daemon_epoch += 1;
                        nd.daemon_epoch
                    });
                    self.reconcile(node, epoch, 0);
                }
            }
            Fault::AddressErrors { node, fail } => {
                if let Some(nd) = self.nodes.get_mut(node) {
                    nd.address_fails = fail;
                }
            }
            Fault::SlowAddress { node, extra } => {
                if let Some(nd) = self.nodes.get_mut(node) {
                    nd.address_extra = extra;
                }
            }
            Fault::ReconcileFails { node, attempts } => {
                if let Some(nd) = self.nodes.get_mut(node) {
                    nd.reconcile_fails = attempts;
                }
            }
            Fault::SetRole(node, role) => {
                if let Some(nd) = self.nodes.get_mut(node) {
                    nd.role = role.clone();
                }
                self.oracle.set_role(self.now, node, role);
            }
            Fault::Check {
                node,
                index,
                status,
            } => {
                let Some(nd) = self.nodes.get_mut(node) else {
                    return;
                };
                let Some(slot) = nd.checks.get_mut(index) else {
                    return;
                };
                *slot = status;
                let epoch = nd.daemon_epoch;
                self.deliver_to_daemon(Ev::Deliver {
                    node,
                    epoch,
                    input: Input::Check { index, status },
                });
            }
            Fault::Link(node, up) => {
                let Some(nd) = self.nodes.get_mut(node) else {
                    return;
                };
                nd.link_up = up;
                let epoch = nd.daemon_epoch;
                self.update_holding(node);
                let at = self.now + self.cfg.address_latency;
                self.queue.push(
                    at,
                    Ev::Deliver {
                        node,
                        epoch,
                        input: Input::Link(up),
                    },
                );
            }
            Fault::FencerWorks(ok) => self.fencer_works = ok,
            Fault::ArbiterQuorum(ok) => self.set_quorum(ok),
            Fault::ArbiterLink { node, to, from } => self.service.set_link(node, to, from),
            Fault::Maintenance(node, on) => self.operator(node, Input::Maintenance(on)),
            Fault::Switchover(node, s) => self.operator(node, Input::Switchover(s)),
        }
    }

    /// An operator's request reaches the node's running daemon.
    fn operator(&mut self, node: usize, input: Input) {
        if let Some(epoch) = self.nodes.get(node).map(|n| n.daemon_epoch) {
            self.deliver_to_daemon(Ev::Deliver { node, epoch, input });
        }
    }
}

/// The operation in flight on `node`'s lane ended (the simulated kernel never fails).
fn n_finished(nodes: &mut [Node], node: usize) {
    if let Some(n) = nodes.get_mut(node) {
        n.lane.finished(true);
    }
}
