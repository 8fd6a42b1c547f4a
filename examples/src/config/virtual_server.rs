//! `[[virtual_server]]`: an L4 service on one of an instance's VIPs, balanced over real servers
//! that are health-checked (vip-lb), active only while the instance holds its VIPs. Keys are
//! keepalived's where keepalived has one (`lb_algo`, `delay_loop`, `retry`, ...), in lower case.
//! This file validates the tables (as read: `raw.rs`; validated: `types.rs`), naming the key of
//! each problem.
//!
//! ```toml
//! [[virtual_server]]
//! name = "mariadb"            # unique; used by `vipctl lb` and the metrics
//! instance = "db"             # the [[instance]] whose VIP this follows
//! address = "198.51.100.10"   # one of that instance's VIPs
//! port = 3306
//! protocol = "tcp"            # or "udp"
//! lb_algo = "wrr"             # rr, wrr, sh or dh
//! delay_loop = "6s"           # check period
//! retry = 1                   # failed retries after a first failure before a server leaves
//! delay_before_retry = "1s"   # gap between checks after a failure
//! inhibit_on_failure = false  # keep a failed real server with weight 0 instead of removing it
//! quorum = 1                  # healthy weight needed (0: always up); below it, the sorry server
//! hysteresis = 0
//! sorry_server = "198.51.100.30:3306"
//!
//! [[virtual_server.real_server]]
//! address = "198.51.100.21"
//! port = 3306                 # default: the virtual server's port
//! weight = 100
//! tcp_check = { connect_timeout = "3s" }   # connect_port too
//! misc_check = { misc_path = ["/usr/bin/mariadb", "-h", "198.51.100.21", "-e", "select now()"], misc_timeout = "3s" }
//! pg_check = { conninfo = "host=198.51.100.21 user=vip dbname=postgres", role = "standby", max_lag_bytes = 16777216 }
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::error::ConfigError;
use super::lenient;
use super::raw::{RawRealServer, RawVirtualServer};
use super::types::{
    InstanceConfig, PgCheckConfig, PgRole, RealCheckConfig, RealServerConfig, VirtualServerConfig,
};
use super::validate::valid_name;
use super::values::{RawDuration, parse_duration};
use vip_lb::{Protocol, Scheduler};

/// Default check period (keepalived's is 60 s; ours is shorter).
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(6);
/// Default gap between checks after a failure (keepalived's).
pub const DEFAULT_DELAY_BEFORE_RETRY: Duration = Duration::from_secs(1);
/// Default `connect_timeout` of a `tcp_check` (keepalived's).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `timeout` of a `pg_check`.
pub const DEFAULT_PG_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest weight (keepalived's range).
pub const MAX_WEIGHT: i64 = 65_535;

fn err(errors: &mut Vec<ConfigError>, path: impl Into<String>, message: impl Into<String>) {
    errors.push(ConfigError::new(path, message));
}

fn duration(
    errors: &mut Vec<ConfigError>,
    path: &str,
    raw: Option<&RawDuration>,
    default: Duration,
) -> Duration {
    match raw.map(|r| parse_duration(&r.0)) {
        None => default,
        Some(Ok(d)) if d.is_zero() => {
            err(errors, path, "must be greater than zero");
            default
        }
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            err(errors, path, e);
            default
        }
    }
}

fn int(errors: &mut Vec<ConfigError>, path: &str, v: Option<i64>, lo: i64, hi: i64) -> Option<i64> {
    match v {
        Some(v) if !(lo..=hi).contains(&v) => {
            err(errors, path, format!("{v} is out of range {lo}..={hi}"));
            None
        }
        v => v,
    }
}

fn port(errors: &mut Vec<ConfigError>, path: &str, v: Option<i64>) -> Option<u16> {
    int(errors, path, v, 1, 65_535).and_then(|p| u16::try_from(p).ok())
}

