//! The instance task: one tokio task owning one [`Election`], feeding it inputs and carrying
//! out its actions.

use std::future::poll_fn;
use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use crate::election::{
    Action, AddressOp, Advert, ArbiterGrant, ArbiterStanding, CheckStatus, Election, Event,
    EventKind, Input, Reason, StopMode,
};
use crate::{
    AddressManager, Error, FenceOutcome, Fencer, Grant, OwnershipArbiter, PeerId, Priority,
    RoleReport, Standing, Timestamp,
};

use super::call::bounded;
use super::check_task::{check_once, run_check};
use super::handle::{AdvertQueue, Command, Lifeline};
use super::lane::{
    Attempt, LaneBackends, LaneOp, arbiter_error, op_name, spawn_lane, try_advert_now,
};
use super::message::Message;
use super::reconcile::{join, remove_stale};
use super::role_task::run_role_probe;
use super::spec::TrackedCheck;
use super::steady::SteadyHandle;
use super::timer::DeadlineTimer;
use super::{Clock, Debouncer, InstanceHandle, InstanceSpec, Phase, Status, Timeouts, Transition};

/// Spawns the task of `spec` on the current tokio runtime and returns its handle, with an event
/// receiver subscribed before the task started. The caller has validated the spec.
pub(crate) fn spawn(
    spec: InstanceSpec,
    clock: Clock,
    kernel_timers: bool,
    maintenance: bool,
) -> (InstanceHandle, broadcast::Receiver<Event>) {
    let name: Arc<str> = Arc::from(spec.name.as_str());
    let adverts = Arc::new(AdvertQueue::new(spec.advert_queue));
    let (events_tx, first_events) = broadcast::channel(spec.event_capacity.min(1 << 16));
    let events_weak = events_tx.downgrade();
    let reprobe = Arc::new(Notify::new());
    let mut machine = Election::new(spec.config.clone(), spec.effective_seed());
    machine.handle(clock.now(), Input::Maintenance(maintenance));
    let snapshot = Status {
        name: spec.name.clone(),
        vrid: spec.config.vrid,
        phase: Phase::Starting,
        state: machine.state(),
        effective_priority: machine.effective_priority(),
        master: None,
        vips: spec.config.vips.clone(),
        holds_vips: false,
        maintenance,
        local: PeerId(spec.config.local_addr),
        started_at: std::time::SystemTime::now(),
        role: None,
        role_rank: None,
        recorded_primary: None,
        check_names: spec
            .checks
            .iter()
            .map(|c| c.check.name().to_owned())
            .collect(),
        checks: vec![None; spec.checks.len()],
        last_transition: None,
        last_alarm: None,
        arbiter: None,
    };
    let (status_tx, status_rx) = watch::channel(snapshot.clone());
    let (done_tx, done_rx) = unbounded_channel();
    // The steady loop reads the source's socket and follows the real clock (see `steady/mod.rs`).
    let steady = match (&spec.steady, &spec.source) {
        (Some(steady), Some(_)) if kernel_timers => {
            Some(SteadyHandle::new(steady.clone(), done_tx.clone()))
        }
        _ => None,
    };
    let instance = Instance {
        span: tracing::info_span!("vip", instance = %name, vrid = spec.config.vrid),
        steady,
        last_advert: None,
        machine,
        clock,
        kernel_timers,
        addresses: spec.addresses.clone(),
        fencer: spec.fencer.clone(),
        arbiter: spec.arbiter.clone(),
        sink: spec.adverts.clone(),
        timeouts: spec.timeouts,
        lane: None,
        remove_failed: false,
        done: done_tx.clone(),
        adverts: adverts.clone(),
        outstanding: 0,
        calls: JoinSet::new(),
        background: JoinSet::new(),
        workers: JoinSet::new(),
        status: status_tx,
        published: snapshot.clone(),
        dirty: false,
        snapshot,
        events: events_tx,
        event_hook: spec.event_hook.clone(),
        role_warnings: Vec::new(),
        check_names: spec
            .checks
            .iter()
            .map(|c| c.check.name().to_owned())
            .collect(),
        advert_failing: false,
        lifetime_failing: false,
        timer_fired_for: None,
        stopping: false,
    };
    let inputs = Inputs {
        inbox: done_rx,
        source: spec.source.clone(),
    };
    let role = spec.role.clone();
    let checks = spec.checks.clone();
    let notify = reprobe.clone();
    // Boxed: an async fn keeps its arguments apart from the locals it moves them into, so an
    // instance passed by value would take its place in the task twice (1.7 KiB each).
    tokio::spawn(Box::new(instance).run(inputs, role, checks, notify));
    let handle = InstanceHandle {
        name,
        _lifeline: Arc::new(Lifeline(done_tx.clone())),
        inbox: done_tx,
        adverts,
        reprobe,
        status: status_rx,
        events: events_weak,
        clock,
    };
    (handle, first_events)
}

