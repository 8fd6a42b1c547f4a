//! Errors shared by the backend traits.

use std::time::Duration;

/// An error from a backend (addressing, probing, fencing, transport).
///
/// Every variant says whether retrying may help ([`Error::is_transient`]) and, where one exists,
/// carries a hint for the operator ([`Error::hint`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The named interface does not exist (ENODEV).
    #[error("interface {interface:?} not found (hint: check the interface name with `ip link`)")]
    InterfaceNotFound {
        /// The interface name that was looked up.
        interface: String,
    },
    /// The process lacks a capability the operation needs (EPERM/EACCES).
    #[error("{operation}: permission denied (hint: {hint})")]
    PermissionDenied {
        /// What was being done.
        operation: String,
        /// What to grant, for example "grant CAP_NET_ADMIN".
        hint: String,
    },
    /// The address cannot be used here (EADDRNOTAVAIL and friends).
    #[error("{operation}: address {address} not available (hint: {hint})")]
    AddressNotAvailable {
        /// What was being done.
        operation: String,
        /// The address concerned.
        address: String,
        /// What to check.
        hint: String,
    },
    /// The operation did not finish in time.
    #[error("{operation} timed out after {after:?}")]
    Timeout {
        /// What was being done.
        operation: String,
        /// The bound that expired.
        after: Duration,
    },
    /// A remote service (database, peer) could not be reached.
    #[error("{operation}: {target} unreachable: {reason} (hint: {hint})")]
    Unreachable {
        /// What was being done.
        operation: String,
        /// The host or service, with any secret removed.
        target: String,
        /// Why.
        reason: String,
        /// What to check.
        hint: String,
    },
    /// The configuration given to a backend is invalid.
    #[error("invalid configuration: {key}: {problem}")]
    Config {
        /// The configuration key at fault.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An operating-system error not covered above.
    #[error("{operation} failed: {message} (os error {errno})")]
    Os {
        /// What was being done.
        operation: String,
        /// The raw errno.
        errno: i32,
        /// The system's description.
        message: String,
    },
    /// Anything else.
    #[error("{operation} failed: {message}")]
    Other {
        /// What was being done.
        operation: String,
        /// Description.
        message: String,
        /// Whether retrying may succeed.
        transient: bool,
    },
}

impl Error {
    /// True when retrying the same call may succeed (timeouts, unreachable peers, EAGAIN-like OS
    /// errors); false when it needs an operator (missing interface, permissions, bad config).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Unreachable { .. } => true,
            Error::InterfaceNotFound { .. }
            | Error::PermissionDenied { .. }
            | Error::AddressNotAvailable { .. }
            | Error::Config { .. } => false,
            Error::Os { errno, .. } => matches!(*errno, 4 | 11 | 16 | 105 | 110 | 111 | 113),
            Error::Other { transient, .. } => *transient,
        }
    }

    /// The operator hint, if this error carries one.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::InterfaceNotFound { .. } => Some("check the interface name with `ip link`"),
            Error::PermissionDenied { hint, .. }
            | Error::AddressNotAvailable { hint, .. }
            | Error::Unreachable { hint, .. } => Some(hint),
            _ => None,
        }
    }

    /// A timeout error for `operation` after `after`.
    pub fn timeout(operation: impl Into<String>, after: Duration) -> Self {
        Error::Timeout {
            operation: operation.into(),
            after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_versus_permanent() {
        assert!(Error::timeout("probe", Duration::from_millis(50)).is_transient());
        let e = Error::InterfaceNotFound {
            interface: "eth9".into(),
        };
        assert!(!e.is_transient());
        assert!(e.to_string().contains("eth9"));
        assert!(e.hint().is_some());
        let p = Error::PermissionDenied {
            operation: "add".into(),
            hint: "grant CAP_NET_ADMIN".into(),
        };
        assert!(p.to_string().contains("CAP_NET_ADMIN"));
    }
}