/// Reads and validates every `[[virtual_server]]` against the valid instances.
pub fn validate(
    raw: Vec<toml::Value>,
    instances: &[(String, InstanceConfig)],
    errors: &mut Vec<ConfigError>,
) -> Vec<VirtualServerConfig> {
    let mut out: Vec<(String, VirtualServerConfig)> = Vec::new();
    for (i, value) in raw.into_iter().enumerate() {
        let path = match value.get("name").and_then(|n| n.as_str()) {
            Some(n) if valid_name(n) => format!("virtual_server[{n}]"),
            _ => format!("virtual_server[{i}]"),
        };
        let Some(r) = lenient::deserialize::<RawVirtualServer>(value, &path, errors) else {
            continue;
        };
        if let Some(vs) = one(&path, r, instances, errors) {
            out.push((path, vs));
        }
    }
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let mut services: BTreeMap<(IpAddr, u16, bool), &str> = BTreeMap::new();
    for (path, vs) in &out {
        if let Some(first) = names.insert(&vs.name, path) {
            err(
                errors,
                format!("{path}.name"),
                format!("{:?} is also the name of {first}", vs.name),
            );
        }
        let key = (vs.address, vs.port, vs.protocol == Protocol::Udp);
        if let Some(first) = services.insert(key, path) {
            err(
                errors,
                format!("{path}.port"),
                format!(
                    "{} port {} is already balanced by {first}",
                    vs.address, vs.port
                ),
            );
        }
    }
    out.into_iter().map(|(_, vs)| vs).collect()
}

