//! What vipd exposes per probe: conninfo, node, interval, timeout (and the reconnect back-off).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::backoff::BackoffConfig;
use crate::error::PgError;
use crate::redact::redact;

/// Default time between probes (the daemon schedules them; the probe only carries it). Same as
/// vip-core's `RoleSchedule` default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// Default bound of one probe (connect and statements). Same as vip-core's `RoleSchedule` default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// Settings shared by both probes.
#[derive(Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// libpq-style conninfo (`host=... port=... user=... dbname=... password=...`) or a
    /// `postgresql://` URI. May contain a password: it is never shown by `Debug` or in errors.
    pub conninfo: String,
    /// How often the daemon should probe.
    pub interval: Duration,
    /// The bound of one probe, covering connect and statements.
    pub timeout: Duration,
    /// The reconnect back-off.
    pub backoff: BackoffConfig,
}

impl ProbeConfig {
    /// Settings with the given conninfo and default interval, timeout and back-off.
    pub fn new(conninfo: impl Into<String>) -> Self {
        ProbeConfig {
            conninfo: conninfo.into(),
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            backoff: BackoffConfig::default(),
        }
    }

    /// Sets the probe interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the probe timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the reconnect back-off.
    pub fn backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }

    /// Checks the settings and turns the conninfo into a driver configuration with the socket
    /// options that keep a dead or hung server from holding the probe: connect timeout and TCP user
    /// timeout default to the probe timeout, TCP keepalives are on.
    pub(crate) fn driver_config(&self) -> Result<tokio_postgres::Config, PgError> {
        if self.timeout.is_zero() {
            return Err(PgError::config(
                "timeout",
                "must be greater than zero",
                None,
            ));
        }
        if self.interval.is_zero() {
            return Err(PgError::config(
                "interval",
                "must be greater than zero",
                None,
            ));
        }
        if self.backoff.initial.is_zero() || self.backoff.max < self.backoff.initial {
            return Err(PgError::config("backoff", "need 0 < initial <= max", None));
        }
        let mut config = tokio_postgres::Config::from_str(&self.conninfo).map_err(|e| {
            // The parser's message may quote the offending text; `config` masks password pairs.
            PgError::config("conninfo", &e.to_string(), None)
        })?;
        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            return Err(PgError::config("conninfo", "no host given", None));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(self.timeout);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(self.timeout.max(Duration::from_millis(500)));
        }
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(5));
        config.keepalives_interval(Duration::from_secs(1));
        config.keepalives_retries(3);
        if config.get_application_name().is_none() {
            config.application_name("vip-probe");
        }
        Ok(config)
    }
}

impl fmt::Debug for ProbeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeConfig")
            .field("conninfo", &redact(&self.conninfo, None))
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// How a repmgr node is looked up in `repmgr.nodes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeSelector {
    /// By `node_name` (repmgr.conf `node_name`).
    Name(String),
    /// By `node_id` (repmgr.conf `node_id`).
    Id(i32),
}

impl fmt::Display for NodeSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeSelector::Name(n) => write!(f, "name {n:?}"),
            NodeSelector::Id(i) => write!(f, "id {i}"),
        }
    }
}

/// A short description of where a driver configuration points, for errors: hosts, ports,
/// database and user. Never the password.
pub(crate) fn describe_target(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = if config.get_hosts().is_empty() {
        config
            .get_hostaddrs()
            .iter()
            .map(ToString::to_string)
            .collect()
    } else {
        config
            .get_hosts()
            .iter()
            .map(|h| match h {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .collect()
    };
    let ports: Vec<String> = config.get_ports().iter().map(ToString::to_string).collect();
    let port = if ports.is_empty() {
        "5432".to_owned()
    } else {
        ports.join(",")
    };
    format!(
        "{}:{} db={} user={}",
        hosts.join(","),
        port,
        config.get_dbname().unwrap_or("(default)"),
        config.get_user().unwrap_or("(default)")
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let c = ProbeConfig::new("host=db user=vip password=hunter2 dbname=x");
        let d = format!("{c:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("host=db"));
    }

    #[test]
    fn rejects_bad_settings_with_typed_errors() {
        let e = ProbeConfig::new("host=db")
            .timeout(Duration::ZERO)
            .driver_config()
            .unwrap_err();
        assert!(matches!(e, PgError::Config { ref key, .. } if key == "timeout"));
        let e = ProbeConfig::new("user=x password=hunter2 bogus_key=1")
            .driver_config()
            .unwrap_err();
        assert!(matches!(e, PgError::Config { ref key, .. } if key == "conninfo"));
        assert!(!e.to_string().contains("hunter2"));
        let e = ProbeConfig::new("user=x").driver_config().unwrap_err();
        assert!(e.to_string().contains("no host"), "{e}");
    }

    #[test]
    fn fills_socket_bounds_from_the_timeout() {
        let c = ProbeConfig::new("host=db")
            .timeout(Duration::from_millis(700))
            .driver_config()
            .unwrap();
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_millis(700)));
        assert!(c.get_keepalives());
        let t = describe_target(&c);
        assert_eq!(t, "db:5432 db=(default) user=(default)");
    }
}
