//! The etcd arbiter's configuration: endpoints, TLS, credentials and the lease timing.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::ConfigError;

/// TLS material for the etcd client (PEM files).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// The CA that signed the etcd members' certificates (`etcd.tls.ca`).
    pub ca: PathBuf,
    /// This node's client certificate, when etcd asks for one (`etcd.tls.cert`).
    pub cert: Option<PathBuf>,
    /// The key of the client certificate (`etcd.tls.key`).
    pub key: Option<PathBuf>,
}

/// How to reach etcd and how to hold the ownership lease.
#[derive(Clone, PartialEq)]
pub struct EtcdConfig {
    /// Client URLs of the etcd members, `http://host:port` or `https://host:port`
    /// (`etcd.endpoints`). Tried in order; the last one that answered is tried first.
    pub endpoints: Vec<String>,
    /// TLS material; required for `https://` endpoints (`etcd.tls`).
    pub tls: Option<TlsConfig>,
    /// The etcd user, when etcd has authentication on (`etcd.user`).
    pub user: Option<String>,
    /// The user's password (`etcd.password`). Never logged: `Debug` prints `<redacted>`.
    pub password: Option<String>,
    /// The lease's time to live (`etcd.ttl`, whole seconds, at least 2).
    pub ttl: Duration,
    /// The clock-rate allowance between this node and the etcd leader, as a fraction of the TTL
    /// (`etcd.drift`, default 0.05: 5 %).
    pub drift: f64,
    /// Time kept in hand to remove the VIPs before the lease can run out (`etcd.margin`,
    /// default 300 ms).
    pub margin: Duration,
    /// The prefix of the instance keys (`etcd.key_prefix`, default `/vip/`): the key is the
    /// prefix followed by the instance name.
    pub key_prefix: String,
    /// How long one request may take before the endpoint counts as slow (`etcd.request_timeout`,
    /// default TTL / 3).
    pub request_timeout: Option<Duration>,
    /// Bound on one arbiter call (acquire, release, revoke) as the daemon's runtime enforces
    /// it (`etcd.call_timeout`, default 2 x the request timeout: an acquire is a lease grant
    /// and then a transaction).
    pub call_timeout: Option<Duration>,
}

impl fmt::Debug for EtcdConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdConfig")
            .field("endpoints", &self.endpoints)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ttl", &self.ttl)
            .field("drift", &self.drift)
            .field("margin", &self.margin)
            .field("key_prefix", &self.key_prefix)
            .field("request_timeout", &self.request_timeout)
            .field("call_timeout", &self.call_timeout)
            .finish()
    }
}

/// The default TTL (`etcd.ttl`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(2);
/// The default drift allowance (`etcd.drift`).
pub const DEFAULT_DRIFT: f64 = 0.05;
/// The default removal margin (`etcd.margin`).
pub const DEFAULT_MARGIN: Duration = Duration::from_millis(300);
/// The default key prefix (`etcd.key_prefix`).
pub const DEFAULT_KEY_PREFIX: &str = "/vip/";

impl EtcdConfig {
    /// A configuration with the defaults for everything but the endpoints.
    pub fn new(endpoints: Vec<String>) -> EtcdConfig {
        EtcdConfig {
            endpoints,
            tls: None,
            user: None,
            password: None,
            ttl: DEFAULT_TTL,
            drift: DEFAULT_DRIFT,
            margin: DEFAULT_MARGIN,
            key_prefix: DEFAULT_KEY_PREFIX.to_string(),
            request_timeout: None,
            call_timeout: None,
        }
    }

    /// The time between keepalives: a third of the TTL.
    pub fn keepalive_interval(&self) -> Duration {
        self.ttl / 3
    }

