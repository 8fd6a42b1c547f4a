//! Results of backend calls and of the role and check tasks, on their way back to an instance.

use crate::election::{AddressOp, CheckStatus};
use crate::{Error, FenceOutcome, InUse, Priority, RoleReport};

/// One finished piece of work, sent to the instance task that asked for it.
#[derive(Debug)]
pub(crate) enum Completion {
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
}
