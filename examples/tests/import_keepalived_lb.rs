//! `vipd import-keepalived` on keepalived's LVS blocks: the seed setup (a MariaDB pair behind a
//! `virtual_server` with MISC_CHECKs) translates into a config that passes check-config, and
//! every setting vip-lb cannot do is reported by name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use vip_examples::config::{self, RealCheckConfig};
use vip_examples::keepalived::{Severity, import};
use vip_lb::{Protocol, Scheduler};

/// A copy of shared/setups/keepalived-lvs-mariadb.conf.
const SEED: &str = include_str!("data/keepalived/lvs-mariadb.conf");

#[test]
fn the_seed_lvs_mariadb_setup_translates_and_passes_check_config() {
    let out = import(SEED, "keepalived-lvs-mariadb.conf");
    let cfg = config::parse(&out.toml).unwrap_or_else(|e| panic!("{e}\n{}", out.toml));
    let vs = &cfg.virtual_servers[0];
    assert_eq!(vs.instance, "DB_HA");
    assert_eq!(vs.address.to_string(), "198.51.100.217");
    assert_eq!(vs.port, 3306);
    assert_eq!(vs.protocol, Protocol::Tcp);
    assert_eq!(vs.lb_algo, Scheduler::Dh);
    assert_eq!(vs.delay_loop, Duration::from_secs(3));
    let addrs: Vec<String> = vs.real_servers.iter().map(|r| r.addr.to_string()).collect();
    assert_eq!(addrs, ["198.51.100.218:3306", "198.51.100.215:3306"]);
    for r in &vs.real_servers {
        assert_eq!(r.weight, 100);
        match &r.checks[..] {
            [
                RealCheckConfig::Misc {
                    argv,
                    timeout,
                    dynamic: false,
                },
            ] => {
                assert_eq!(argv[0], "/svc/mysql_check.sh");
                assert_eq!(argv[1], r.addr.ip().to_string());
                assert_eq!(*timeout, Duration::from_secs(3));
            }
            other => panic!("{other:?}"),
        }
    }
    // The virtual server's address is no VRRP VIP in the seed: it joins DB_HA's VIPs, reported.
    let db = cfg.instance("DB_HA").unwrap();
    let vips: Vec<String> = db.vips.iter().map(|v| v.addr.to_string()).collect();
    assert_eq!(vips, ["198.51.100.207", "198.51.100.217"]);
    let said = |sev: Severity, needle: &str| {
        out.diagnostics
            .iter()
            .any(|d| d.severity == sev && d.to_string().contains(needle))
    };
    assert!(said(
        Severity::Warning,
        "198.51.100.217 is no vrrp_instance's VIP"
    ));
    assert!(said(
        Severity::Error,
        "lvs_sync_daemon_interface: not translated"
    ));
    assert!(said(Severity::Error, "script_user: not translated"));
}

const FULL: &str = r#"
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        198.51.100.10
    }
}
virtual_server 198.51.100.10 80 {
    delay_loop 2
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    quorum 150
    hysteresis 50
    sorry_server 198.51.100.30 8080
    real_server 198.51.100.21 80 {
        weight 100
        inhibit_on_failure
        TCP_CHECK {
            connect_port 8081
            connect_timeout 2
            retry 3
            delay_before_retry 0.5
        }
    }
    real_server 198.51.100.22 80 {
        weight 50
        MISC_CHECK {
            misc_path "/usr/local/bin/check 198.51.100.22"
            misc_timeout 4
            misc_dynamic
        }
    }
}
virtual_server 198.51.100.10 443 {
    lb_algo wlc
    lb_kind DR
    persistence_timeout 300
    protocol SCTP
    real_server 198.51.100.21 443 {
        HTTP_GET {
            url {
              path /
            }
        }
        notify_up /bin/true
    }
}
virtual_server fwmark 1 {
    real_server 198.51.100.21 80 {
    }
}
"#;

#[test]
fn every_translated_key_arrives_and_untranslatable_ones_are_named() {
    let out = import(FULL, "full.conf");
    let cfg = config::parse(&out.toml).unwrap_or_else(|e| panic!("{e}\n{}", out.toml));
    let vs = &cfg.virtual_servers[0];
    assert_eq!(vs.instance, "VI_1");
    assert_eq!(vs.lb_algo, Scheduler::Wrr);
    assert_eq!(vs.delay_loop, Duration::from_secs(2));
    assert_eq!((vs.quorum, vs.hysteresis), (150, 50));
    assert_eq!(vs.sorry_server.unwrap().to_string(), "198.51.100.30:8080");
    assert!(vs.inhibit_on_failure);
    assert_eq!(vs.retry, 3);
    assert_eq!(vs.delay_before_retry, Duration::from_millis(500));
    assert_eq!(
        vs.real_servers[0].checks,
        [RealCheckConfig::Tcp {
            addr: "198.51.100.21:8081".parse().unwrap(),
            timeout: Duration::from_secs(2)
        }]
    );
    assert_eq!(vs.real_servers[1].weight, 50);
    assert!(matches!(
        &vs.real_servers[1].checks[..],
        [RealCheckConfig::Misc { argv, timeout, dynamic: true }]
            if argv == &["/usr/local/bin/check", "198.51.100.22"] && *timeout == Duration::from_secs(4)
    ));
    // The second service keeps what it can (its real server, without checks).
    assert_eq!(cfg.virtual_servers[1].port, 443);
    let errors: Vec<String> = out
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    for needle in [
        "lb_algo: not translated: wlc needs per-backend connection counts",
        "lb_kind: not translated: DR forwarding is not done",
        "persistence_timeout: not translated",
        "protocol: not translated",
        "HTTP_GET: not translated",
        "notify_up: not translated",
        "virtual_server fwmark: not translated",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(needle)),
            "no error with {needle:?} in {errors:#?}"
        );
    }
}
