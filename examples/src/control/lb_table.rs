//! `vipctl lb` as a table in the shape of `ipvsadm -Ln`: one line per virtual server (protocol,
//! VIP:port, scheduler, then vipd's flags: its name and instance, active or not, quorum, sorry
//! server), one line per real server (forwarding method, effective weight, active and
//! inactive connections from conntrack), plus the check's verdict.

use std::fmt::Write as _;

use super::protocol::LbService;

/// Renders the services.
pub fn render(services: &[LbService]) -> String {
    let mut out = String::new();
    if services.is_empty() {
        out.push_str("no virtual servers ([[virtual_server]] in vipd.toml)\n");
        return out;
    }
    out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
    out.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn Check\n");
    for s in services {
        let mut flags = vec![format!("{} on {}", s.name, s.instance)];
        flags.push(if s.active {
            "active".to_owned()
        } else {
            "inactive (VIP not held here)".to_owned()
        });
        if !s.quorum_up {
            flags.push("quorum lost".to_owned());
        }
        let _ = writeln!(
            out,
            "{:<4} {}:{} {} {}",
            s.protocol,
            bracket(&s.vip),
            s.port,
            s.scheduler,
            flags.join(", ")
        );
        for b in &s.backends {
            let weight = if b.weight == b.configured_weight {
                b.weight.to_string()
            } else {
                format!("{} ({})", b.weight, b.configured_weight)
            };
            let check = match (b.healthy, &b.last_error) {
                (true, _) => "up".to_owned(),
                (false, Some(e)) => format!("down: {e}"),
                (false, None) => "down".to_owned(),
            };
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<9} {}",
                b.addr, "Masq", weight, b.active_connections, b.inactive_connections, check
            );
        }
        if let Some(sorry) = &s.sorry_server {
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {}",
                sorry,
                "Masq",
                if s.sorry_active {
                    "sorry server (in use)"
                } else {
                    "sorry server"
                }
            );
        }
    }
    out
}

/// An IPv6 address in brackets, as before a port.
fn bracket(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::LbBackend;

    #[test]
    fn the_table_has_ipvsadms_shape() {
        let s = LbService {
            name: "mariadb".into(),
            instance: "db".into(),
            protocol: "TCP".into(),
            vip: "198.51.100.217".into(),
            port: 3306,
            scheduler: "dh".into(),
            active: true,
            quorum_up: true,
            sorry_active: false,
            sorry_server: None,
            backends: vec![
                LbBackend {
                    addr: "198.51.100.218:3306".into(),
                    configured_weight: 100,
                    weight: 100,
                    healthy: true,
                    active_connections: 3,
                    inactive_connections: 1,
                    last_error: None,
                },
                LbBackend {
                    addr: "198.51.100.215:3306".into(),
                    configured_weight: 100,
                    weight: 0,
                    healthy: false,
                    active_connections: 0,
                    inactive_connections: 0,
                    last_error: Some("exit status 1".into()),
                },
            ],
        };
        let t = render(&[s]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "Prot LocalAddress:Port Scheduler Flags");
        assert!(lines[1].starts_with("  -> RemoteAddress:Port"));
        assert_eq!(
            lines[2],
            "TCP  198.51.100.217:3306 dh mariadb on db, active"
        );
        assert!(
            lines[3].starts_with("  -> 198.51.100.218:3306          Masq    100    3          1")
        );
        assert!(lines[4].contains("0 (100)") && lines[4].ends_with("down: exit status 1"));
    }
}
