//! A virtual service and its validation: the configuration `vip-lb` is given.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use crate::LbError;

/// The transport protocol of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        })
    }
}

/// How new connections are spread (keepalived's `lb_algo` names).
///
/// Least-connection (`lc`, `wlc`, `lblc`, `lblcr`, `sed`, `nq`, `fo`, `ovf`, `mh`) cannot be
/// done in nftables: the verdict for a connection's first packet has no per-backend connection
/// state to compare. They are rejected by name with [`LbError::UnsupportedScheduler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheduler {
    /// Round robin: each healthy server in turn, weights ignored (`numgen inc`).
    Rr,
    /// Weighted round robin: each server in proportion to its weight (`numgen inc` over slots
    /// repeated by weight).
    Wrr,
    /// Source hashing: one client address always to the same server while the set is unchanged
    /// (`jhash ip saddr`), weights honoured.
    Sh,
    /// Destination hashing (`jhash ip daddr`). Behind one VIP every connection has the same
    /// destination, so all go to one server: keepalived's `dh` on a single VIP is an
    /// active/passive pool.
    Dh,
}

impl Scheduler {
    /// keepalived's name.
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Sh => "sh",
            Scheduler::Dh => "dh",
        }
    }
}

impl std::fmt::Display for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheduler {
    type Err = LbError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rr" => Ok(Scheduler::Rr),
            "wrr" => Ok(Scheduler::Wrr),
            "sh" => Ok(Scheduler::Sh),
            "dh" => Ok(Scheduler::Dh),
            other => Err(LbError::UnsupportedScheduler {
                name: other.to_string(),
            }),
        }
    }
}

/// One real server (backend) of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealServer {
    /// Where connections are sent (DNAT target).
    pub addr: SocketAddr,
    /// keepalived's `weight`; 0 = drained (no new connections).
    pub weight: u32,
}

/// How the checks of a service run (keepalived's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckPolicy {
    /// Time between checks of a server (`delay_loop`).
    pub delay_loop: Duration,
    /// Longest a check may take (`connect_timeout` / `misc_timeout`); longer is a failure.
    pub timeout: Duration,
    /// keepalived's `retry`: after a first failure, this many failed retries more before the
    /// server leaves (it leaves at failure number `retry + 1`, as in keepalived).
    pub retry: u32,
    /// Time between retries after a failure (`delay_before_retry`).
    pub delay_before_retry: Duration,
    /// keepalived's `inhibit_on_failure`: a failed server stays listed with weight 0 instead of
    /// being removed. In nftables both mean "no new connections"; established ones keep their
    /// conntrack NAT binding either way.
    pub inhibit_on_failure: bool,
}

impl Default for CheckPolicy {
    fn default() -> Self {
        CheckPolicy {
            delay_loop: Duration::from_secs(6),
            timeout: Duration::from_secs(5),
            retry: 1,
            delay_before_retry: Duration::from_secs(1),
            inhibit_on_failure: false,
        }
    }
}

/// One virtual service: VIP:port balanced over real servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualService {
    /// Unique per node; used in status and metrics.
    pub name: String,
    /// The virtual address (the VIP the service follows).
    pub vip: IpAddr,
    /// The virtual port.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// How new connections are spread.
    pub scheduler: Scheduler,
    /// The backends.
    pub real_servers: Vec<RealServer>,
    /// Where connections go when no real server is healthy or quorum is lost.
    pub sorry_server: Option<SocketAddr>,
    /// Sum of healthy weights needed for the service to be up (keepalived `quorum`).
    pub quorum: u32,
    /// keepalived's `hysteresis`: quorum is up when the healthy weight sum reaches `quorum`,
    /// and down when it falls below `quorum - hysteresis`.
    pub hysteresis: u32,
    /// How checks run.
    pub policy: CheckPolicy,
}

/// The longest name a service may have (it is part of nftables chain and map names, which the
/// kernel limits to 256 bytes; kept short for `nft list` readability).
pub const MAX_NAME_LEN: usize = 64;

