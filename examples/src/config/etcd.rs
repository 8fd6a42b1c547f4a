//! `[instance.etcd]`: gate the instance's VIPs on etcd (vip-etcd). Without a `patroni`
//! sub-table the node holds its own lease-bound key (`key_prefix` + instance name); with one,
//! it follows a Patroni cluster's leader key instead.
//!
//! ```toml
//! [instance.etcd]
//! endpoints = ["http://198.51.100.11:2379", "http://198.51.100.12:2379"]
//! member = "node1"          # default: the host name
//! ttl = "2s"                # lease TTL, whole seconds, at least 2
//! drift = 0.05              # clock-rate allowance, fraction of the TTL
//! margin = "300ms"          # removal margin kept before the lease can run out
//! key_prefix = "/vip/"
//! # request_timeout = "600ms"   # default: TTL / 3
//! # call_timeout = "1200ms"     # bound on one arbiter call; default: 2 x request_timeout
//! # user = "vip"
//! # password = "..."            # never logged
//! # [instance.etcd.tls]
//! # ca = "/etc/vip/etcd-ca.pem"
//! # cert = "/etc/vip/etcd-client.pem"
//! # key = "/etc/vip/etcd-client.key"
//! # [instance.etcd.patroni]     # follow Patroni instead of holding a lease
//! # namespace = "/service"
//! # scope = "batman"
//! # interval = "1s"
//! ```
//!
//! vip-etcd is in vipd only with the cargo feature `etcd` (its size cost is measured in
//! vip-etcd's crate documentation); without it the table is still read, and refused with a hint.

use std::fmt;

use serde::Deserialize;

use super::values::RawDuration;
#[cfg(feature = "etcd")]
pub use with_etcd::{ArbiterConfig, validate};
#[cfg(not(feature = "etcd"))]
pub use without_etcd::{ArbiterConfig, validate};

/// `instance.etcd` as read.
#[cfg_attr(not(feature = "etcd"), allow(dead_code))]
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEtcd {
    /// Client URLs.
    pub endpoints: Option<Vec<String>>,
    /// This node's name in etcd.
    pub member: Option<String>,
    /// etcd user.
    pub user: Option<String>,
    /// etcd password.
    pub password: Option<String>,
    /// Lease TTL.
    pub ttl: Option<RawDuration>,
    /// Clock-rate allowance.
    pub drift: Option<f64>,
    /// Removal margin.
    pub margin: Option<RawDuration>,
    /// Key prefix.
    pub key_prefix: Option<String>,
    /// Bound on one request.
    pub request_timeout: Option<RawDuration>,
    /// Bound on one arbiter call.
    pub call_timeout: Option<RawDuration>,
    /// TLS files.
    pub tls: Option<RawTls>,
    /// Follow Patroni.
    pub patroni: Option<RawPatroni>,
}

impl fmt::Debug for RawEtcd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawEtcd")
            .field("endpoints", &self.endpoints)
            .field("member", &self.member)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("patroni", &self.patroni)
            .finish_non_exhaustive()
    }
}

/// `instance.etcd.tls`.
#[cfg_attr(not(feature = "etcd"), allow(dead_code))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// CA file.
    pub ca: Option<String>,
    /// Client certificate.
    pub cert: Option<String>,
    /// Client key.
    pub key: Option<String>,
}

/// `instance.etcd.patroni`.
#[cfg_attr(not(feature = "etcd"), allow(dead_code))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPatroni {
    /// Patroni's namespace.
    pub namespace: Option<String>,
    /// Patroni's scope.
    pub scope: Option<String>,
    /// How often the leader key is read.
    pub interval: Option<RawDuration>,
}

#[cfg(feature = "etcd")]
mod with_etcd {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::Duration;

    use vip_core::{Error, OwnershipArbiter};
    use vip_etcd::{EtcdArbiter, EtcdConfig, PatroniConfig, PatroniLeader, TlsConfig};

    use super::super::error::ConfigError;
    use super::super::values::{RawDuration, parse_duration};
    use super::RawEtcd;

    /// The validated `[instance.etcd]`.
    #[derive(Debug, Clone, PartialEq)]
    pub enum ArbiterConfig {
        /// Hold a lease-bound key of our own.
        Lease {
            /// Connection and lease timing.
            etcd: EtcdConfig,
            /// This node's name (the key's value).
            member: String,
        },
        /// Follow Patroni's leader key.
        Patroni(PatroniConfig),
    }

    fn host_name() -> String {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    }