/// What the task listens on.
struct Inputs {
    /// Results, commands and handle adverts (see `message.rs`).
    inbox: UnboundedReceiver<Message>,
    /// Polled directly, when the spec has one (see `source.rs`).
    source: Option<Arc<dyn super::AdvertSource>>,
}

/// The next advert of `source`; never ready without one.
async fn next_advert(source: Option<&Arc<dyn super::AdvertSource>>) -> Result<Advert, Error> {
    match source {
        Some(source) => poll_fn(|cx| source.poll_advert(cx)).await,
        None => std::future::pending().await,
    }
}

/// The state of one instance task. The steady loop's side of it (handing the idle work over
/// and back) is in `steady/delegate.rs`, which sees the fields marked `pub(super)`.
pub(super) struct Instance {
    /// The `vip` span (instance name and VRID) of its logs. Entered only where it logs: entering
    /// it on every poll, as `Instrument` does, costs a backup more than parsing its advert.
    span: tracing::Span,
    pub(super) machine: Election,
    pub(super) clock: Clock,
    /// Wait for deadlines on a timerfd (see `timer.rs`).
    kernel_timers: bool,
    addresses: Arc<dyn AddressManager>,
    fencer: Option<Arc<dyn Fencer>>,
    /// The ownership arbiter, if any (see `crate::OwnershipArbiter`).
    arbiter: Option<Arc<dyn OwnershipArbiter>>,
    /// The advert sink, for the idle fast path (see `lane.rs`).
    sink: Arc<dyn crate::runtime::AdvertSink>,
    timeouts: Timeouts,
    /// The ordered lane of address operations and adverts (see `lane.rs`): started with its
    /// first entry, and let go while the instance is idle (see [`Instance::idle_lane`]).
    lane: Option<UnboundedSender<LaneOp>>,
    /// The lane's last removal failed (its completions arrive in lane order, so this mirrors
    /// the lane's own flag, which skips a release after a failed removal).
    remove_failed: bool,
    /// Where spawned calls report back (the inbox).
    done: UnboundedSender<Message>,
    /// The bound on adverts passed through handles (a place is given back per advert taken).
    adverts: Arc<AdvertQueue>,
    /// Lane entries sent whose completion has not come back yet.
    pub(super) outstanding: usize,
    /// In-use probes and fences in flight (aborted on stop).
    calls: JoinSet<()>,
    /// The role-probe and check tasks (aborted on stop).
    background: JoinSet<()>,
    /// The lane and advert tasks (dropped, idle, when the instance ends).
    workers: JoinSet<()>,
    status: watch::Sender<Status>,
    /// The status as the instance sees it now.
    snapshot: Status,
    /// The status last sent on `status`.
    published: Status,
    /// `snapshot` was changed through [`Instance::status_mut`] since the last publish (the
    /// machine's state, priority and master are compared directly).
    dirty: bool,
    events: broadcast::Sender<Event>,
    /// Told of every event before the broadcast (see `InstanceSpec::event_hook`).
    event_hook: Option<super::spec::EventHook>,
    role_warnings: Vec<String>,
    /// Tracked check names, by index, for logs.
    check_names: Vec<String>,
    advert_failing: bool,
    /// Setting the kernel lifetime failed last time (logged once per failing streak).
    lifetime_failing: bool,
    /// The deadline a Timer was last fed for; never fire twice for the same one.
    timer_fired_for: Option<Timestamp>,
    pub(super) stopping: bool,
    /// The steady loop, when the spec has one (see `steady/mod.rs`).
    pub(super) steady: Option<SteadyHandle>,
    /// The last advert fed to the machine, and when: a backup's lease absorbs its repeats.
    pub(super) last_advert: Option<(Advert, Timestamp)>,
}

