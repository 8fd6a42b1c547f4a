//! [`Status`]: a snapshot of one instance, published through a `tokio::sync::watch` channel.

use crate::election::{ArbiterGrant, CheckStatus, Event, Reason, State};
use crate::{PeerId, Priority, Role, Timestamp, Vip};

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
    /// The last role the role probe reported (`None` without a probe or before its answer).
    pub role: Option<Role>,
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
}
