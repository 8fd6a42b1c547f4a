//! The election machine: state, inputs dispatch, adverts and timers (RFC 9568 section 6).
//!
//! Claiming lives in `claim.rs`, effective priority, role and fault in `health.rs`.

use std::collections::VecDeque;
use std::time::Duration;

use crate::{Interval, PeerId, Priority, Timestamp};

use super::claim::{Probe, Takeover};
use super::jitter::Jitter;
use super::phase::{Claim, Follow, Phase};
use super::planned::Planned;
use super::timers::{self, centis};
use super::{
    Action, Advert, CheckStatus, ElectionConfig, Event, EventKind, Input, Reason, State, StopMode,
    Version,
};

/// Our Advertisement_Interval; a zero interval (forbidden on the wire) counts as 1 cs so that
/// timers always move forward.
pub(super) fn advertisement_interval(config: &ElectionConfig) -> Interval {
    config.advert_interval.max(Interval::from_centis(1))
}

/// The longest wait before asking again to remove VIPs whose removal failed (the wait starts at
/// the advert interval and doubles per failure).
const REMOVE_RETRY_MAX: Duration = Duration::from_secs(2);

/// One election instance (one VRID on one interface).
///
/// Drive it with [`Election::handle`], carry out what [`Election::poll_action`] returns, and
/// call `handle(now, Input::Timer)` once [`Election::poll_timeout`] has passed. See the crate
/// documentation for a complete example.
#[derive(Debug)]
pub struct Election {
    pub(super) config: ElectionConfig,
    /// The state, with the data only it has (see `phase.rs`).
    pub(super) phase: Phase,
    pub(super) actions: VecDeque<Action>,
    pub(super) jitter: Jitter,
    pub(super) local: PeerId,
    /// Effective priority (base plus check weights).
    pub(super) effective: Priority,
    /// Status of each tracked check (all start passing, keepalived's default).
    pub(super) checks: Vec<CheckStatus>,
    pub(super) link_up: bool,
    /// An address operation failed permanently (cleared when the link comes back).
    pub(super) address_fault: bool,
    /// Role gating: true while the role probe says Primary (always true when not gated).
    pub(super) eligible: bool,
    /// The role-derived base priority, replacing `config.priority` while role-gated.
    pub(super) role_priority: Option<Priority>,
    /// When Start arrived (None while in Initialize).
    pub(super) started: Option<Timestamp>,
    /// Master_Adver_Interval (learned from the master in v3).
    pub(super) master_adver_interval: Interval,
    /// The last peer known to have been master (whom to fence).
    pub(super) last_master: Option<PeerId>,
    /// End of preempt_delay (Backup: preempt a known lower-priority master then).
    pub(super) preempt_at: Option<Timestamp>,
    /// True from AddVips until RemoveVips.
    pub(super) holding: bool,
    /// A removal of the VIPs failed while we do not want them: ask again at this instant
    /// (until one succeeds or we want them again). A node that cannot be sure it released the
    /// VIPs keeps trying, rather than leaving them on the interface.
    pub(super) remove_retry_at: Option<Timestamp>,
    /// The wait before that retry (doubles per failed removal; zero after a success).
    pub(super) remove_retry_wait: Duration,
    /// Peers currently advertising a different address list (alarmed once each).
    pub(super) mismatched: Vec<PeerId>,
    pub(super) next_id: u64,
    /// The current in-use probe (Backup or Claiming); any other probe id is stale.
    pub(super) probe: Option<Probe>,
    /// The last release of a grant failed: ask again after the next successful removal.
    pub(super) release_failed: bool,
    /// The arbiter refused this instance: it stepped back and asks quietly before claiming
    /// again (see `arbiter.rs`).
    pub(super) refused: Option<super::arbiter::Refusal>,
    /// Maintenance: this node does not take the VIPs (see `planned.rs`).
    pub(super) maintenance: bool,
    /// A switchover under way (see `planned.rs`).
    pub(super) planned: Option<Planned>,
}