impl Instance {
    async fn run(
        mut self: Box<Self>,
        mut inputs: Inputs,
        role: Option<(Arc<dyn crate::RoleProbe>, super::RoleSchedule)>,
        checks: Vec<TrackedCheck>,
        reprobe: Arc<Notify>,
    ) {
        let span = self.span.clone();
        // Boxed: the start-up's state is not kept in the task for the instance's whole life.
        Box::pin(self.start(role, checks, reprobe).instrument(span.clone())).await;
        self.event_loop(&mut inputs).await;
        let _entered = span.enter();
        self.status_mut().phase = Phase::Stopped;
        self.publish();
        tracing::info!("instance stopped");
    }

    /// Reconciles, runs the first checks, starts the machine and the background tasks.
    async fn start(
        &mut self,
        role: Option<(Arc<dyn crate::RoleProbe>, super::RoleSchedule)>,
        checks: Vec<TrackedCheck>,
        reprobe: Arc<Notify>,
    ) {
        let removed = remove_stale(
            &self.addresses,
            &self.machine.config().vips,
            self.timeouts.address,
        )
        .await;
        if !removed.is_empty() {
            tracing::info!(vips = %join(&removed), "reconciled before start");
        }
        let debouncers = self.first_checks(&checks).await;
        self.feed(Input::Start);
        if let Some(arbiter) = self.arbiter.clone() {
            self.background
                .spawn(follow_standing(arbiter, self.done.clone()));
        }
        if let Some((probe, schedule)) = role {
            let (grace, done) = (self.timeouts.probe_grace, self.done.clone());
            self.background
                .spawn(run_role_probe(probe, schedule, grace, reprobe, done));
        }
        for (index, (tc, debouncer)) in checks.into_iter().zip(debouncers).enumerate() {
            let done = self.done.clone();
            self.background
                .spawn(run_check(index, tc.check, tc.schedule, debouncer, done));
        }
        self.status_mut().phase = Phase::Running;
        tracing::info!(state = %self.machine.state(), "instance running");
    }

    /// Runs every check whose initial status is unknown once (concurrently, each bounded by its
    /// timeout) and tells the machine the statuses before it starts.
    async fn first_checks(&mut self, checks: &[TrackedCheck]) -> Vec<Debouncer> {
        let mut runs = JoinSet::new();
        for (index, tc) in checks.iter().enumerate() {
            if tc.schedule.initial.is_none() {
                let (check, timeout) = (tc.check.clone(), tc.schedule.timeout);
                runs.spawn(async move { (index, check_once(check, timeout).await) });
            }
        }
        let mut first = vec![None; checks.len()];
        while let Some(joined) = runs.join_next().await {
            if let Ok((index, passed)) = joined
                && let Some(slot) = first.get_mut(index)
            {
                *slot = Some(passed);
            }
        }
        let mut debouncers = Vec::with_capacity(checks.len());
        for (index, tc) in checks.iter().enumerate() {
            let s = tc.schedule;
            let mut debouncer = Debouncer::new(s.rise, s.fall, s.initial);
            match first.get(index).copied().flatten() {
                Some(passed) => {
                    debouncer.observe(passed);
                }
                // A first run that could not even be joined counts as a failure.
                None if s.initial.is_none() => {
                    debouncer.observe(false);
                }
                None => {}
            }
            if let Some(status) = debouncer.status() {
                self.check_changed(index, tc.check.name(), status);
            }
            debouncers.push(debouncer);
        }
        debouncers
    }

