//! [`TransportError`]: why a transport could not be built or could not send.

use std::io;

use crate::wire::WireError;

/// A transport error. Received packets never produce one: they are dropped and counted in
/// [`super::TransportStats`].
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The configuration is inconsistent.
    #[error("invalid VRRP transport configuration: {key}: {problem}")]
    Config {
        /// The configuration key at fault.
        key: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The interface does not exist.
    #[error("interface {interface:?} not found (hint: check the interface name with `ip link`)")]
    InterfaceNotFound {
        /// The interface name.
        interface: String,
    },
    /// No address to send adverts from.
    #[error(
        "interface {interface:?} has no {what} address to send VRRP adverts from \
         (hint: add one, or set the source address)"
    )]
    NoSourceAddress {
        /// The interface name.
        interface: String,
        /// Which kind of address was looked for.
        what: &'static str,
    },
    /// A system call failed.
    #[error("{operation}: {source}")]
    Io {
        /// What was being done.
        operation: String,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// The advert could not be encoded.
    #[error("cannot encode the VRRP advert: {0}")]
    Encode(#[from] WireError),
}

impl TransportError {
    pub(crate) fn io(operation: impl Into<String>) -> impl FnOnce(io::Error) -> TransportError {
        let operation = operation.into();
        move |source| TransportError::Io { operation, source }
    }
}

impl From<TransportError> for vip_core::Error {
    fn from(e: TransportError) -> vip_core::Error {
        match e {
            TransportError::Config { key, problem } => vip_core::Error::Config {
                key: key.to_string(),
                problem,
            },
            TransportError::InterfaceNotFound { interface } => {
                vip_core::Error::InterfaceNotFound { interface }
            }
            TransportError::NoSourceAddress { interface, what } => {
                vip_core::Error::AddressNotAvailable {
                    operation: "sending VRRP adverts".into(),
                    address: format!("{what} address of {interface}"),
                    hint: "add an address to the interface, or set the source address".into(),
                }
            }
            TransportError::Io { operation, source } => match source.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => vip_core::Error::PermissionDenied {
                    operation,
                    hint: "run as root or grant CAP_NET_RAW".into(),
                },
                Some(errno) => vip_core::Error::Os {
                    operation,
                    errno,
                    message: source.to_string(),
                },
                None => vip_core::Error::Other {
                    operation,
                    message: source.to_string(),
                    transient: true,
                },
            },
            TransportError::Encode(w) => vip_core::Error::Other {
                operation: "encoding a VRRP advert".into(),
                message: w.to_string(),
                transient: false,
            },
        }
    }
}