fn one(
    p: &str,
    r: RawVirtualServer,
    instances: &[(String, InstanceConfig)],
    errors: &mut Vec<ConfigError>,
) -> Option<VirtualServerConfig> {
    let before = errors.len();
    let name = match r.name {
        None => {
            err(errors, format!("{p}.name"), "is required");
            String::new()
        }
        Some(n) if !valid_name(&n) => {
            err(
                errors,
                format!("{p}.name"),
                format!("{n:?} must be 1 to 64 letters, digits, '_', '-' or '.'"),
            );
            n
        }
        Some(n) => n,
    };
    let instance = match r.instance {
        None => {
            err(
                errors,
                format!("{p}.instance"),
                "is required (the [[instance]] whose VIP the service follows)",
            );
            None
        }
        Some(n) => match instances.iter().find(|(_, i)| i.name == n) {
            Some((_, i)) => Some(i),
            None => {
                let known: Vec<&str> = instances.iter().map(|(_, i)| i.name.as_str()).collect();
                err(
                    errors,
                    format!("{p}.instance"),
                    format!(
                        "{n:?} is not a valid [[instance]] (instances: {})",
                        known.join(", ")
                    ),
                );
                None
            }
        },
    };
    let address = match (r.address, instance) {
        (None, Some(i)) if i.vips.len() == 1 => i.vips.first().map(|v| v.addr),
        (None, _) => {
            err(
                errors,
                format!("{p}.address"),
                "is required (one of the instance's VIPs)",
            );
            None
        }
        (Some(a), inst) => match a.trim().parse::<IpAddr>() {
            Err(_) => {
                err(
                    errors,
                    format!("{p}.address"),
                    format!("{a:?} is not an IP address"),
                );
                None
            }
            Ok(addr) => {
                if let Some(i) = inst
                    && !i.vips.iter().any(|v| v.addr == addr)
                {
                    let vips: Vec<String> = i.vips.iter().map(|v| v.addr.to_string()).collect();
                    err(
                        errors,
                        format!("{p}.address"),
                        format!(
                            "{addr} is not a VIP of instance {:?} ({}): the service follows that VIP, so it must be one of them",
                            i.name,
                            vips.join(", ")
                        ),
                    );
                }
                Some(addr)
            }
        },
    };
    let vs_port = match r.port {
        None => {
            err(errors, format!("{p}.port"), "is required (1..=65535)");
            None
        }
        v => port(errors, &format!("{p}.port"), v),
    };
    let protocol = match r
        .protocol
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("tcp") => Protocol::Tcp,
        Some("udp") => Protocol::Udp,
        Some(other) => {
            err(
                errors,
                format!("{p}.protocol"),
                format!("{other:?} is not a protocol (\"tcp\" or \"udp\")"),
            );
            Protocol::Tcp
        }
    };
    let lb_algo = match r.lb_algo.as_deref() {
        None => Scheduler::Wrr,
        Some(a) => match a.parse::<Scheduler>() {
            Ok(s) => s,
            Err(_) => {
                let why = match a {
                    "lc" | "wlc" | "lblc" | "lblcr" | "sed" | "nq" | "fo" | "ovf" | "mh" => {
                        "cannot be done in nftables (no per-backend connection state where the verdict is made); use rr, wrr, sh or dh"
                    }
                    _ => "is not a scheduler (rr, wrr, sh or dh)",
                };
                err(errors, format!("{p}.lb_algo"), format!("{a:?} {why}"));
                Scheduler::Wrr
            }
        },
    };
    let delay_loop = duration(
        errors,
        &format!("{p}.delay_loop"),
        r.delay_loop.as_ref(),
        DEFAULT_DELAY_LOOP,
    );
    let delay_before_retry = duration(
        errors,
        &format!("{p}.delay_before_retry"),
        r.delay_before_retry.as_ref(),
        DEFAULT_DELAY_BEFORE_RETRY,
    );
    let retry = int(errors, &format!("{p}.retry"), r.retry, 0, 1000).unwrap_or(1);
    let quorum = int(
        errors,
        &format!("{p}.quorum"),
        r.quorum,
        0,
        i64::from(u32::MAX),
    )
    .unwrap_or(1);
    let hysteresis = int(
        errors,
        &format!("{p}.hysteresis"),
        r.hysteresis,
        0,
        i64::from(u32::MAX),
    )
    .unwrap_or(0);
    if hysteresis > 0 && hysteresis >= quorum {
        err(
            errors,
            format!("{p}.hysteresis"),
            format!("{hysteresis} must be less than quorum ({quorum})"),
        );
    }
    let sorry_server = r.sorry_server.and_then(|s| {
        let parsed = s.trim().parse::<SocketAddr>().ok();
        if parsed.is_none() {
            err(
                errors,
                format!("{p}.sorry_server"),
                format!("{s:?} is not address:port (for example \"198.51.100.30:3306\" or \"[2001:db8::30]:3306\")"),
            );
        }
        parsed
    });
    let mut real_servers = Vec::new();
    let raw_real = r.real_server.unwrap_or_default();
    if raw_real.is_empty() {
        err(
            errors,
            format!("{p}.real_server"),
            "at least one [[virtual_server.real_server]] is required",
        );
    }
    for (j, rs) in raw_real.into_iter().enumerate() {
        let rp = format!("{p}.real_server[{j}]");
        if let Some(rs) = real_server(&rp, rs, vs_port, delay_loop, errors) {
            real_servers.push((rp, rs));
        }
    }
    let mut seen: BTreeMap<SocketAddr, &str> = BTreeMap::new();
    for (rp, rs) in &real_servers {
        if let Some(first) = seen.insert(rs.addr, rp) {
            err(
                errors,
                format!("{rp}.address"),
                format!("{} is also {first}", rs.addr),
            );
        }
        if let Some(a) = address
            && a.is_ipv4() != rs.addr.is_ipv4()
        {
            err(
                errors,
                format!("{rp}.address"),
                format!("{} is not of the VIP's address family ({a})", rs.addr.ip()),
            );
        }
    }
    if let (Some(a), Some(s)) = (address, sorry_server)
        && a.is_ipv4() != s.is_ipv4()
    {
        err(
            errors,
            format!("{p}.sorry_server"),
            format!("{s} is not of the VIP's address family ({a})"),
        );
    }
    if errors.len() > before {
        return None;
    }
    Some(VirtualServerConfig {
        name,
        instance: instance.map(|i| i.name.clone())?,
        address: address?,
        port: vs_port?,
        protocol,
        lb_algo,
        delay_loop,
        retry: u32::try_from(retry).ok()?,
        delay_before_retry,
        inhibit_on_failure: r.inhibit_on_failure.unwrap_or(false),
        quorum: u32::try_from(quorum).ok()?,
        hysteresis: u32::try_from(hysteresis).ok()?,
        sorry_server,
        real_servers: real_servers.into_iter().map(|(_, rs)| rs).collect(),
    })
}