    async fn event_loop(&mut self, inputs: &mut Inputs) {
        // One timer for the task's life, moved only when the machine's deadline moves: a new
        // `Sleep` per loop turn would register a timer entry (and wake tokio's driver) per
        // input.
        let mut timer = DeadlineTimer::new(self.kernel_timers);
        let mut armed: Option<Instant> = None;
        loop {
            self.publish();
            if self.stopping && self.outstanding == 0 {
                return;
            }
            if let Some(lease) = self.lease() {
                self.idle_lane();
                self.delegate(lease, &mut inputs.inbox, &mut timer).await;
                // The machine's deadline moved under the lease: arm the timer afresh.
                armed = None;
                continue;
            }
            let (deadline_ts, deadline) = self.next_deadline();
            if deadline != armed {
                if let Some(at) = deadline {
                    timer.reset(at);
                }
                armed = deadline;
            }
            tokio::select! {
                biased;
                Some(message) = inputs.inbox.recv() => self.receive(message),
                () = timer.wait(), if armed.is_some() => {
                    // Remember the deadline only once it has really passed, so that a wake-up
                    // a hair early re-arms instead of stalling.
                    let now = self.clock.now();
                    if deadline_ts.is_some_and(|t| now >= t) {
                        self.timer_fired_for = deadline_ts;
                    }
                    // The timer has fired: re-arm it even for the same deadline.
                    armed = None;
                    self.feed_at(now, Input::Timer);
                }
                got = next_advert(inputs.source.as_ref()), if !self.stopping && inputs.source.is_some() => {
                    match got {
                        Ok(advert) => self.feed_advert(advert),
                        Err(e) => self.source_failed(&e),
                    }
                }
            }
        }
    }

    /// The machine's next deadline, unless a Timer was already fed for exactly that deadline
    /// (a machine that did not move its deadline must not make the task spin).
    fn next_deadline(&self) -> (Option<Timestamp>, Option<Instant>) {
        match self.machine.poll_timeout() {
            Some(t) if Some(t) != self.timer_fired_for => (Some(t), Some(self.clock.instant(t))),
            _ => (None, None),
        }
    }

    fn begin_stop(&mut self, mode: StopMode) {
        let _span = self.span.clone().entered();
        tracing::info!(?mode, "stopping");
        self.stopping = true;
        self.status_mut().phase = Phase::Stopping;
        self.background.abort_all();
        self.calls.abort_all();
        self.feed(Input::Stop(mode));
    }

    /// The advert source (or the steady loop reading it) broke for good: release and stop.
    pub(super) fn source_failed(&mut self, error: &Error) {
        self.span.in_scope(|| {
            tracing::error!(%error, "advert source failed; releasing");
        });
        self.begin_stop(StopMode::Release);
    }

    /// Feeds a received advert (remembered for a backup's lease).
    fn feed_advert(&mut self, advert: Advert) {
        self.feed_advert_at(advert, self.clock.now());
    }

    /// Feeds one input at the current time and carries out the resulting actions.
    fn feed(&mut self, input: Input) {
        self.feed_at(self.clock.now(), input);
    }

    /// Feeds one input at `now` (read by the caller) and carries out the resulting actions.
    pub(super) fn feed_at(&mut self, now: Timestamp, input: Input) {
        self.machine.handle(now, input);
        while let Some(action) = self.machine.poll_action() {
            self.dispatch(action);
        }
    }

    pub(super) fn dispatch(&mut self, action: Action) {
        match action {
            Action::SendAdvert { priority } => self.send_advert(priority),
            Action::AddVips(vips) => {
                self.enqueue(LaneOp::Address {
                    op: AddressOp::Add,
                    vips,
                });
            }
            Action::RemoveVips(vips) => {
                self.enqueue(LaneOp::Address {
                    op: AddressOp::Remove,
                    vips,
                });
            }
            Action::Announce(vips) => {
                self.enqueue(LaneOp::Address {
                    op: AddressOp::Announce,
                    vips,
                });
            }
            Action::ProbeInUse { id, vips, timeout } => self.spawn_probe(id, vips, timeout),
            Action::Fence { id, request } => self.spawn_fence(id, request),
            Action::Acquire { id } => self.spawn_acquire(id),
            Action::RevokeFenced { id, token } => self.spawn_revoke(id, token),
            Action::ReleaseArbiter => self.enqueue(LaneOp::Release),
            Action::SetLifetime { vips, until } => self.enqueue(LaneOp::Lifetime { vips, until }),
            Action::Event(event) => self.on_event(event),
        }
    }

