//! From validated `[[virtual_server]]` tables to vip-lb's [`VirtualService`]s and their checks.

use std::net::SocketAddr;

use super::pg_check::PgCheck;
use crate::config::{DEFAULT_CONNECT_TIMEOUT, RealCheckConfig, VirtualServerConfig};
use vip_lb::{
    Balancer, CheckPolicy, MiscCheck, RealServer, RealServerCheck, TcpConnectCheck, VirtualService,
};

/// A real server's address and one of its checks.
pub type ServerCheck = (SocketAddr, Box<dyn RealServerCheck>);

impl VirtualServerConfig {
    /// The service as vip-lb runs it. The policy's `timeout` is the longest of the service's
    /// check timeouts (each check also bounds itself by its own).
    pub fn to_service(&self) -> VirtualService {
        let timeout = self
            .real_servers
            .iter()
            .flat_map(|r| r.checks.iter().map(RealCheckConfig::timeout))
            .max()
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        VirtualService {
            name: self.name.clone(),
            vip: self.address,
            port: self.port,
            protocol: self.protocol,
            scheduler: self.lb_algo,
            real_servers: self
                .real_servers
                .iter()
                .map(|r| RealServer {
                    addr: r.addr,
                    weight: r.weight,
                })
                .collect(),
            sorry_server: self.sorry_server,
            quorum: self.quorum,
            hysteresis: self.hysteresis,
            policy: CheckPolicy {
                delay_loop: self.delay_loop,
                timeout,
                retry: self.retry,
                delay_before_retry: self.delay_before_retry,
                inhibit_on_failure: self.inhibit_on_failure,
            },
        }
    }

    /// Every real server's checks, built.
    pub fn checks(&self) -> Result<Vec<ServerCheck>, String> {
        let mut out: Vec<ServerCheck> = Vec::new();
        for (j, r) in self.real_servers.iter().enumerate() {
            for c in &r.checks {
                out.push((
                    r.addr,
                    check(c).map_err(|e| {
                        format!("virtual_server[{}].real_server[{j}]: {e}", self.name)
                    })?,
                ));
            }
        }
        Ok(out)
    }
}

/// One check, built.
pub fn check(c: &RealCheckConfig) -> Result<Box<dyn RealServerCheck>, String> {
    Ok(match c {
        RealCheckConfig::Tcp { addr, timeout } => Box::new(TcpConnectCheck::new(*addr, *timeout)),
        RealCheckConfig::Misc {
            argv,
            timeout,
            dynamic,
        } => Box::new(MiscCheck::new(argv.clone(), *timeout, *dynamic)),
        RealCheckConfig::Postgres(p) => {
            Box::new(PgCheck::new(p.clone()).map_err(|e| format!("pg_check: {e}"))?)
        }
    })
}

/// The balancer for these services, with their checks (not started).
pub fn balancer(config: &[VirtualServerConfig]) -> Result<Balancer, String> {
    let services = config.iter().map(VirtualServerConfig::to_service).collect();
    let mut b = Balancer::new(services).map_err(|e| format!("load balancer: {e}"))?;
    for vs in config {
        for (addr, c) in vs.checks()? {
            b = b
                .check(&vs.name, addr, c)
                .map_err(|e| format!("load balancer: {e}"))?;
        }
    }
    Ok(b)
}