fn real_server(
    rp: &str,
    r: RawRealServer,
    vs_port: Option<u16>,
    delay_loop: Duration,
    errors: &mut Vec<ConfigError>,
) -> Option<RealServerConfig> {
    let before = errors.len();
    let ip = match r.address {
        None => {
            err(errors, format!("{rp}.address"), "is required");
            None
        }
        Some(a) => {
            let ip = a.trim().parse::<IpAddr>().ok();
            if ip.is_none() {
                err(
                    errors,
                    format!("{rp}.address"),
                    format!("{a:?} is not an IP address (the port goes in `port`)"),
                );
            }
            ip
        }
    };
    let port = match r.port {
        None => vs_port,
        v => port(errors, &format!("{rp}.port"), v),
    };
    let weight = int(errors, &format!("{rp}.weight"), r.weight, 0, MAX_WEIGHT).unwrap_or(1);
    let addr = ip.zip(port).map(|(ip, port)| SocketAddr::new(ip, port));
    let mut checks = Vec::new();
    if let Some(t) = r.tcp_check {
        let cp = format!("{rp}.tcp_check");
        let connect_port = match t.connect_port {
            None => port,
            v => self::port(errors, &format!("{cp}.connect_port"), v),
        };
        let timeout = duration(
            errors,
            &format!("{cp}.connect_timeout"),
            t.connect_timeout.as_ref(),
            DEFAULT_CONNECT_TIMEOUT,
        );
        if let (Some(ip), Some(port)) = (ip, connect_port) {
            checks.push(RealCheckConfig::Tcp {
                addr: SocketAddr::new(ip, port),
                timeout,
            });
        }
    }
    if let Some(m) = r.misc_check {
        let cp = format!("{rp}.misc_check");
        let timeout = duration(
            errors,
            &format!("{cp}.misc_timeout"),
            m.misc_timeout.as_ref(),
            delay_loop,
        );
        match m.misc_path {
            None => err(
                errors,
                format!("{cp}.misc_path"),
                "is required (the program and its arguments, run without a shell)",
            ),
            Some(a) if a.first().is_none_or(|p| p.trim().is_empty()) => err(
                errors,
                format!("{cp}.misc_path"),
                "must start with the program to run",
            ),
            Some(argv) => checks.push(RealCheckConfig::Misc {
                argv,
                timeout,
                dynamic: m.misc_dynamic.unwrap_or(false),
            }),
        }
    }
    if let Some(pg) = r.pg_check {
        let cp = format!("{rp}.pg_check");
        let timeout = duration(
            errors,
            &format!("{cp}.timeout"),
            pg.timeout.as_ref(),
            DEFAULT_PG_TIMEOUT,
        );
        let role = match pg.role.as_deref() {
            None | Some("standby") => PgRole::Standby,
            Some("primary") => PgRole::Primary,
            Some("any") => PgRole::Any,
            Some(other) => {
                err(
                    errors,
                    format!("{cp}.role"),
                    format!("{other:?} is not a role (\"standby\", \"primary\" or \"any\")"),
                );
                PgRole::Standby
            }
        };
        let max_lag_bytes = int(
            errors,
            &format!("{cp}.max_lag_bytes"),
            pg.max_lag_bytes,
            0,
            i64::MAX,
        )
        .and_then(|v| u64::try_from(v).ok());
        if max_lag_bytes.is_some() && role == PgRole::Primary {
            err(
                errors,
                format!("{cp}.max_lag_bytes"),
                "has no meaning with role = \"primary\" (a primary replays nothing)",
            );
        }
        match pg.conninfo {
            None => err(
                errors,
                format!("{cp}.conninfo"),
                "is required (a libpq connection string to this real server)",
            ),
            Some(conninfo) => {
                let pg = PgCheckConfig {
                    conninfo,
                    role,
                    max_lag_bytes,
                    timeout,
                };
                // Let the check judge the conninfo (it connects only when it first runs).
                match crate::lb::pg_check::PgCheck::new(pg.clone()) {
                    Ok(_) => checks.push(RealCheckConfig::Postgres(pg)),
                    Err(e) => {
                        let detail = match e {
                            vip_pg::PgError::Config { key, problem } => format!("{key}: {problem}"),
                            other => other.to_string(),
                        };
                        err(
                            errors,
                            format!("{cp}.conninfo"),
                            format!("rejected by the check: {detail}"),
                        );
                    }
                }
            }
        }
    }
    if errors.len() > before {
        return None;
    }
    Some(RealServerConfig {
        addr: addr?,
        weight: u32::try_from(weight).ok()?,
        checks,
    })
}