    /// The limit on one request (`request_timeout`, else a third of the TTL).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout.unwrap_or(self.ttl / 3)
    }

    /// The bound on one arbiter call (`call_timeout`, else twice the request timeout).
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout.unwrap_or(self.request_timeout() * 2)
    }

    /// How long a grant lasts after the keepalive that renewed it was sent, for a lease of
    /// `ttl`: `ttl x (1 - drift) - margin` (zero when the margin eats it all).
    pub fn hold_for(&self, ttl: Duration) -> Duration {
        ttl.mul_f64(1.0 - self.drift).saturating_sub(self.margin)
    }

    /// Checks the values; each error names its key and says what would do.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, reason: String, hint: &str| {
            Err(ConfigError {
                key: key.to_string(),
                reason,
                hint: hint.to_string(),
            })
        };
        if self.endpoints.is_empty() {
            return bad(
                "etcd.endpoints",
                "no endpoints".into(),
                "list the client URLs of the etcd members, e.g. [\"http://10.0.0.1:2379\"]",
            );
        }
        for e in &self.endpoints {
            let tls = e.starts_with("https://");
            if !tls && !e.starts_with("http://") {
                return bad(
                    "etcd.endpoints",
                    format!("`{e}` is not an http:// or https:// URL"),
                    "write each endpoint as http://host:port or https://host:port",
                );
            }
            if tls && self.tls.is_none() {
                return bad(
                    "etcd.tls",
                    format!("`{e}` is https:// but no TLS material is configured"),
                    "set etcd.tls.ca (and etcd.tls.cert/key when etcd asks for client certificates)",
                );
            }
        }
        if self.user.is_some() != self.password.is_some() {
            return bad(
                "etcd.password",
                "user and password must be set together".into(),
                "set both etcd.user and etcd.password, or neither",
            );
        }
        if let Some(tls) = &self.tls
            && tls.cert.is_some() != tls.key.is_some()
        {
            return bad(
                "etcd.tls.key",
                "a client certificate needs its key and the other way round".into(),
                "set both etcd.tls.cert and etcd.tls.key, or neither",
            );
        }
        if self.ttl < Duration::from_secs(2) || self.ttl.subsec_nanos() != 0 {
            return bad(
                "etcd.ttl",
                format!(
                    "{:?} is not a whole number of seconds of at least 2",
                    self.ttl
                ),
                "etcd leases count whole seconds; use 2 or more",
            );
        }
        if !(0.0..0.5).contains(&self.drift) {
            return bad(
                "etcd.drift",
                format!("{} is outside 0 to 0.5", self.drift),
                "the drift is a fraction of the TTL, e.g. 0.05 for 5 %",
            );
        }
        // A renewal sent one keepalive interval after the last must still land before the
        // deadline, with a request timeout to spare.
        let needed = self.keepalive_interval() + self.request_timeout();
        if self.hold_for(self.ttl) <= needed {
            return bad(
                "etcd.margin",
                format!(
                    "ttl x (1 - drift) - margin = {:?} leaves no room for a renewal ({:?} needed)",
                    self.hold_for(self.ttl),
                    needed
                ),
                "raise etcd.ttl or lower etcd.margin / etcd.drift / etcd.request_timeout",
            );
        }
        if self.call_timeout() < self.request_timeout() {
            return bad(
                "etcd.call_timeout",
                format!(
                    "{:?} is shorter than one request ({:?})",
                    self.call_timeout(),
                    self.request_timeout()
                ),
                "an acquire is two requests: leave it unset (2 x request_timeout) or raise it",
            );
        }
        if !self.key_prefix.starts_with('/') {
            return bad(
                "etcd.key_prefix",
                format!("`{}` does not start with /", self.key_prefix),
                "use a path such as /vip/",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_never_printed() {
        let mut c = EtcdConfig::new(vec!["http://127.0.0.1:2379".into()]);
        c.user = Some("vip".into());
        c.password = Some("s3cret".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn defaults_are_valid_and_leave_room_for_renewals() {
        let c = EtcdConfig::new(vec!["http://127.0.0.1:2379".into()]);
        c.validate().unwrap();
        assert!(c.hold_for(c.ttl) > c.keepalive_interval() * 2);
    }

    #[test]
    fn bad_values_name_their_key() {
        let base = EtcdConfig::new(vec!["http://127.0.0.1:2379".into()]);
        let cases: Vec<(EtcdConfig, &str)> = vec![
            (EtcdConfig::new(vec![]), "etcd.endpoints"),
            (
                EtcdConfig::new(vec!["127.0.0.1:2379".into()]),
                "etcd.endpoints",
            ),
            (EtcdConfig::new(vec!["https://h:2379".into()]), "etcd.tls"),
            (
                EtcdConfig {
                    user: Some("u".into()),
                    ..base.clone()
                },
                "etcd.password",
            ),
            (
                EtcdConfig {
                    ttl: Duration::from_millis(1500),
                    ..base.clone()
                },
                "etcd.ttl",
            ),
            (
                EtcdConfig {
                    drift: 0.7,
                    ..base.clone()
                },
                "etcd.drift",
            ),
            (
                EtcdConfig {
                    margin: Duration::from_secs(1),
                    ..base.clone()
                },
                "etcd.margin",
            ),
            (
                EtcdConfig {
                    key_prefix: "vip".into(),
                    ..base.clone()
                },
                "etcd.key_prefix",
            ),
        ];
        for (c, key) in cases {
            let e = c.validate().unwrap_err();
            assert_eq!(e.key, key, "{e}");
        }
    }
}
