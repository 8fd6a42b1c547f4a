//! Events: every transition and alarm, with its reason.

use std::fmt;

use crate::{FencingToken, PeerId, Priority, Role, Timestamp};

use super::State;

/// Why something happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The instance was started.
    Started,
    /// The instance was stopped.
    Stopped,
    /// No advert from the master within Master_Down_Interval.
    MasterDown,
    /// The master sent priority 0.
    MasterReleased {
        /// The releasing master.
        peer: PeerId,
    },
    /// An advert with higher priority (or equal priority and higher address) arrived.
    HigherPriority {
        /// The sender.
        peer: PeerId,
        /// Its priority.
        priority: Priority,
    },
    /// A lower-priority master was preempted.
    Preempt {
        /// The master being preempted.
        peer: PeerId,
    },
    /// The owner (priority 255) takes over at once.
    Owner,
    /// The in-use probe found the VIPs free.
    VipFree,
    /// The in-use probe found a VIP answering elsewhere.
    VipInUse,
    /// Fencing succeeded and the re-probe found the VIPs free.
    Fenced,
    /// Fencing failed or the VIPs still answer after it.
    FenceFailed {
        /// Why.
        detail: String,
    },
    /// The role probe no longer says Primary.
    RoleLost {
        /// What it says now.
        role: Role,
    },
    /// The role probe says Primary again.
    RoleGained,
    /// The interface went down.
    LinkDown,
    /// The interface came back.
    LinkUp,
    /// A tracked check with weight 0 failed.
    CheckFault {
        /// Index of the check.
        index: usize,
    },
    /// All fault conditions cleared.
    FaultCleared,
    /// An address operation failed.
    AddressError {
        /// The error text.
        detail: String,
    },
    /// A peer advertises a different VIP list.
    AddressMismatch {
        /// The peer.
        peer: PeerId,
    },
    /// Someone else removed one of our VIPs while we were master.
    VipRemovedExternally,
    /// A tracked check changed status and with it the effective priority.
    CheckChanged {
        /// Index of the check.
        index: usize,
    },
    /// The role probe's derived priority changed (for example the split-brain rank).
    RolePriority,
    /// The in-use probe failed, so the machine cannot be sure the VIPs are free.
    ProbeFailed {
        /// The error text.
        detail: String,
    },
    /// The ownership arbiter granted this node the VIPs.
    ArbiterGranted,
    /// The ownership arbiter says another node holds the grant.
    ArbiterHeldElsewhere {
        /// Who, as the arbiter names it.
        holder: String,
        /// Its fencing token, when known.
        token: Option<FencingToken>,
    },
    /// The ownership arbiter could not be asked, refused, or a call to it failed.
    ArbiterUnavailable {
        /// The error text.
        detail: String,
    },
    /// The grant was lost (or the arbiter cannot vouch for it any more).
    ArbiterLost {
        /// Why.
        detail: String,
    },
    /// The grant's deadline came without a renewal.
    ArbiterExpired {
        /// The expired holding's token.
        token: FencingToken,
    },
    /// Maintenance was turned on (the VIPs are released) or off.
    Maintenance {
        /// On or off.
        on: bool,
    },
    /// A planned switchover: this node hands the VIPs over.
    Switchover,
    /// A planned switchover: this node takes the VIPs over.
    Takeover,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Started => f.write_str("started"),
            Reason::Stopped => f.write_str("stopped"),
            Reason::MasterDown => f.write_str("master down timer expired"),
            Reason::MasterReleased { peer } => write!(f, "master {peer} released (priority 0)"),
            Reason::HigherPriority { peer, priority } => {
                write!(f, "higher priority {priority} from {peer}")
            }
            Reason::Preempt { peer } => write!(f, "preempting lower-priority master {peer}"),
            Reason::Owner => f.write_str("address owner (priority 255)"),
            Reason::VipFree => f.write_str("in-use probe: VIP free"),
            Reason::VipInUse => f.write_str("in-use probe: VIP answers elsewhere"),
            Reason::Fenced => f.write_str("holder fenced, VIP free"),
            Reason::FenceFailed { detail } => write!(f, "fencing failed: {detail}"),
            Reason::RoleLost { role } => write!(f, "role is now {role}"),
            Reason::RoleGained => f.write_str("role is primary"),
            Reason::LinkDown => f.write_str("interface down"),
            Reason::LinkUp => f.write_str("interface up"),
            Reason::CheckFault { index } => write!(f, "tracked check {index} in fault"),
            Reason::FaultCleared => f.write_str("fault cleared"),
            Reason::AddressError { detail } => write!(f, "address operation failed: {detail}"),
            Reason::AddressMismatch { peer } => write!(f, "peer {peer} advertises other VIPs"),
            Reason::VipRemovedExternally => f.write_str("a VIP was removed by someone else"),
            Reason::CheckChanged { index } => write!(f, "tracked check {index} changed"),
            Reason::ProbeFailed { detail } => write!(f, "in-use probe failed: {detail}"),
            Reason::RolePriority => f.write_str("role-derived priority changed"),
            Reason::ArbiterGranted => f.write_str("ownership arbiter granted"),
            Reason::ArbiterHeldElsewhere { holder, token } => match token {
                Some(t) => write!(f, "ownership arbiter: held by {holder} (fencing token {t})"),
                None => write!(f, "ownership arbiter: held by {holder}"),
            },
            Reason::ArbiterUnavailable { detail } => write!(f, "ownership arbiter: {detail}"),
            Reason::ArbiterLost { detail } => write!(f, "ownership arbiter grant lost: {detail}"),
            Reason::ArbiterExpired { token } => {
                write!(f, "ownership arbiter grant {token} reached its deadline")
            }
            Reason::Maintenance { on: true } => f.write_str("maintenance on"),
            Reason::Maintenance { on: false } => f.write_str("maintenance off"),
            Reason::Switchover => f.write_str("switchover: handing the VIPs over"),
            Reason::Takeover => f.write_str("switchover: taking the VIPs over"),
        }
    }
}

/// What kind of event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// The state changed.
    Transition {
        /// Old state.
        from: State,
        /// New state.
        to: State,
    },
    /// Something needs an operator: the VIP cannot be claimed safely, an address operation
    /// failed, or a peer's config disagrees with ours.
    Alarm,
    /// The effective priority changed (tracked checks).
    PriorityChanged {
        /// The new effective priority.
        priority: Priority,
    },
    /// The ownership arbiter granted the VIPs (renewals are not events; see
    /// [`super::Election::grant`]).
    Granted {
        /// The holding's fencing token.
        token: FencingToken,
        /// Its deadline.
        deadline: Timestamp,
    },
}

/// An event with its time and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
    /// Why.
    pub reason: Reason,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            EventKind::Transition { from, to } => {
                write!(f, "{from} -> {to}: {}", self.reason)
            }
            EventKind::Alarm => write!(f, "alarm: {}", self.reason),
            EventKind::PriorityChanged { priority } => {
                write!(f, "effective priority {priority}: {}", self.reason)
            }
            EventKind::Granted { token, deadline } => {
                write!(f, "granted (fencing token {token}, deadline {deadline})")
            }
        }
    }
}