    /// Sends an advert: in place when the lane is idle (the steady state: no task, channel or
    /// timer per advert), else through the lane behind the entries emitted before it.
    fn send_advert(&mut self, priority: Priority) {
        if self.outstanding > 0 {
            self.enqueue(LaneOp::Advert((priority, None)));
            return;
        }
        match try_advert_now(&self.sink, priority) {
            Attempt::Done(result) => self.advert_result(priority, result),
            Attempt::Started(send) => self.enqueue(LaneOp::Advert((priority, Some(send)))),
        }
    }

    /// The lane's sender, starting the lane and advert tasks if they are not running.
    fn lane(&mut self) -> &UnboundedSender<LaneOp> {
        self.lane.get_or_insert_with(|| {
            // Tasks let go of earlier have ended (their channel closed while idle).
            while self.workers.try_join_next().is_some() {}
            let backends = LaneBackends {
                addresses: self.addresses.clone(),
                arbiter: self.arbiter.clone(),
                sink: self.sink.clone(),
            };
            spawn_lane(
                &mut self.workers,
                backends,
                self.clock,
                self.timeouts,
                self.done.clone(),
            )
        })
    }

    /// Lets the lane and advert tasks end while nothing is outstanding (an idle instance,
    /// about to hand its work to the steady loop): two tasks and two channels fewer per
    /// idle instance. The next entry starts a new lane, which knows only what an idle lane
    /// carries over: whether the last removal failed, so that is kept here and the lane
    /// stays while it is set.
    pub(super) fn idle_lane(&mut self) {
        if self.outstanding == 0 && !self.remove_failed {
            self.lane = None;
        }
    }

    fn enqueue(&mut self, entry: LaneOp) {
        match self.lane().send(entry) {
            Ok(()) => self.outstanding += 1,
            Err(returned) => {
                // The lane task is gone (it never ends while the instance runs): report failure.
                let err = Error::Other {
                    operation: "ordered lane".into(),
                    message: "lane task has ended".into(),
                    transient: false,
                };
                let completion = match returned.0 {
                    LaneOp::Address { op, .. } => Message::Address {
                        op,
                        result: Err(err),
                    },
                    LaneOp::Advert((priority, _)) => Message::Advert {
                        priority,
                        result: Err(err),
                    },
                    LaneOp::Release => Message::Released(Err(arbiter_error(
                        self.arbiter.as_deref(),
                        "lane task has ended".into(),
                    ))),
                    LaneOp::Lifetime { .. } => Message::Lifetime(Err(err)),
                };
                if self.done.send(completion).is_ok() {
                    self.outstanding += 1;
                }
            }
        }
    }

    /// Drops the finished entries of `calls` (a JoinSet keeps them until joined).
    fn reap_calls(&mut self) {
        while self.calls.try_join_next().is_some() {}
    }

    fn spawn_probe(&mut self, probe: u64, vips: Vec<crate::Vip>, timeout: std::time::Duration) {
        self.reap_calls();
        let limit = timeout.saturating_add(self.timeouts.probe_grace);
        let (am, done) = (self.addresses.clone(), self.done.clone());
        self.calls.spawn(async move {
            let result = bounded(limit, async move { am.probe_in_use(&vips, timeout).await })
                .await
                .unwrap_or_else(|e| Err(e.into_error("in-use probe")));
            let _ = done.send(Message::InUse { probe, result });
        });
    }

    fn spawn_fence(&mut self, fence: u64, request: crate::FenceRequest) {
        let done = self.done.clone();
        let Some(fencer) = self.fencer.clone() else {
            let outcome = FenceOutcome::Failed {
                reason: "no fencer configured".into(),
            };
            let _ = done.send(Message::Fenced { fence, outcome });
            return;
        };
        let limit = self.timeouts.fence;
        self.reap_calls();
        self.calls.spawn(async move {
            let outcome = bounded(limit, async move { fencer.fence(&request).await })
                .await
                .unwrap_or_else(|e| FenceOutcome::Failed {
                    reason: e.describe("fence"),
                });
            let _ = done.send(Message::Fenced { fence, outcome });
        });
    }

    fn spawn_acquire(&mut self, id: u64) {
        let Some(arbiter) = self.arbiter.clone() else {
            let result = Err(arbiter_error(None, "no arbiter attached".into()));
            let _ = self.done.send(Message::Acquired { id, result });
            return;
        };
        let (limit, done) = (self.timeouts.arbiter, self.done.clone());
        self.reap_calls();
        self.calls.spawn(async move {
            let call = arbiter.clone();
            let result = bounded(limit, async move { call.acquire().await })
                .await
                .unwrap_or_else(|e| Err(arbiter_error(Some(&*arbiter), e.describe("acquire"))));
            let _ = done.send(Message::Acquired { id, result });
        });
    }

