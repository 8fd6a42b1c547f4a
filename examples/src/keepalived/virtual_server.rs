//! keepalived's `virtual_server` blocks -> vipd's `[[virtual_server]]`: real servers, weights,
//! lb_algo, delay_loop, TCP_CHECK, MISC_CHECK, sorry_server, quorum, hysteresis,
//! inhibit_on_failure, retry and delay_before_retry. What vip-lb cannot do (DR and TUN
//! forwarding, persistence, the connection-counting schedulers, the HTTP/SSL/SMTP/DNS checkers)
//! is reported by name.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use super::import::{Ctx, InstanceOut, VipOut, q};
use super::syntax::{Node, split_command};
use crate::config::values::format_duration;

/// keepalived's default delay_loop (vipd's own default is shorter, so the importer writes it).
const KEEPALIVED_DELAY_LOOP: Duration = Duration::from_secs(60);

/// A translated check.
#[derive(Debug, Clone)]
enum CheckOut {
    Tcp {
        port: Option<i64>,
        timeout: Option<Duration>,
    },
    Misc {
        argv: Vec<String>,
        timeout: Option<Duration>,
        dynamic: bool,
    },
}

#[derive(Debug, Clone)]
struct RealOut {
    addr: IpAddr,
    port: i64,
    weight: Option<i64>,
    checks: Vec<CheckOut>,
}

/// One translated `virtual_server`.
#[derive(Debug, Clone)]
pub(super) struct ServiceOut {
    line: usize,
    addr: IpAddr,
    port: i64,
    instance: Option<String>,
    protocol: &'static str,
    lb_algo: Option<String>,
    delay_loop: Option<Duration>,
    /// Per-service in vipd, per checker or real server in keepalived: (value, line) of the first.
    retry: Option<(i64, usize)>,
    delay_before_retry: Option<(Duration, usize)>,
    inhibit_on_failure: bool,
    quorum: Option<i64>,
    hysteresis: Option<i64>,
    sorry_server: Option<String>,
    real: Vec<RealOut>,
}

impl ServiceOut {
    fn name(&self) -> String {
        let a = self.addr.to_string().replace([':', '.'], "_");
        format!("vs_{a}_{}", self.port)
    }
}

