//! STUB of the crate `vip-lb` (issue 16), mirroring /work/wt/LB-INTERFACE.md so that vipd's
//! side builds before `lb-core`'s crate is merged. It writes no rules and runs no checks: it
//! remembers the services and the `set_active` calls. Deleted when the real crate is merged
//! (vipd then uses `vip_lb::` instead of `crate::vip_lb::`).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

/// TCP or UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// keepalived's lb_algo names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Source hashing.
    Sh,
    /// Destination hashing.
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

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        })
    }
}

impl FromStr for Scheduler {
    type Err = LbError;

    fn from_str(s: &str) -> Result<Self, LbError> {
        match s {
            "rr" => Ok(Scheduler::Rr),
            "wrr" => Ok(Scheduler::Wrr),
            "sh" => Ok(Scheduler::Sh),
            "dh" => Ok(Scheduler::Dh),
            other => Err(LbError::Config {
                key: "lb_algo".into(),
                why: format!("{other:?} is not a scheduler (rr, wrr, sh or dh)"),
            }),
        }
    }
}

/// A real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// Address and port.
    pub addr: SocketAddr,
    /// Weight; 0 = drained.
    pub weight: u32,
}

/// Check timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckPolicy {
    /// Period.
    pub delay_loop: Duration,
    /// Bound of one check.
    pub timeout: Duration,
    /// Failures in a row before the server leaves.
    pub retry: u32,
    /// Gap between retries after a failure.
    pub delay_before_retry: Duration,
    /// Keep with weight 0 instead of removing.
    pub inhibit_on_failure: bool,
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualService {
    /// Unique name.
    pub name: String,
    /// The VIP.
    pub vip: IpAddr,
    /// Port.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Scheduler.
    pub scheduler: Scheduler,
    /// Real servers.
    pub real_servers: Vec<RealServer>,
    /// Used when quorum is lost.
    pub sorry_server: Option<SocketAddr>,
    /// Sum of healthy weights needed.
    pub quorum: u32,
    /// keepalived hysteresis.
    pub hysteresis: u32,
    /// Check timing.
    pub policy: CheckPolicy,
}

impl VirtualService {
    /// Checks the service.
    pub fn validate(&self) -> Result<(), LbError> {
        Ok(())
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Healthy, with a new weight for misc_dynamic.
    Up {
        /// New weight.
        weight: Option<u32>,
    },
    /// Not healthy, why.
    Down(String),
}

/// One check of one real server.
#[async_trait]
pub trait RealServerCheck: Send + Sync {
    /// Runs once.
    async fn check(&self) -> CheckOutcome;
    /// For logs.
    fn name(&self) -> &str;
}

/// TCP_CHECK.
#[derive(Debug)]
pub struct TcpConnectCheck {
    addr: SocketAddr,
    timeout: Duration,
}

impl TcpConnectCheck {
    /// A connect check.
    pub fn new(addr: SocketAddr, timeout: Duration) -> Self {
        TcpConnectCheck { addr, timeout }
    }
}

#[async_trait]
impl RealServerCheck for TcpConnectCheck {
    async fn check(&self) -> CheckOutcome {
        match tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(self.addr)).await {
            Ok(Ok(_)) => CheckOutcome::Up { weight: None },
            Ok(Err(e)) => CheckOutcome::Down(e.to_string()),
            Err(_) => CheckOutcome::Down("timeout".into()),
        }
    }
    fn name(&self) -> &str {
        "tcp"
    }
}

/// MISC_CHECK.
#[derive(Debug)]
pub struct MiscCheck {
    argv: Vec<String>,
    timeout: Duration,
    dynamic: bool,
}

impl MiscCheck {
    /// A command check.
    pub fn new(argv: Vec<String>, timeout: Duration, dynamic: bool) -> Self {
        MiscCheck {
            argv,
            timeout,
            dynamic,
        }
    }
}

#[async_trait]
impl RealServerCheck for MiscCheck {
    async fn check(&self) -> CheckOutcome {
        let _ = (&self.argv, self.timeout, self.dynamic);
        CheckOutcome::Up { weight: None }
    }
    fn name(&self) -> &str {
        "misc"
    }
}

/// Errors.
#[derive(Debug, thiserror::Error)]
pub enum LbError {
    /// Bad config.
    #[error("{key}: {why}")]
    Config {
        /// Key.
        key: String,
        /// Why.
        why: String,
    },
}

/// The builder.
pub struct Balancer {
    services: Vec<VirtualService>,
}

impl Balancer {
    /// A balancer for these services.
    pub fn new(services: Vec<VirtualService>) -> Result<Self, LbError> {
        Ok(Balancer { services })
    }

    /// Adds a check.
    pub fn check(
        self,
        _service: &str,
        _server: SocketAddr,
        _check: Box<dyn RealServerCheck>,
    ) -> Result<Self, LbError> {
        Ok(self)
    }

    /// Starts it.
    pub async fn start(self) -> Result<BalancerHandle, LbError> {
        Ok(BalancerHandle {
            services: Arc::new(self.services),
            active: Arc::new(Mutex::new(BTreeMap::new())),
        })
    }
}

/// The running balancer.
#[derive(Clone)]
pub struct BalancerHandle {
    services: Arc<Vec<VirtualService>>,
    active: Arc<Mutex<BTreeMap<String, bool>>>,
}

impl BalancerHandle {
    /// Rules in the kernel only while active.
    pub async fn set_active(&self, service: &str, active: bool) -> Result<(), LbError> {
        if let Ok(mut a) = self.active.lock() {
            a.insert(service.to_owned(), active);
        }
        Ok(())
    }

    /// Every service's status.
    pub fn status(&self) -> Vec<ServiceStatus> {
        let active = self.active.lock().map(|a| a.clone()).unwrap_or_default();
        self.services
            .iter()
            .map(|s| ServiceStatus {
                name: s.name.clone(),
                vip: s.vip,
                port: s.port,
                protocol: s.protocol,
                scheduler: s.scheduler,
                active: active.get(&s.name).copied().unwrap_or(false),
                quorum_up: true,
                sorry_active: false,
                backends: s
                    .real_servers
                    .iter()
                    .map(|r| BackendStatus {
                        addr: r.addr,
                        configured_weight: r.weight,
                        weight: r.weight,
                        healthy: true,
                        active_connections: 0,
                        inactive_connections: 0,
                        last_error: None,
                    })
                    .collect(),
            })
            .collect()
    }

    /// Stops.
    pub async fn stop(self) -> Result<(), LbError> {
        Ok(())
    }
}

/// One service's state.
#[derive(Debug, Clone)]
pub struct ServiceStatus {
    /// Name.
    pub name: String,
    /// VIP.
    pub vip: IpAddr,
    /// Port.
    pub port: u16,
    /// Protocol.
    pub protocol: Protocol,
    /// Scheduler.
    pub scheduler: Scheduler,
    /// Rules in the kernel.
    pub active: bool,
    /// Quorum reached.
    pub quorum_up: bool,
    /// Sorry server in use.
    pub sorry_active: bool,
    /// Backends.
    pub backends: Vec<BackendStatus>,
}

/// One backend's state.
#[derive(Debug, Clone)]
pub struct BackendStatus {
    /// Address.
    pub addr: SocketAddr,
    /// Configured weight.
    pub configured_weight: u32,
    /// Weight in the kernel now.
    pub weight: u32,
    /// Healthy.
    pub healthy: bool,
    /// ESTABLISHED conntrack entries.
    pub active_connections: u64,
    /// Other conntrack entries.
    pub inactive_connections: u64,
    /// Last check error.
    pub last_error: Option<String>,
}