    fn spawn_revoke(&mut self, id: u64, token: crate::FencingToken) {
        let Some(arbiter) = self.arbiter.clone() else {
            let result = Err(arbiter_error(None, "no arbiter attached".into()));
            let _ = self.done.send(Message::Revoked { id, result });
            return;
        };
        let (limit, done) = (self.timeouts.arbiter, self.done.clone());
        self.reap_calls();
        self.calls.spawn(async move {
            let call = arbiter.clone();
            let result = bounded(limit, async move { call.revoke_fenced(token).await })
                .await
                .unwrap_or_else(|e| Err(arbiter_error(Some(&*arbiter), e.describe("revoke"))));
            let _ = done.send(Message::Revoked { id, result });
        });
    }

    /// A grant on the machine's clock.
    fn grant(&self, grant: Grant) -> ArbiterGrant {
        ArbiterGrant {
            token: grant.token,
            deadline: self.clock.timestamp(Instant::from_std(grant.deadline)),
        }
    }

    /// Handles one message of the inbox.
    pub(super) fn receive(&mut self, message: Message) {
        match message {
            Message::Received(advert) => {
                self.adverts.release();
                if !self.stopping {
                    self.feed_advert(advert);
                }
            }
            Message::Address { op, result } => {
                self.outstanding = self.outstanding.saturating_sub(1);
                // Lane completions arrive in lane order, so this tracks the interface: an add,
                // even a failed one (it may have half-worked), means the VIPs may be here; only
                // a successful removal means they are gone.
                if op == AddressOp::Remove {
                    self.remove_failed = result.is_err();
                }
                match (&result, op) {
                    (_, AddressOp::Add) => self.status_mut().holds_vips = true,
                    (Ok(()), AddressOp::Remove) => self.status_mut().holds_vips = false,
                    _ => {}
                }
                // The machine raises the alarm (logged in on_event); this is the detail.
                if let Err(e) = &result {
                    let _span = self.span.enter();
                    tracing::debug!(operation = op_name(op), error = %e, "address operation failed");
                }
                self.feed(Input::Address { op, result });
            }
            Message::Advert { priority, result } => {
                self.outstanding = self.outstanding.saturating_sub(1);
                self.advert_result(priority, result);
            }
            Message::Released(result) => {
                self.outstanding = self.outstanding.saturating_sub(1);
                self.span.in_scope(|| match &result {
                    Ok(()) => tracing::info!("ownership grant released"),
                    Err(e) => tracing::debug!(error = %e, "releasing the ownership grant failed"),
                });
                self.feed(Input::Released(result));
            }
            Message::Lifetime(result) => {
                self.outstanding = self.outstanding.saturating_sub(1);
                let _span = self.span.enter();
                match (result, self.lifetime_failing) {
                    (Ok(()), false) => {}
                    (Ok(()), true) => {
                        self.lifetime_failing = false;
                        tracing::info!("setting the VIPs' kernel lifetime works again");
                    }
                    (Err(e), false) => {
                        self.lifetime_failing = true;
                        tracing::warn!(error = %e, "setting the VIPs' kernel lifetime failed");
                    }
                    (Err(e), true) => {
                        tracing::debug!(error = %e, "setting the VIPs' kernel lifetime failed again");
                    }
                }
            }
            // Also while stopping: a grant that arrives then is handed back at once.
            Message::Acquired { id, result } => {
                let result = result.map(|g| self.grant(g));
                if let Ok(g) = &result {
                    let left = g.time_left(self.clock.now());
                    let _span = self.span.enter();
                    tracing::info!(token = %g.token, ?left, "ownership granted");
                }
                self.feed(Input::Acquired { id, result });
            }
            // While stopping, only the lane's results (and a late grant) still matter to the
            // machine.
            _ if self.stopping => {}
            Message::Command(Command::Stop(mode)) => self.begin_stop(mode),
            Message::Command(Command::Orphaned) => {
                self.span
                    .in_scope(|| tracing::info!("every handle was dropped; releasing"));
                self.begin_stop(StopMode::Release);
            }
            Message::Command(Command::Link(up)) => self.feed(Input::Link(up)),
            Message::Command(Command::VipRemoved) => self.feed(Input::VipRemovedExternally),
            Message::Command(Command::Maintenance(on)) => {
                self.span
                    .in_scope(|| tracing::info!(on, "maintenance requested"));
                self.feed(Input::Maintenance(on));
            }
            Message::Command(Command::Switchover(switchover)) => {
                self.span
                    .in_scope(|| tracing::info!(?switchover, "switchover requested"));
                self.feed(Input::Switchover(switchover));
            }
            Message::InUse { probe, result } => self.feed(Input::InUse { probe, result }),
            Message::Fenced { fence, outcome } => {
                if let FenceOutcome::Failed { reason } = &outcome {
                    let _span = self.span.enter();
                    tracing::debug!(%reason, "fencing failed");
                }
                self.feed(Input::Fenced { fence, outcome });
            }
            Message::Role(report) => self.role_report(report),
            Message::Check { index, status } => {
                let name = self.check_names.get(index).cloned().unwrap_or_default();
                self.check_changed(index, &name, status);
            }
            Message::Revoked { id, result } => self.feed(Input::Revoked { id, result }),
            Message::Standing(standing) => {
                let standing = match standing {
                    Standing::NotHeld => ArbiterStanding::NotHeld,
                    Standing::Held(g) => ArbiterStanding::Held(self.grant(g)),
                    Standing::Lost { reason } => {
                        if let Some(g) = self.machine.grant() {
                            let left = g.time_left(self.clock.now());
                            let _span = self.span.enter();
                            tracing::warn!(token = %g.token, ?left, %reason, "ownership grant lost");
                        }
                        ArbiterStanding::Lost { reason }
                    }
                };
                self.feed(Input::Standing(standing));
            }
            // A lease's end reaches `delegate`, which waits for it; one arriving here belongs
            // to no lease (it cannot happen) and carries nothing to do.
            Message::Steady(_) => {}
        }
    }

