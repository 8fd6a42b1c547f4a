//! Typed errors of the etcd backend, each with a hint, and their mapping onto
//! [`vip_core::ArbiterError`].

use vip_core::ArbiterError;

/// A configuration value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason} (hint: {hint})")]
pub struct ConfigError {
    /// The configuration key (for instance `etcd.ttl`).
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
    /// What would do.
    pub hint: String,
}

/// What went wrong talking to etcd.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdError {
    /// No endpoint accepted a connection.
    #[error(
        "no etcd endpoint reachable ({detail}) (hint: check etcd.endpoints, that etcd runs and that the port is open)"
    )]
    Unreachable {
        /// The last connection error, per endpoint.
        detail: String,
    },
    /// The TLS handshake or the TLS material failed.
    #[error(
        "etcd TLS: {detail} (hint: check etcd.tls.ca / cert / key and that the endpoint name matches the certificate)"
    )]
    Tls {
        /// What failed.
        detail: String,
    },
    /// etcd rejected the user or password, or the user lacks a permission.
    #[error(
        "etcd authentication: {detail} (hint: check etcd.user and etcd.password and the user's role on the key prefix)"
    )]
    Auth {
        /// etcd's message.
        detail: String,
    },
    /// The instance key exists with no lease: something other than vip wrote it, and it would
    /// never expire.
    #[error(
        "etcd key {key} holds `{value}` without a lease (hint: not written by vip; delete it or choose another etcd.key_prefix)"
    )]
    ForeignKey {
        /// The key.
        key: String,
        /// Its value.
        value: String,
    },
    /// A request did not complete within the request timeout.
    #[error(
        "etcd answered too slowly: {detail} (hint: etcd or its disk is overloaded; check etcd's fsync latency, or raise etcd.request_timeout / etcd.ttl)"
    )]
    Slow {
        /// Which request.
        detail: String,
    },
    /// etcd answered with an error.
    #[error("etcd error: {detail} (hint: see etcd's log)")]
    Server {
        /// etcd's message.
        detail: String,
        /// The gRPC status code, when given.
        code: i64,
    },
    /// etcd has no leader (a lost quorum).
    #[error(
        "etcd has no leader: {detail} (hint: a majority of the etcd members must be up and connected)"
    )]
    NoLeader {
        /// etcd's message.
        detail: String,
    },
    /// The answer could not be understood.
    #[error(
        "etcd answered something unexpected: {detail} (hint: is this an etcd v3.4+ client URL?)"
    )]
    Protocol {
        /// What was unexpected.
        detail: String,
    },
}

impl EtcdError {
    /// The message and the hint, apart.
    pub fn reason_and_hint(&self) -> (String, String) {
        let text = self.to_string();
        match text.rsplit_once(" (hint: ") {
            Some((r, h)) => (r.to_string(), h.trim_end_matches(')').to_string()),
            None => (text, String::new()),
        }
    }

    /// The arbiter error this becomes: configuration problems are `Refused`, the rest
    /// `Unavailable`.
    pub fn into_arbiter(self) -> ArbiterError {
        let backend = "etcd".to_string();
        let (reason, hint) = self.reason_and_hint();
        match self {
            EtcdError::Tls { .. } | EtcdError::Auth { .. } | EtcdError::ForeignKey { .. } => {
                ArbiterError::Refused {
                    backend,
                    reason,
                    hint,
                }
            }
            _ => ArbiterError::Unavailable {
                backend,
                reason,
                hint,
            },
        }
    }

    /// Classifies an error answer of etcd (gRPC code and message).
    pub fn from_status(code: i64, message: &str) -> EtcdError {
        let detail = message.to_string();
        if message.contains("no leader") {
            EtcdError::NoLeader { detail }
        } else if code == 16
            || code == 7
            || message.contains("authentication failed")
            || message.contains("permission denied")
            || message.contains("user name is empty")
        {
            EtcdError::Auth { detail }
        } else if code == 4 || message.contains("timed out") {
            EtcdError::Slow { detail }
        } else {
            EtcdError::Server { detail, code }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_and_tls_are_refusals_with_hints() {
        let e = EtcdError::from_status(
            3,
            "etcdserver: authentication failed, invalid user ID or password",
        );
        assert!(matches!(e, EtcdError::Auth { .. }));
        match e.into_arbiter() {
            ArbiterError::Refused { hint, .. } => assert!(hint.contains("etcd.password")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unreachable_and_slow_are_unavailable() {
        for e in [
            EtcdError::Unreachable { detail: "x".into() },
            EtcdError::Slow { detail: "x".into() },
            EtcdError::from_status(14, "etcdserver: no leader"),
        ] {
            assert!(matches!(e.into_arbiter(), ArbiterError::Unavailable { .. }));
        }
    }
}