/// Reads one `virtual_server IP PORT { ... }` block.
pub(super) fn read(ctx: &mut Ctx, n: &Node) -> Option<ServiceOut> {
    let b = format!("virtual_server {}", n.args.join(" "));
    let (addr, port) = match n.args.as_slice() {
        [kind, ..] if kind == "fwmark" || kind == "group" => {
            ctx.error(n.line, &b, format!("virtual_server {kind}: not translated: vipd balances one address and port per virtual server"));
            return None;
        }
        [a, p] => match (a.parse::<IpAddr>(), p.parse::<i64>()) {
            (Ok(a), Ok(p)) if (1..=65_535).contains(&p) => (a, p),
            _ => {
                ctx.error(n.line, &b, "expected an IP address and a port");
                return None;
            }
        },
        _ => {
            ctx.error(n.line, &b, "expected an IP address and a port");
            return None;
        }
    };
    let mut o = ServiceOut {
        line: n.line,
        addr,
        port,
        instance: None,
        protocol: "tcp",
        lb_algo: None,
        delay_loop: None,
        retry: None,
        delay_before_retry: None,
        inhibit_on_failure: false,
        quorum: None,
        hysteresis: None,
        sorry_server: None,
        real: Vec::new(),
    };
    for c in n.children() {
        match c.key.as_str() {
            "delay_loop" => o.delay_loop = ctx.secs(c, &b),
            "lb_algo" | "lvs_sched" => match c.arg() {
                Some(a @ ("rr" | "wrr" | "sh" | "dh")) => o.lb_algo = Some(a.to_owned()),
                Some(a) => ctx.not_translated(c, &b, &format!("{a} needs per-backend connection counts, which nftables has not where the verdict is made; use rr, wrr, sh or dh")),
                None => ctx.error(c.line, &b, "lb_algo: missing"),
            },
            "lb_kind" | "lvs_method" => match c.arg() {
                Some("NAT") => {}
                Some(k) => ctx.not_translated(c, &b, &format!("{k} forwarding is not done: vip-lb rewrites destinations (NAT), so the real servers must route replies back through the director")),
                None => ctx.error(c.line, &b, "lb_kind: missing"),
            },
            "protocol" => match c.arg() {
                Some("TCP") => o.protocol = "tcp",
                Some("UDP") => o.protocol = "udp",
                other => ctx.not_translated(c, &b, &format!("protocol {other:?}: only TCP and UDP")),
            },
            "persistence_timeout" | "persistence_granularity" | "persistence_engine" => ctx.not_translated(c, &b, "vip-lb keeps no persistence table; lb_algo sh sends each client address to the same real server while the set of healthy servers is unchanged"),
            "quorum" => o.quorum = ctx.int(c, &b),
            "hysteresis" => o.hysteresis = ctx.int(c, &b),
            "sorry_server" => match c.args.as_slice() {
                [a, p] => match (a.parse::<IpAddr>(), p.parse::<u16>()) {
                    (Ok(IpAddr::V6(a)), Ok(p)) => o.sorry_server = Some(format!("[{a}]:{p}")),
                    (Ok(a), Ok(p)) => o.sorry_server = Some(format!("{a}:{p}")),
                    _ => ctx.error(c.line, &b, "sorry_server: expected an IP address and a port"),
                },
                _ => ctx.error(c.line, &b, "sorry_server: expected an IP address and a port"),
            },
            "inhibit_on_failure" => o.inhibit_on_failure = true,
            "retry" | "nb_get_retry" => first(&mut o.retry, ctx.int(c, &b), c, ctx, &b),
            "delay_before_retry" => first(&mut o.delay_before_retry, ctx.secs(c, &b), c, ctx, &b),
            "real_server" => {
                if let Some(r) = real_server(ctx, c, &b, &mut o) {
                    o.real.push(r);
                }
            }
            "alpha" | "omega" | "quorum_up" | "quorum_down" | "ha_suspend" | "virtualhost" | "ops" | "sorry_server_inhibit" | "sorry_server_lvs_method" => ctx.not_translated(c, &b, "not supported by vip-lb"),
            _ => ctx.not_translated(c, &b, "unknown or unsupported virtual_server setting"),
        }
    }
    if o.lb_algo.is_none()
        && !n
            .children()
            .iter()
            .any(|c| c.key == "lb_algo" || c.key == "lvs_sched")
    {
        ctx.warn(n.line, &b, "no lb_algo: keepalived leaves the choice to IPVS (wlc, which nftables cannot do); translated as wrr");
    }
    if o.real.is_empty() {
        ctx.error(n.line, &b, "has no translatable real_server");
    }
    Some(o)
}

/// Keeps the first value of a setting that vipd has once per virtual server; a different value
/// later is reported.
fn first<T: PartialEq + std::fmt::Debug>(
    slot: &mut Option<(T, usize)>,
    v: Option<T>,
    c: &Node,
    ctx: &mut Ctx,
    b: &str,
) {
    let Some(v) = v else { return };
    match slot {
        None => *slot = Some((v, c.line)),
        Some((old, line)) if *old != v => ctx.error(
            c.line,
            b,
            format!(
                "{}: vipd sets it once per virtual server; the value of line {line} ({old:?}) is used, not {v:?}",
                c.key
            ),
        ),
        Some(_) => {}
    }
}