    pub(super) fn advert_result(&mut self, priority: Priority, result: Result<(), Error>) {
        match result {
            Ok(()) if !self.advert_failing => {}
            Ok(()) => {
                self.advert_failing = false;
                let _span = self.span.enter();
                tracing::info!(%priority, "sending adverts works again");
            }
            Err(e) if !self.advert_failing => {
                self.advert_failing = true;
                let _span = self.span.enter();
                tracing::warn!(%priority, error = %e, "sending an advert failed");
            }
            Err(e) => {
                let _span = self.span.enter();
                tracing::debug!(%priority, error = %e, "sending an advert failed again");
            }
        }
    }

    fn role_report(&mut self, report: RoleReport) {
        let _span = self.span.clone().entered();
        if report.warnings != self.role_warnings {
            for w in &report.warnings {
                tracing::warn!(warning = %w, "role probe");
            }
            self.role_warnings = report.warnings;
        }
        if self.snapshot.role.as_ref() != Some(&report.role) {
            tracing::info!(role = %report.role, "role probe");
            self.status_mut().role = Some(report.role.clone());
        }
        if report.priority.is_some() && self.snapshot.role_rank != report.priority {
            self.status_mut().role_rank = report.priority;
        }
        if self.snapshot.recorded_primary != report.recorded_primary {
            self.status_mut().recorded_primary = report.recorded_primary.clone();
        }
        // The rank first, so that a claim started by this report advertises it.
        if let Some(priority) = report.priority {
            self.feed(Input::RolePriority(priority));
        }
        self.feed(Input::Role(report.role));
    }

    fn check_changed(&mut self, index: usize, name: &str, status: CheckStatus) {
        let _span = self.span.clone().entered();
        tracing::info!(check = index, name, ?status, "tracked check changed");
        if let Some(slot) = self.status_mut().checks.get_mut(index) {
            *slot = Some(status);
        }
        self.feed(Input::Check { index, status });
    }

