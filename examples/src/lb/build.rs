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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use vip_lb::{Protocol, Scheduler};

    #[test]
    fn a_virtual_server_maps_onto_vip_lb_one_to_one() {
        let cfg = crate::config::parse(
            r#"
[[instance]]
name = "db"
interface = "eth0"
vrid = 51
vips = ["198.51.100.10/32"]

[[virtual_server]]
name = "mariadb"
instance = "db"
port = 3306
protocol = "udp"
lb_algo = "sh"
delay_loop = "2s"
retry = 3
delay_before_retry = "250ms"
inhibit_on_failure = true
quorum = 150
hysteresis = 50
sorry_server = "198.51.100.30:3306"

[[virtual_server.real_server]]
address = "198.51.100.21"
weight = 100
tcp_check = { connect_timeout = "2s" }
misc_check = { misc_path = ["/bin/true"], misc_timeout = "4s", misc_dynamic = true }

[[virtual_server.real_server]]
address = "198.51.100.22"
port = 3307
weight = 50
pg_check = { conninfo = "host=198.51.100.22 port=5432 user=vip dbname=postgres", timeout = "1s" }
"#,
        )
        .unwrap();
        let vs = &cfg.virtual_servers[0];
        let s = vs.to_service();
        assert_eq!(s.name, "mariadb");
        assert_eq!(s.vip.to_string(), "198.51.100.10");
        assert_eq!(
            (s.port, s.protocol, s.scheduler),
            (3306, Protocol::Udp, Scheduler::Sh)
        );
        let rs: Vec<(String, u32)> = s
            .real_servers
            .iter()
            .map(|r| (r.addr.to_string(), r.weight))
            .collect();
        assert_eq!(
            rs,
            [
                ("198.51.100.21:3306".to_owned(), 100),
                ("198.51.100.22:3307".to_owned(), 50)
            ]
        );
        assert_eq!(s.sorry_server.unwrap().to_string(), "198.51.100.30:3306");
        assert_eq!((s.quorum, s.hysteresis), (150, 50));
        let p = s.policy;
        assert_eq!(p.delay_loop, Duration::from_secs(2));
        assert_eq!(p.retry, 3);
        assert_eq!(p.delay_before_retry, Duration::from_millis(250));
        assert!(p.inhibit_on_failure);
        // The longest of the checks' own bounds.
        assert_eq!(p.timeout, Duration::from_secs(4));
        s.validate().unwrap();
        let checks = vs.checks().unwrap();
        let names: Vec<(String, &str)> = checks
            .iter()
            .map(|(a, c)| (a.to_string(), c.name()))
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(names[2], ("198.51.100.22:3307".to_owned(), "pg"));
        super::balancer(&cfg.virtual_servers).unwrap();
    }
}