fn real_server(ctx: &mut Ctx, n: &Node, vb: &str, vs: &mut ServiceOut) -> Option<RealOut> {
    let b = format!("{vb} real_server {}", n.args.join(" "));
    let (addr, port) = match n.args.as_slice() {
        [a, p] => match (a.parse::<IpAddr>(), p.parse::<i64>()) {
            (Ok(a), Ok(p)) if (1..=65_535).contains(&p) => (a, p),
            _ => {
                ctx.error(n.line, &b, "expected an IP address and a port");
                return None;
            }
        },
        [a] => match a.parse::<IpAddr>() {
            Ok(a) => (a, vs.port),
            Err(_) => {
                ctx.error(n.line, &b, "expected an IP address and a port");
                return None;
            }
        },
        _ => {
            ctx.error(n.line, &b, "expected an IP address and a port");
            return None;
        }
    };
    let mut r = RealOut {
        addr,
        port,
        weight: None,
        checks: Vec::new(),
    };
    for c in n.children() {
        match c.key.as_str() {
            "weight" => r.weight = ctx.int(c, &b),
            "inhibit_on_failure" => vs.inhibit_on_failure = true,
            "retry" | "nb_get_retry" => first(&mut vs.retry, ctx.int(c, &b), c, ctx, &b),
            "delay_before_retry" => first(&mut vs.delay_before_retry, ctx.secs(c, &b), c, ctx, &b),
            "TCP_CHECK" => {
                let mut port = None;
                let mut timeout = None;
                for k in c.children() {
                    match k.key.as_str() {
                        "connect_port" => port = ctx.int(k, &b),
                        "connect_timeout" => timeout = ctx.secs(k, &b),
                        "connect_ip" if k.arg().and_then(|a| a.parse::<IpAddr>().ok()) == Some(addr) => {}
                        "retry" | "nb_get_retry" => first(&mut vs.retry, ctx.int(k, &b), k, ctx, &b),
                        "delay_before_retry" => first(&mut vs.delay_before_retry, ctx.secs(k, &b), k, ctx, &b),
                        _ => ctx.not_translated(k, &b, "TCP_CHECK setting not supported (connect_port, connect_timeout, retry, delay_before_retry are)"),
                    }
                }
                r.checks.push(CheckOut::Tcp { port, timeout });
            }
            "MISC_CHECK" => {
                let mut argv = None;
                let mut timeout = None;
                let mut dynamic = false;
                for k in c.children() {
                    match k.key.as_str() {
                        "misc_path" => {
                            let cmd = k.args.join(" ");
                            match split_command(&cmd) {
                                Ok(a) => argv = Some(a),
                                Err(e) => ctx.error(k.line, &b, format!("misc_path {cmd:?} {e}: vipd runs checks without a shell; put the command in an executable file and use that")),
                            }
                        }
                        "misc_timeout" => timeout = ctx.secs(k, &b),
                        "misc_dynamic" => dynamic = true,
                        "retry" | "nb_get_retry" => first(&mut vs.retry, ctx.int(k, &b), k, ctx, &b),
                        "delay_before_retry" => first(&mut vs.delay_before_retry, ctx.secs(k, &b), k, ctx, &b),
                        "user" => ctx.not_translated(k, &b, "vipd runs checks as its own user (use a wrapper such as runuser in misc_path)"),
                        _ => ctx.not_translated(k, &b, "MISC_CHECK setting not supported (misc_path, misc_timeout, misc_dynamic, retry, delay_before_retry are)"),
                    }
                }
                match argv {
                    Some(argv) => r.checks.push(CheckOut::Misc { argv, timeout, dynamic }),
                    None if !c.children().iter().any(|k| k.key == "misc_path") => {
                        ctx.error(c.line, &b, "MISC_CHECK without misc_path")
                    }
                    None => {}
                }
            }
            "HTTP_GET" | "SSL_GET" | "SMTP_CHECK" | "DNS_CHECK" | "BFD_CHECK" | "UDP_CHECK" | "PING_CHECK" | "FILE_CHECK" => ctx.not_translated(c, &b, "checker not supported: use a MISC_CHECK-style misc_check command (curl, for example), or tcp_check"),
            "notify_up" | "notify_down" => ctx.not_translated(c, &b, "vipd runs no per-real-server hooks; `vipctl lb` and the vip_lb_backend_* metrics show each real server's health"),
            _ => ctx.not_translated(c, &b, "unknown or unsupported real_server setting"),
        }
    }
    Some(r)
}