    fn on_event(&mut self, event: Event) {
        let _span = self.span.clone().entered();
        match &event.kind {
            EventKind::Transition { from, to } => {
                tracing::info!(%from, %to, reason = %event.reason, "transition");
                self.status_mut().last_transition = Some(Transition {
                    from: *from,
                    to: *to,
                    reason: event.reason.clone(),
                    at: event.at,
                });
            }
            EventKind::Alarm => {
                match &event.reason {
                    Reason::FenceFailed { .. } | Reason::AddressError { .. } => {
                        tracing::error!(reason = %event.reason, "alarm");
                    }
                    _ => tracing::warn!(reason = %event.reason, "alarm"),
                }
                self.status_mut().last_alarm = Some(event.clone());
            }
            EventKind::PriorityChanged { priority } => {
                tracing::info!(%priority, reason = %event.reason, "effective priority changed");
            }
            EventKind::Granted { token, deadline } => {
                tracing::info!(%token, %deadline, "ownership arbiter granted");
            }
        }
        if let Some(hook) = &self.event_hook {
            hook(&event);
        }
        let _ = self.events.send(event);
    }

    /// The snapshot, for a change (marks it for [`Instance::publish`]).
    fn status_mut(&mut self) -> &mut Status {
        self.dirty = true;
        &mut self.snapshot
    }

    /// Publishes the snapshot if anything changed. The comparison is with our own copy of what
    /// was last published, so an unchanged status (every turn of a steady backup or master)
    /// does not touch the watch channel's lock.
    fn publish(&mut self) {
        let (state, priority, master, grant) = (
            self.machine.state(),
            self.machine.effective_priority(),
            self.machine.master(),
            self.machine.grant(),
        );
        let maintenance = self.machine.maintenance();
        let snapshot = &mut self.snapshot;
        if !self.dirty
            && snapshot.state == state
            && snapshot.effective_priority == priority
            && snapshot.master == master
            && snapshot.arbiter == grant
            && snapshot.maintenance == maintenance
        {
            return;
        }
        self.dirty = false;
        if let (Some(old), None) = (snapshot.arbiter, grant) {
            // The VIPs went (or go now) with the grant: how far ahead of D that was.
            let left = old.time_left(self.clock.now());
            let _span = self.span.enter();
            tracing::info!(token = %old.token, time_left_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX), "ownership grant ended before its deadline");
        }
        let snapshot = &mut self.snapshot;
        (snapshot.state, snapshot.effective_priority, snapshot.master) = (state, priority, master);
        snapshot.arbiter = grant;
        snapshot.maintenance = maintenance;
        if same_moving_parts(&self.published, &self.snapshot) {
            return;
        }
        self.published.clone_from(&self.snapshot);
        let snapshot = &self.snapshot;
        self.status
            .send_modify(|current| current.clone_from(snapshot));
    }
}

/// Whether two statuses of the same instance agree on everything that can change (publishing
/// runs once per loop turn, so it skips the name, VRID and VIP list, fixed at spawn). The
/// exhaustive pattern makes a new field a compile error here until it is considered.
fn same_moving_parts(a: &Status, b: &Status) -> bool {
    let Status {
        name: _,
        vrid: _,
        vips: _,
        phase,
        state,
        effective_priority,
        master,
        holds_vips,
        maintenance,
        local: _,
        started_at: _,
        role,
        role_rank,
        recorded_primary,
        check_names: _,
        checks,
        last_transition,
        last_alarm,
        arbiter,
    } = b;
    a.phase == *phase
        && a.state == *state
        && a.effective_priority == *effective_priority
        && a.master == *master
        && a.holds_vips == *holds_vips
        && a.maintenance == *maintenance
        && a.role == *role
        && a.role_rank == *role_rank
        && a.recorded_primary == *recorded_primary
        && a.checks == *checks
        && a.last_transition == *last_transition
        && a.last_alarm == *last_alarm
        && a.arbiter == *arbiter
}

/// Follows the arbiter's published standings and hands each to the instance.
async fn follow_standing(arbiter: Arc<dyn OwnershipArbiter>, done: UnboundedSender<Message>) {
    let mut seen = 0;
    loop {
        let (generation, standing) = arbiter.watch(seen).await;
        if generation == seen {
            // A watch must wait for a newer generation; one that does not is not spun on.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        }
        seen = generation;
        if done.send(Message::Standing(standing)).is_err() {
            return;
        }
    }
}