impl VirtualService {
    /// Checks the service on its own: a name, at least one real server, no duplicate, same
    /// address family as the VIP everywhere, timings above zero, hysteresis below quorum.
    pub fn validate(&self) -> Result<(), LbError> {
        let n = &self.name;
        if n.is_empty()
            || n.len() > MAX_NAME_LEN
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(LbError::config(
                n,
                "name",
                format!("must be 1 to {MAX_NAME_LEN} of A-Z a-z 0-9 - _ ."),
            ));
        }
        if self.port == 0 {
            return Err(LbError::config(n, "port", "must be 1..=65535"));
        }
        if self.real_servers.is_empty() {
            return Err(LbError::config(n, "real_server", "at least one is needed"));
        }
        let v4 = self.vip.is_ipv4();
        for (i, rs) in self.real_servers.iter().enumerate() {
            if rs.addr.is_ipv4() != v4 {
                return Err(LbError::config(
                    n,
                    &format!("real_server.{}", rs.addr),
                    "must be the same address family as the VIP (no NAT46/64)",
                ));
            }
            if rs.addr.port() == 0 {
                return Err(LbError::config(
                    n,
                    &format!("real_server.{}", rs.addr),
                    "port must be 1..=65535",
                ));
            }
            if self.real_servers[..i].iter().any(|o| o.addr == rs.addr) {
                return Err(LbError::config(
                    n,
                    &format!("real_server.{}", rs.addr),
                    "listed twice",
                ));
            }
        }
        if let Some(s) = self.sorry_server
            && (s.is_ipv4() != v4 || s.port() == 0)
        {
            return Err(LbError::config(
                n,
                "sorry_server",
                "must be the same address family as the VIP, port 1..=65535",
            ));
        }
        if self.hysteresis > 0 && self.hysteresis >= self.quorum {
            return Err(LbError::config(
                n,
                "hysteresis",
                "must be below quorum (quorum goes down below quorum - hysteresis)",
            ));
        }
        let p = &self.policy;
        if p.delay_loop.is_zero() {
            return Err(LbError::config(n, "delay_loop", "must be above 0"));
        }
        if p.timeout.is_zero() {
            return Err(LbError::config(n, "timeout", "must be above 0"));
        }
        if p.delay_before_retry.is_zero() {
            return Err(LbError::config(n, "delay_before_retry", "must be above 0"));
        }
        Ok(())
    }

    /// The index of the real server at `addr`.
    pub(crate) fn server_index(&self, addr: SocketAddr) -> Option<usize> {
        self.real_servers.iter().position(|r| r.addr == addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn svc() -> VirtualService {
        VirtualService {
            name: "db".into(),
            vip: "198.51.100.217".parse().unwrap(),
            port: 3306,
            protocol: Protocol::Tcp,
            scheduler: Scheduler::Dh,
            real_servers: vec![
                RealServer {
                    addr: "198.51.100.218:3306".parse().unwrap(),
                    weight: 100,
                },
                RealServer {
                    addr: "198.51.100.215:3306".parse().unwrap(),
                    weight: 100,
                },
            ],
            sorry_server: None,
            quorum: 1,
            hysteresis: 0,
            policy: CheckPolicy::default(),
        }
    }

    #[test]
    fn schedulers_parse_and_least_connection_is_refused_by_name() {
        for s in ["rr", "wrr", "sh", "dh"] {
            assert_eq!(s.parse::<Scheduler>().unwrap().name(), s);
        }
        let err = "wlc".parse::<Scheduler>().unwrap_err();
        assert!(matches!(err, LbError::UnsupportedScheduler { ref name } if name == "wlc"));
        assert!(err.to_string().contains("\"wlc\""));
    }

    #[test]
    fn validation_names_the_key() {
        assert!(svc().validate().is_ok());
        let mut s = svc();
        s.real_servers[1].addr = "[2001:db8::1]:3306".parse().unwrap();
        let e = s.validate().unwrap_err().to_string();
        assert!(
            e.starts_with("virtual_server.db.real_server.[2001:db8::1]:3306"),
            "{e}"
        );
        let mut s = svc();
        s.real_servers.push(s.real_servers[0]);
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
        let mut s = svc();
        s.hysteresis = 1;
        assert!(s.validate().unwrap_err().to_string().contains("hysteresis"));
        let mut s = svc();
        s.name = "a b".into();
        assert!(s.validate().unwrap_err().to_string().contains(".name"));
        let mut s = svc();
        s.real_servers.clear();
        assert!(s.validate().is_err());
    }
}