/// Ties each service to the instance that has its address as a VIP. A service on an address no
/// instance has goes to the only instance of its family, which gets the address as an extra VIP
/// (reported: keepalived peers of that instance would see a different VIP list).
pub(super) fn tie(ctx: &mut Ctx, services: &mut [ServiceOut], instances: &mut [InstanceOut]) {
    for s in services {
        let b = format!("virtual_server {} {}", s.addr, s.port);
        let has = |i: &InstanceOut| {
            i.vips
                .iter()
                .any(|v| crate::config::parse_cidr(&v.cidr).is_some_and(|(a, _)| a == s.addr))
        };
        if let Some(i) = instances.iter().find(|i| has(i)) {
            s.instance = Some(i.name.clone());
            continue;
        }
        let family: Vec<&mut InstanceOut> = instances
            .iter_mut()
            .filter(|i| i.vips.first().is_some_and(|v| v.ipv6 == s.addr.is_ipv6()))
            .collect();
        match family.len() {
            1 => {
                for i in family {
                    ctx.warn(
                        s.line,
                        &b,
                        format!(
                            "{} is no vrrp_instance's VIP: added to the VIPs of {} (the only instance of its family), whose holder balances the service; keepalived peers of that instance would see a different VIP list",
                            s.addr, i.name
                        ),
                    );
                    i.comments.push(format!(
                        "{} added by the importer: the address of virtual_server line {}",
                        s.addr, s.line
                    ));
                    i.vips.push(VipOut::host(s.addr));
                    s.instance = Some(i.name.clone());
                }
            }
            _ => ctx.error(
                s.line,
                &b,
                format!(
                    "{} is no vrrp_instance's VIP: add it to the instance whose holder should balance it, and set `instance`",
                    s.addr
                ),
            ),
        }
    }
}

/// The `[[virtual_server]]` tables.
pub(super) fn emit(services: &[ServiceOut]) -> String {
    let mut t = String::new();
    for s in services {
        let _ = writeln!(
            t,
            "\n# virtual_server {} {} (line {})",
            s.addr, s.port, s.line
        );
        let _ = writeln!(t, "[[virtual_server]]");
        let _ = writeln!(t, "name = {}", q(&s.name()));
        if let Some(i) = &s.instance {
            let _ = writeln!(t, "instance = {}", q(i));
        }
        let _ = writeln!(t, "address = {}", q(&s.addr.to_string()));
        let _ = writeln!(t, "port = {}", s.port);
        let _ = writeln!(t, "protocol = {}", q(s.protocol));
        let _ = writeln!(t, "lb_algo = {}", q(s.lb_algo.as_deref().unwrap_or("wrr")));
        let delay_loop = s.delay_loop.unwrap_or(KEEPALIVED_DELAY_LOOP);
        let _ = writeln!(t, "delay_loop = {}", q(&format_duration(delay_loop)));
        if let Some((r, _)) = s.retry {
            let _ = writeln!(t, "retry = {r}");
        }
        if let Some((d, _)) = s.delay_before_retry {
            let _ = writeln!(t, "delay_before_retry = {}", q(&format_duration(d)));
        }
        if s.inhibit_on_failure {
            let _ = writeln!(t, "inhibit_on_failure = true");
        }
        if let Some(v) = s.quorum {
            let _ = writeln!(t, "quorum = {v}");
        }
        if let Some(v) = s.hysteresis {
            let _ = writeln!(t, "hysteresis = {v}");
        }
        if let Some(v) = &s.sorry_server {
            let _ = writeln!(t, "sorry_server = {}", q(v));
        }
        for r in &s.real {
            let _ = writeln!(t, "\n[[virtual_server.real_server]]");
            let _ = writeln!(t, "address = {}", q(&r.addr.to_string()));
            if r.port != s.port {
                let _ = writeln!(t, "port = {}", r.port);
            }
            // keepalived's default weight is 1, as is vipd's.
            if let Some(w) = r.weight {
                let _ = writeln!(t, "weight = {w}");
            }
            for c in &r.checks {
                match c {
                    CheckOut::Tcp { port, timeout } => {
                        let mut parts = Vec::new();
                        if let Some(p) = port {
                            parts.push(format!("connect_port = {p}"));
                        }
                        if let Some(d) = timeout {
                            parts.push(format!("connect_timeout = {}", q(&format_duration(*d))));
                        }
                        let _ = writeln!(t, "tcp_check = {{ {} }}", parts.join(", "));
                    }
                    CheckOut::Misc {
                        argv,
                        timeout,
                        dynamic,
                    } => {
                        let list: Vec<String> = argv.iter().map(|a| q(a)).collect();
                        let mut parts = vec![format!("misc_path = [{}]", list.join(", "))];
                        if let Some(d) = timeout {
                            parts.push(format!("misc_timeout = {}", q(&format_duration(*d))));
                        }
                        if *dynamic {
                            parts.push("misc_dynamic = true".into());
                        }
                        let _ = writeln!(t, "misc_check = {{ {} }}", parts.join(", "));
                    }
                }
            }
        }
    }
    t
}