    /// Validates `instance.etcd` at `path` (`instance[NAME].etcd`), pushing every problem.
    pub fn validate(
        path: &str,
        raw: RawEtcd,
        errors: &mut Vec<ConfigError>,
    ) -> Option<ArbiterConfig> {
        let before = errors.len();
        let mut dur = |key: &str, v: Option<RawDuration>, default: Duration| match v {
            None => default,
            Some(r) => parse_duration(&r.0).unwrap_or_else(|e| {
                errors.push(ConfigError::new(format!("{path}.{key}"), e));
                default
            }),
        };
        let mut etcd = EtcdConfig::new(raw.endpoints.unwrap_or_default());
        etcd.ttl = dur("ttl", raw.ttl, etcd.ttl);
        etcd.margin = dur("margin", raw.margin, etcd.margin);
        etcd.request_timeout = raw
            .request_timeout
            .map(|r| dur("request_timeout", Some(r), Duration::ZERO));
        etcd.call_timeout = raw
            .call_timeout
            .map(|r| dur("call_timeout", Some(r), Duration::ZERO));
        let patroni_interval = raw.patroni.as_ref().map(|p| {
            dur(
                "patroni.interval",
                p.interval.clone(),
                Duration::from_secs(1),
            )
        });
        if let Some(d) = raw.drift {
            etcd.drift = d;
        }
        if let Some(p) = raw.key_prefix {
            etcd.key_prefix = p;
        }
        etcd.user = raw.user;
        etcd.password = raw.password;
        if let Some(t) = raw.tls {
            match t.ca {
                Some(ca) => {
                    etcd.tls = Some(TlsConfig {
                        ca: PathBuf::from(ca),
                        cert: t.cert.map(PathBuf::from),
                        key: t.key.map(PathBuf::from),
                    })
                }
                None => errors.push(ConfigError::new(
                    format!("{path}.tls.ca"),
                    "missing: the CA that signed the etcd members' certificates",
                )),
            }
        }
        let member = raw.member.unwrap_or_else(host_name);
        if member.is_empty() {
            errors.push(ConfigError::new(
                format!("{path}.member"),
                "empty (and no host name to default to): set this node's name",
            ));
        }
        // The library's own checks name keys as `etcd.<key>`.
        let at = |e: vip_etcd::ConfigError| {
            let key = e.key.strip_prefix("etcd.").unwrap_or(&e.key).to_string();
            ConfigError::new(
                format!("{path}.{key}"),
                format!("{} (hint: {})", e.reason, e.hint),
            )
        };
        if let Err(e) = etcd.validate() {
            errors.push(at(e));
        }
        if errors.len() > before {
            return None;
        }
        match raw.patroni {
            None => Some(ArbiterConfig::Lease { etcd, member }),
            Some(p) => {
                let Some(scope) = p.scope else {
                    errors.push(ConfigError::new(
                        format!("{path}.patroni.scope"),
                        "missing: Patroni's `scope` (the cluster name)",
                    ));
                    return None;
                };
                Some(ArbiterConfig::Patroni(PatroniConfig {
                    etcd,
                    namespace: p.namespace.unwrap_or_else(|| "/service".into()),
                    scope,
                    member,
                    interval: patroni_interval.unwrap_or(Duration::from_secs(1)),
                }))
            }
        }
    }

    impl ArbiterConfig {
        /// How long one arbiter call may take (`call_timeout`, default two etcd requests):
        /// the instance's `Timeouts::arbiter`.
        pub fn call_bound(&self) -> Duration {
            let etcd = match self {
                ArbiterConfig::Lease { etcd, .. } => etcd,
                ArbiterConfig::Patroni(p) => &p.etcd,
            };
            etcd.call_timeout()
        }

        /// Builds the arbiter for `instance`.
        pub fn build(&self, instance: &str) -> Result<Arc<dyn OwnershipArbiter>, Error> {
            let key = format!("instance[{instance}].etcd");
            let err = |e: vip_etcd::ConfigError| Error::Config {
                key: format!("{key}.{}", e.key.strip_prefix("etcd.").unwrap_or(&e.key)),
                problem: format!("{} (hint: {})", e.reason, e.hint),
            };
            Ok(match self {
                ArbiterConfig::Lease { etcd, member } => {
                    Arc::new(EtcdArbiter::new(etcd.clone(), instance, member).map_err(err)?)
                }
                ArbiterConfig::Patroni(p) => Arc::new(PatroniLeader::new(p.clone()).map_err(err)?),
            })
        }
    }
}

#[cfg(not(feature = "etcd"))]
mod without_etcd {
    use std::sync::Arc;
    use std::time::Duration;

    use vip_core::{Error, OwnershipArbiter};

    use super::super::error::ConfigError;
    use super::RawEtcd;

    /// The validated `[instance.etcd]`: none in a vipd built without the `etcd` feature.
    #[derive(Debug, Clone, PartialEq)]
    pub enum ArbiterConfig {}

    /// Refuses `instance.etcd` at `path`: this vipd has no etcd support.
    pub fn validate(
        path: &str,
        _raw: RawEtcd,
        errors: &mut Vec<ConfigError>,
    ) -> Option<ArbiterConfig> {
        errors.push(ConfigError::new(
            path,
            "this vipd was built without etcd support (hint: build it with `cargo build --features etcd`)",
        ));
        None
    }

    impl ArbiterConfig {
        /// How long one arbiter call may take (never called: there is no value).
        pub fn call_bound(&self) -> Duration {
            match *self {}
        }

        /// Builds the arbiter (never called: there is no value).
        pub fn build(&self, _instance: &str) -> Result<Arc<dyn OwnershipArbiter>, Error> {
            match *self {}
        }
    }
}

#[cfg(all(test, not(feature = "etcd")))]
mod tests {
    #[test]
    fn without_the_feature_the_table_is_refused_with_a_hint() {
        let text = "[[instance]]\nname = \"db\"\ninterface = \"eth0\"\nvrid = 1\nvips = [\"198.51.100.1/32\"]\n[instance.etcd]\nendpoints = [\"http://198.51.100.11:2379\"]\n";
        let errs = crate::config::parse(text).unwrap_err();
        assert!(errs.has("instance[db].etcd", "--features etcd"), "{errs}");
    }
}