impl Election {
    /// A new instance in [`State::Initialize`]. `seed` feeds the machine's deterministic
    /// pseudo-random choices (claim back-off jitter).
    pub fn new(config: ElectionConfig, seed: u64) -> Self {
        let checks = vec![CheckStatus::Passing; config.checks.len()];
        let mut e = Election {
            local: PeerId(config.local_addr),
            effective: config.priority,
            master_adver_interval: advertisement_interval(&config),
            eligible: !config.role_gated,
            role_priority: None,
            config,
            phase: Phase::Initialize,
            actions: VecDeque::with_capacity(8),
            jitter: Jitter::new(seed),
            checks,
            link_up: true,
            address_fault: false,
            started: None,
            last_master: None,
            preempt_at: None,
            holding: false,
            remove_retry_at: None,
            remove_retry_wait: Duration::ZERO,
            mismatched: Vec::new(),
            next_id: 1,
            probe: None,
            release_failed: false,
            refused: None,
            maintenance: false,
            planned: None,
        };
        e.effective = e.compute_priority();
        e
    }

    /// Feeds one input at time `now`. Actions queue up for [`Election::poll_action`].
    pub fn handle(&mut self, now: Timestamp, input: Input) {
        match input {
            Input::Start => self.on_start(now),
            Input::Stop(mode) => self.on_stop(now, mode),
            Input::Timer => self.on_timer(now),
            Input::Advert(adv) => self.on_advert(now, adv),
            Input::Role(role) => self.on_role(now, role),
            Input::RolePriority(priority) => self.on_role_priority(now, priority),
            Input::Check { index, status } => self.on_check(now, index, status),
            Input::InUse { probe, result } => self.on_in_use(now, probe, result),
            Input::Fenced { fence, outcome } => self.on_fenced(now, fence, outcome),
            Input::Address { op, result } => self.on_address(now, op, result),
            Input::Acquired { id, result } => self.on_acquired(now, id, result),
            Input::Revoked { id, result } => self.on_revoked(now, id, result),
            Input::Released(result) => self.on_released(now, result),
            Input::Standing(standing) => self.on_standing(now, standing),
            Input::Link(up) => self.on_link(now, up),
            Input::VipRemovedExternally => self.on_vip_removed(now),
            Input::Maintenance(on) => self.on_maintenance(now, on),
            Input::Switchover(switchover) => self.on_switchover(now, switchover),
        }
    }

