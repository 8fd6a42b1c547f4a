//! What reaches an instance task through its one inbox: results of backend calls and of the
//! role and check tasks, and its handles' commands and adverts. One channel, not one per kind:
//! each turn of the task's loop polls every input it waits on, so each extra channel costs
//! every wake-up (most of an idle backup's or master's CPU is its wake-ups).

use super::handle::Command;
use super::steady::LeaseEnd;
use crate::election::{AddressOp, Advert, CheckStatus};
use crate::{ArbiterError, Error, FenceOutcome, Grant, InUse, Priority, RoleReport, Standing};

/// One message for an instance task.
#[derive(Debug)]
pub(crate) enum Message {
    /// From a handle: a control command.
    Command(Command),
    /// From a handle: a received advert (counted in the handle's advert queue until taken).
    Received(Advert),
    /// An address operation from the ordered lane finished (or timed out).
    Address {
        op: AddressOp,
        result: Result<(), Error>,
    },
    /// An advert was sent (or not).
    Advert {
        priority: Priority,
        result: Result<(), Error>,
    },
    /// An in-use probe finished.
    InUse {
        probe: u64,
        result: Result<InUse, Error>,
    },
    /// A fencing attempt finished.
    Fenced { fence: u64, outcome: FenceOutcome },
    /// The role probe answered.
    Role(RoleReport),
    /// A tracked check's debounced status changed.
    Check { index: usize, status: CheckStatus },
    /// The steady loop's lease ended (see `steady/mod.rs`).
    Steady(LeaseEnd),
    /// The ownership arbiter answered an acquire.
    Acquired {
        id: u64,
        result: Result<Grant, ArbiterError>,
    },
    /// The ownership arbiter answered a revoke of a fenced holder.
    Revoked {
        id: u64,
        result: Result<(), ArbiterError>,
    },
    /// The ordered lane's release of the grant finished (or was skipped).
    Released(Result<(), ArbiterError>),
    /// The ordered lane's setting of the VIPs' kernel lifetime finished.
    Lifetime(Result<(), Error>),
    /// The ownership arbiter published a standing.
    Standing(Standing),
}
