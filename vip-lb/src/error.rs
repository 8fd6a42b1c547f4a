//! The crate's one error type.

/// What went wrong in configuring or running the balancer.
#[derive(Debug, thiserror::Error)]
pub enum LbError {
    /// A configuration value is wrong; `key` names it (`virtual_server.<name>.<key>`).
    #[error("{key}: {why}")]
    Config {
        /// The key at fault, e.g. `virtual_server.db.lb_algo`.
        key: String,
        /// Why it is wrong, with a hint.
        why: String,
    },
    /// An `lb_algo` nftables cannot do (least-connection and friends need per-backend
    /// connection state in the verdict path, which nftables does not have).
    #[error(
        "lb_algo {name:?} cannot be done on nftables (no per-backend connection state when \
         the first packet is steered); use one of rr, wrr, sh, dh"
    )]
    UnsupportedScheduler {
        /// The name as given.
        name: String,
    },
    /// No service of that name.
    #[error("no virtual service named {0:?}")]
    UnknownService(String),
    /// No real server at that address in the service.
    #[error("virtual service {service:?} has no real server {server}")]
    UnknownServer {
        /// The service.
        service: String,
        /// The address asked for.
        server: std::net::SocketAddr,
    },
    /// A netlink operation failed.
    #[error("netlink {op}: {source}{}", hint.map(|h| format!(" ({h})")).unwrap_or_default())]
    Netlink {
        /// What was being done (`write rules`, `remove table`, `conntrack dump`).
        op: &'static str,
        /// The error the kernel (or the socket) returned.
        source: std::io::Error,
        /// What to look at, when known.
        hint: Option<&'static str>,
    },
    /// The balancer has stopped.
    #[error("the balancer has stopped")]
    Stopped,
}

impl LbError {
    pub(crate) fn config(service: &str, key: &str, why: impl Into<String>) -> Self {
        LbError::Config {
            key: format!("virtual_server.{service}.{key}"),
            why: why.into(),
        }
    }

    /// A netlink error with a hint derived from the errno.
    pub(crate) fn netlink(op: &'static str, source: std::io::Error) -> Self {
        let hint = match source.raw_os_error() {
            Some(1) => Some("needs CAP_NET_ADMIN in the network namespace"),
            Some(2) | Some(95) => Some("is nf_tables (with nat, numgen, hash) in the kernel?"),
            _ => None,
        };
        LbError::Netlink { op, source, hint }
    }
}