    /// The next action to carry out, if any, in the order the machine issued them.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`Election::handle`] with [`Input::Timer`] next: the earliest pending
    /// deadline (Adver_Timer, Master_Down_Timer, the claim's lead time before it, the claim
    /// back-off, the end of preempt_delay, the retry of a failed VIP removal, or a master's
    /// grant deadline).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let mut best: Option<Timestamp> = None;
        let mut consider = |t: Option<Timestamp>| {
            if let Some(t) = t {
                best = Some(best.map_or(t, |b| b.min(t)));
            }
        };
        consider(self.remove_retry_at);
        match &self.phase {
            Phase::Backup(follow) => {
                consider(follow.master_down_timer);
                consider(self.early_probe_deadline());
                consider(self.pre_claim_deadline());
                consider(self.preempt_at);
                consider(self.refusal_retry());
            }
            Phase::Claiming(claim) => {
                consider(claim.adver_timer);
                consider(claim.probe_at);
                consider(claim.claim_at);
            }
            Phase::Master(held) => {
                consider(held.adver_timer);
                consider(held.grant.map(|g| g.deadline));
            }
            Phase::Initialize | Phase::Fault => {}
        }
        best
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.phase.state()
    }

    /// The configuration.
    pub fn config(&self) -> &ElectionConfig {
        &self.config
    }

    /// Base priority plus tracked-check weights, clamped to 1..=254 (255 stays 255).
    pub fn effective_priority(&self) -> Priority {
        self.effective
    }

    /// The known current master: this node while Master, the peer whose adverts are accepted
    /// while Backup, otherwise (Claiming, Fault, Initialize, or no master heard) `None`.
    pub fn master(&self) -> Option<PeerId> {
        match self.state() {
            State::Master => Some(self.local),
            State::Backup => self.backup().and_then(|b| b.master).map(|(p, _)| p),
            _ => None,
        }
    }

    /// True from the moment the machine asked to add the VIPs until it asked to remove them
    /// (also after `Stop(Keep)`, which leaves them on the interface).
    pub fn holds_vips(&self) -> bool {
        self.holding
    }

    /// Master_Adver_Interval: the master's advertised interval (VRRPv3, learned), or our own
    /// Advertisement_Interval (VRRPv2, or no master heard yet).
    pub fn master_adver_interval(&self) -> Interval {
        self.master_adver_interval
    }

    /// Skew_Time for the effective priority (RFC 9568 section 6.1).
    pub fn skew_time(&self) -> Duration {
        centis(timers::skew_time(
            self.config.version,
            self.effective,
            self.master_adver_interval,
        ))
    }

    /// Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time (RFC 9568 section 6.1).
    pub fn master_down_interval(&self) -> Duration {
        centis(timers::master_down_interval(
            self.config.version,
            self.effective,
            self.master_adver_interval,
        ))
    }

    // ---- helpers shared by the other files -------------------------------------------------

    pub(super) fn push(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    pub(super) fn event(&mut self, now: Timestamp, kind: EventKind, reason: Reason) {
        self.actions.push_back(Action::Event(Event {
            at: now,
            kind,
            reason,
        }));
    }

    pub(super) fn alarm(&mut self, now: Timestamp, reason: Reason) {
        self.event(now, EventKind::Alarm, reason);
    }

    /// Enters `to`. The data of the state left goes with it; a grant a claim had acquired is
    /// given back unless the claim becomes Master.
    pub(super) fn transition(&mut self, now: Timestamp, to: Phase, reason: Reason) {
        let from = std::mem::replace(&mut self.phase, to);
        if let Phase::Claiming(claim) = &from
            && claim.grant.is_some()
            && !matches!(self.phase, Phase::Master(_))
        {
            self.push(Action::ReleaseArbiter);
        }
        let (from, to) = (from.state(), self.phase.state());
        let planned = self.planned.is_some().then(|| reason.clone());
        self.event(now, EventKind::Transition { from, to }, reason);
        if let Some(reason) = planned {
            self.planned_after_transition(now, to, reason);
        }
    }

    /// A backup's data, while Backup.
    pub(super) fn backup(&self) -> Option<&Follow> {
        match &self.phase {
            Phase::Backup(follow) => Some(follow),
            _ => None,
        }
    }

    /// A backup's data, while Backup.
    pub(super) fn backup_mut(&mut self) -> Option<&mut Follow> {
        match &mut self.phase {
            Phase::Backup(follow) => Some(follow),
            _ => None,
        }
    }

    /// The claim in progress, while Claiming.
    pub(super) fn claim_mut(&mut self) -> Option<&mut Claim> {
        match &mut self.phase {
            Phase::Claiming(claim) => Some(claim),
            _ => None,
        }
    }

    /// The claim in progress, while Claiming.
    pub(super) fn claim(&self) -> Option<&Claim> {
        match &self.phase {
            Phase::Claiming(claim) => Some(claim),
            _ => None,
        }
    }

    /// The Adver_Timer of a claiming or master instance.
    pub(super) fn adver_timer(&self) -> Option<Timestamp> {
        match &self.phase {
            Phase::Claiming(claim) => claim.adver_timer,
            Phase::Master(held) => held.adver_timer,
            _ => None,
        }
    }

    fn adver_timer_mut(&mut self) -> Option<&mut Option<Timestamp>> {
        match &mut self.phase {
            Phase::Claiming(claim) => Some(&mut claim.adver_timer),
            Phase::Master(held) => Some(&mut held.adver_timer),
            _ => None,
        }
    }

    pub(super) fn send_advert(&mut self, now: Timestamp, priority: Priority) {
        self.push(Action::SendAdvert { priority });
        if self.state() == State::Master && !priority.is_release() {
            self.refresh_lifetime(now);
        }
        let next = now + centis(advertisement_interval(&self.config));
        if !priority.is_release()
            && let Some(timer) = self.adver_timer_mut()
        {
            *timer = Some(next);
        }
    }

    /// Moves the Adver_Timer no later than `at`.
    pub(super) fn advert_by(&mut self, at: Timestamp) {
        if let Some(timer) = self.adver_timer_mut() {
            *timer = timer.map(|t| t.min(at));
        }
    }

    /// Schedules another removal after one failed: first after the advert interval, then
    /// twice as long after each further failure, at most [`REMOVE_RETRY_MAX`].
    pub(super) fn retry_remove(&mut self, now: Timestamp) {
        let first = centis(advertisement_interval(&self.config));
        self.remove_retry_wait = if self.remove_retry_wait.is_zero() {
            first
        } else {
            self.remove_retry_wait.saturating_mul(2)
        }
        .min(REMOVE_RETRY_MAX);
        self.remove_retry_at = Some(now + self.remove_retry_wait);
    }

    /// Removes the VIPs; a grant held for them is released right after (in the lane).
    pub(super) fn remove_vips(&mut self) {
        self.holding = false;
        self.push(Action::RemoveVips(self.config.vips.clone()));
        if let Phase::Master(held) = &mut self.phase
            && held.grant.take().is_some()
        {
            self.push(Action::ReleaseArbiter);
        }
    }

    /// Whether this instance may preempt a lower-priority master right now.
    fn may_preempt(&self, now: Timestamp) -> bool {
        (self.config.preempt || self.effective.is_owner())
            && self.may_claim()
            && !self.handed_over()
            && self.preempt_at.is_none_or(|t| now >= t)
    }

    fn learn_interval(&mut self, adv: &Advert) {
        if self.config.version == Version::V3 && !adv.max_advert_interval.is_zero() {
            self.master_adver_interval = adv.max_advert_interval;
        }
    }

    /// True when `adv` beats us: higher priority, or equal priority from a higher address.
    fn beats_us(&self, adv: &Advert) -> bool {
        adv.priority > self.effective
            || (adv.priority == self.effective && adv.from.addr() > self.local.addr())
    }

    /// Leaves everything claim-related behind and becomes Backup with a fresh
    /// Master_Down_Timer.
    pub(super) fn enter_backup(&mut self, now: Timestamp, reason: Reason) {
        self.probe = None;
        let follow = Follow {
            master: None,
            cause: Takeover::MasterDown,
            master_down_timer: Some(now + self.master_down_interval()),
        };
        self.transition(now, Phase::Backup(follow), reason);
    }

    // ---- start / stop ----------------------------------------------------------------------

    fn on_start(&mut self, now: Timestamp) {
        if self.started.is_some() {
            return;
        }
        self.started = Some(now);
        if self.holding {
            // Left on the interface by Stop(Keep): nobody vouches for them any more.
            self.remove_vips();
        }
        self.master_adver_interval = advertisement_interval(&self.config);
        self.preempt_at =
            (!self.config.preempt_delay.is_zero()).then(|| now + self.config.preempt_delay);
        if let Some(reason) = self.fault_reason() {
            self.transition(now, Phase::Fault, reason);
        } else if self.effective.is_owner() && self.may_claim() {
            // 6.4.1: the owner transitions to Master at once (through Claiming here).
            self.enter_claiming(now, Reason::Owner, Takeover::Owner, None);
        } else {
            // 6.4.1: Master_Down_Timer = Master_Down_Interval, -> Backup.
            self.enter_backup(now, Reason::Started);
        }
    }

    fn on_stop(&mut self, now: Timestamp, mode: StopMode) {
        if self.state() == State::Initialize {
            if mode == StopMode::Release && self.holding {
                // VIPs kept by an earlier Stop(Keep): release them now.
                self.remove_vips();
            }
            return;
        }
        if mode == StopMode::Release {
            // 6.4.3 Shutdown: stop the Adver_Timer, send priority 0, -> Initialize. vip removes
            // the VIPs first so that no instant has two holders.
            if self.holding {
                self.remove_vips();
            }
            // A claim's grant goes back before the priority-0 advert too.
            self.drop_grant();
            if matches!(self.state(), State::Master | State::Claiming) && self.link_up {
                self.send_advert(now, Priority::RELEASE);
            }
        }
        // With Stop(Keep) the VIPs stay (until their kernel lifetime ends) and a master's grant
        // is not given back: it goes with the Master state.
        self.probe = None;
        self.preempt_at = None;
        self.started = None;
        self.transition(now, Phase::Initialize, Reason::Stopped);
    }

    // ---- timers ----------------------------------------------------------------------------

    fn on_timer(&mut self, now: Timestamp) {
        if self.remove_retry_at.is_some_and(|t| now >= t) {
            self.remove_retry_at = None;
            if !self.holding {
                self.push(Action::RemoveVips(self.config.vips.clone()));
            }
        }
        match self.state() {
            State::Backup => {
                if self.refusal_retry().is_some_and(|t| now >= t) {
                    self.ask_quietly();
                }
                if self.preempt_at.is_some_and(|t| now >= t) {
                    self.preempt_at = None;
                    self.delayed_preempt(now);
                    if self.state() != State::Backup {
                        return;
                    }
                }
                if !self.claim_if_due(now)
                    && self
                        .backup()
                        .and_then(|b| b.master_down_timer)
                        .is_some_and(|t| now >= t)
                {
                    self.on_master_down(now);
                }
            }
            State::Claiming => {
                let fencing = self.claim().is_some_and(|c| c.fence.is_some());
                if !fencing && self.stalled(now) {
                    // Not run for longer than the probe's bound: whatever the probe found
                    // describes the segment as it was before the stall.
                    self.start_probe(now);
                }
                if self.adver_timer().is_some_and(|t| now >= t) {
                    self.send_advert(now, self.effective);
                }
                if let Some(claim) = self.claim_mut()
                    && claim.probe_at.is_some_and(|t| now >= t)
                {
                    claim.probe_at = None;
                    self.start_probe(now);
                }
                if let Some(claim) = self.claim_mut()
                    && claim.claim_at.is_some_and(|t| now >= t)
                {
                    claim.claim_at = None;
                    self.claim_step(now);
                }
            }
            State::Master => {
                if self.grant_deadline().is_some_and(|t| now >= t) {
                    // The arbiter's deadline: the VIPs go now, whatever else is due.
                    self.expire(now);
                    return;
                }
                // 6.4.3: Adver_Timer fires -> send an advert, reset the timer.
                if self.adver_timer().is_some_and(|t| now >= t) {
                    self.send_advert(now, self.effective);
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    /// Master_Down_Timer expiry in Backup (6.4.2).
    fn on_master_down(&mut self, now: Timestamp) {
        if let Some(follow) = self.backup_mut() {
            follow.master_down_timer = None;
            follow.master = None;
        }
        if !self.may_claim() {
            // Role gating and maintenance: such a backup never claims; it keeps waiting (so
            // does one the arbiter refused: it asks quietly first).
            self.probe = None;
            return;
        }
        let (reason, takeover) = self.takeover_reason();
        self.enter_claiming(now, reason, takeover, None);
    }

    /// preempt_delay ended: preempt a known lower-priority master now.
    fn delayed_preempt(&mut self, now: Timestamp) {
        if let Some((peer, prio)) = self.backup().and_then(|b| b.master)
            && prio < self.effective
            && self.may_preempt(now)
        {
            self.enter_claiming(now, Reason::Preempt { peer }, Takeover::Preempt(peer), None);
        }
    }

    // ---- adverts ---------------------------------------------------------------------------

    fn on_advert(&mut self, now: Timestamp, adv: Advert) {
        if adv.from == self.local {
            return;
        }
        if adv.address_mismatch || !self.mismatched.is_empty() {
            self.track_mismatch(now, &adv);
        }
        match self.state() {
            State::Backup => self.backup_advert(now, &adv),
            State::Master => self.master_advert(now, &adv),
            State::Claiming => self.claiming_advert(now, &adv),
            // Out of the election, but remember who is master: after the fault clears, that
            // is the node to fence if it goes silent (FencePolicy::Always).
            State::Fault if !adv.priority.is_release() => self.last_master = Some(adv.from),
            State::Initialize | State::Fault => {}
        }
    }

    fn track_mismatch(&mut self, now: Timestamp, adv: &Advert) {
        let known = self.mismatched.iter().position(|p| *p == adv.from);
        match (adv.address_mismatch, known) {
            (true, None) => {
                self.mismatched.push(adv.from);
                self.alarm(now, Reason::AddressMismatch { peer: adv.from });
            }
            (false, Some(i)) => {
                self.mismatched.swap_remove(i);
            }
            _ => {}
        }
    }

    /// Backup: starts the early probe and the claim whose times have come; true if it
    /// started claiming.
    fn claim_if_due(&mut self, now: Timestamp) -> bool {
        if self.early_probe_deadline().is_some_and(|t| now >= t) {
            self.early_probe(now);
        }
        if self.pre_claim_deadline().is_some_and(|t| now >= t) {
            self.pre_claim(now);
            return true;
        }
        false
    }

    /// 6.4.2: Backup receives an advert.
    fn backup_advert(&mut self, now: Timestamp, adv: &Advert) {
        let skew = self.skew_time();
        let Some(follow) = self.backup_mut() else {
            return;
        };
        if adv.priority.is_release() {
            if follow.master.is_some_and(|(master, _)| master != adv.from) {
                // vip refinement: a peer that is not the master we follow cannot release the
                // VIPs; shortening the timer would only make us probe (and perhaps fence) a
                // live master.
                return;
            }
            // Master_Down_Timer = Skew_Time. The in-use probe starts with the claim, one claim
            // lead before the timer (at once when Skew_Time is shorter), not now: every backup
            // hears the release together, and a lower one probing now would send an ARP probe
            // that the claimant's own probe takes for another holder (an alarm, a back-off and
            // a second probe: about 280 ms without a holder at 10 cs in the lab, instead of
            // about 55). By its own claim time a lower backup has heard the higher one's
            // claiming advert and follows it instead (see `claim.rs` for the limits).
            follow.master = None;
            follow.cause = Takeover::Released(adv.from);
            follow.master_down_timer = Some(now + skew);
            self.last_master = Some(adv.from);
            self.probe = None;
            // Skew_Time shorter than the lead: the claim (and its probe) starts now.
            self.claim_if_due(now);
            return;
        }
        self.planned_master_heard(adv.from);
        if !self.may_preempt(now) || adv.priority >= self.effective {
            self.learn_interval(adv);
            // Master_Down_Interval with the interval just learned.
            let down = self.master_down_interval();
            if let Some(follow) = self.backup_mut() {
                follow.master = Some((adv.from, adv.priority));
                follow.cause = Takeover::MasterDown;
                follow.master_down_timer = Some(now + down);
            }
            self.last_master = Some(adv.from);
            // Any probe started before this advert is stale.
            self.probe = None;
        } else {
            // Preempt: discard, so that the Master_Down_Timer expires and we take over.
            if let Some(follow) = self.backup_mut() {
                follow.cause = Takeover::Preempt(adv.from);
            }
            self.last_master = Some(adv.from);
            self.probe = None;
        }
    }

    /// 6.4.3: Master receives an advert.
    fn master_advert(&mut self, now: Timestamp, adv: &Advert) {
        if adv.priority.is_release() {
            self.send_advert(now, self.effective);
        } else if self.beats_us(adv) {
            self.remove_vips();
            self.yield_to(now, adv);
        } else {
            // Discard; advertise at once so that a lower-priority master steps down promptly.
            self.send_advert(now, self.effective);
        }
    }

    /// A better master or claimant advertised: follow it as Backup (6.4.3 "transition to Backup").
    fn yield_to(&mut self, now: Timestamp, adv: &Advert) {
        self.learn_interval(adv);
        self.enter_backup(
            now,
            Reason::HigherPriority {
                peer: adv.from,
                priority: adv.priority,
            },
        );
        if let Some(follow) = self.backup_mut() {
            follow.master = Some((adv.from, adv.priority));
        }
        self.last_master = Some(adv.from);
    }

    /// Claiming receives an advert: a better claimant or master wins, others are told at once.
    fn claiming_advert(&mut self, now: Timestamp, adv: &Advert) {
        if adv.priority.is_release() {
            return;
        }
        if self.beats_us(adv) {
            self.yield_to(now, adv);
        } else {
            self.send_advert(now, self.effective);
        }
    }
}
