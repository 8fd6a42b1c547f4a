//! [`Status`]: a snapshot of one instance, published through a `tokio::sync::watch` channel.

use std::time::{Duration, SystemTime};

use crate::election::{ArbiterGrant, CheckStatus, Event, Reason, State};
use crate::{PeerId, Priority, RecordedPrimary, Role, Timestamp, Vip};

/// Where an instance's task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Reconciling stale VIPs and running the first checks; the election has not started.
    Starting,
    /// The election runs.
    Running,
    /// A stop was requested; the release (remove VIPs, then priority-0 advert) is under way.
    Stopping,
    /// The task has ended. Nothing more will change.
    Stopped,
}

impl Phase {
    /// A stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Stopping => "stopping",
            Phase::Stopped => "stopped",
        }
    }
}

/// A state change with its reason and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Old state.
    pub from: State,
    /// New state.
    pub to: State,
    /// Why.
    pub reason: Reason,
    /// When (see [`super::Clock::wall_time`] for wall-clock time).
    pub at: Timestamp,
}

/// A snapshot of one instance. Read it with [`super::InstanceHandle::status`] or watch it with
/// [`super::InstanceHandle::watch_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The instance name.
    pub name: String,
    /// Its VRID.
    pub vrid: u8,
    /// Where its task is.
    pub phase: Phase,
    /// The election state.
    pub state: State,
    /// Base priority plus tracked-check weights.
    pub effective_priority: Priority,
    /// The known current master ([`crate::election::Election::master`]): this node while
    /// Master, the peer whose adverts are accepted while Backup, otherwise `None`.
    pub master: Option<PeerId>,
    /// The VIPs this instance protects.
    pub vips: Vec<Vip>,
    /// True from the moment an add of the VIPs has returned (whatever its result) until a later
    /// removal succeeds: the VIPs are, or may be, on this node's interfaces.
    pub holds_vips: bool,
    /// True while the instance is in maintenance: it does not take the VIPs and released them
    /// if it held them ([`super::Runtime::set_maintenance`]).
    pub maintenance: bool,
    /// This node's address in the instance's adverts (how peers and `master` name it).
    pub local: PeerId,
    /// When the instance task started (wall clock); see [`Status::uptime`].
    pub started_at: SystemTime,
    /// The last role the role probe reported (`None` without a probe or before its answer).
    pub role: Option<Role>,
    /// The last rank the role probe reported ([`crate::RoleReport::priority`], for example
    /// vip-pg's split-brain rank); the instance advertises it instead of its base priority.
    /// `None` without a probe or while the probe reports none.
    pub role_rank: Option<Priority>,
    /// The node the probe's cluster metadata records as primary, when it reads metadata.
    pub recorded_primary: Option<RecordedPrimary>,
    /// The tracked checks' names, by index (as [`Status::checks`]).
    pub check_names: Vec<String>,
    /// The debounced status of each tracked check, by index (`None` until known).
    pub checks: Vec<Option<CheckStatus>>,
    /// The last state change.
    pub last_transition: Option<Transition>,
    /// The last alarm event.
    pub last_alarm: Option<Event>,
    /// The ownership arbiter's grant while this node holds it (fencing token and deadline;
    /// [`ArbiterGrant::time_left`] with [`super::Clock::now`] gives the time left).
    pub arbiter: Option<ArbiterGrant>,
}

impl Status {
    /// True while the VIPs are, or may be, held here.
    pub fn is_master(&self) -> bool {
        self.state == State::Master
    }

    /// How long the instance has run (zero if the wall clock went back).
    pub fn uptime(&self) -> Duration {
        SystemTime::now()
            .duration_since(self.started_at)
            .unwrap_or_default()
    }

    /// Each tracked check's name with its debounced status (`None` until known).
    pub fn named_checks(&self) -> impl Iterator<Item = (&str, Option<CheckStatus>)> {
        self.check_names
            .iter()
            .map(String::as_str)
            .zip(self.checks.iter().copied())
    }
}
