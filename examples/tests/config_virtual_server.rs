//! `[[virtual_server]]` validation: defaults, every check kind, and errors that name the key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config_support;

use std::time::Duration;

use config_support::{BASE, errors};
use vip_examples::config::{self, PgRole, RealCheckConfig};
use vip_lb::{Protocol, Scheduler};

#[test]
fn a_full_virtual_server_reads_with_keepalived_names() {
    let cfg = config::parse(&format!(
        r#"{BASE}
[[virtual_server]]
name = "mariadb"
instance = "db"
address = "198.51.100.10"
port = 3306
protocol = "tcp"
lb_algo = "dh"
delay_loop = "3s"
retry = 2
delay_before_retry = "500ms"
inhibit_on_failure = true
quorum = 100
hysteresis = 50
sorry_server = "198.51.100.30:3306"

[[virtual_server.real_server]]
address = "198.51.100.21"
weight = 100
tcp_check = {{ connect_port = 3307, connect_timeout = "2s" }}
misc_check = {{ misc_path = ["/usr/bin/mariadb", "-e", "select now()"], misc_timeout = "3s", misc_dynamic = true }}

[[virtual_server.real_server]]
address = "198.51.100.22"
port = 3307
pg_check = {{ conninfo = "host=198.51.100.22 user=vip", max_lag_bytes = 1048576 }}
"#
    ))
    .unwrap();
    let vs = &cfg.virtual_servers[0];
    assert_eq!(vs.name, "mariadb");
    assert_eq!(vs.instance, "db");
    assert_eq!(vs.address.to_string(), "198.51.100.10");
    assert_eq!(vs.port, 3306);
    assert_eq!(vs.protocol, Protocol::Tcp);
    assert_eq!(vs.lb_algo, Scheduler::Dh);
    assert_eq!(vs.delay_loop, Duration::from_secs(3));
    assert_eq!(vs.retry, 2);
    assert_eq!(vs.delay_before_retry, Duration::from_millis(500));
    assert!(vs.inhibit_on_failure);
    assert_eq!((vs.quorum, vs.hysteresis), (100, 50));
    assert_eq!(vs.sorry_server.unwrap().to_string(), "198.51.100.30:3306");
    let r0 = &vs.real_servers[0];
    assert_eq!(r0.addr.to_string(), "198.51.100.21:3306");
    assert_eq!(r0.weight, 100);
    assert_eq!(
        r0.checks[0],
        RealCheckConfig::Tcp {
            addr: "198.51.100.21:3307".parse().unwrap(),
            timeout: Duration::from_secs(2)
        }
    );
    // quorum 0 (always up) with no hysteresis is keepalived's too.
    let q0 = config::parse(&format!(
        "{BASE}\n[[virtual_server]]\nname = \"q\"\ninstance = \"db\"\nport = 1\nquorum = 0\nhysteresis = 0\n[[virtual_server.real_server]]\naddress = \"198.51.100.21\"\n"
    ))
    .unwrap();
    assert_eq!(q0.virtual_servers[0].quorum, 0);
    assert!(matches!(
        &r0.checks[1],
        RealCheckConfig::Misc { argv, timeout, dynamic: true }
            if argv[0] == "/usr/bin/mariadb" && *timeout == Duration::from_secs(3)
    ));
    let r1 = &vs.real_servers[1];
    assert_eq!(r1.addr.to_string(), "198.51.100.22:3307");
    assert_eq!(r1.weight, 1);
    match &r1.checks[0] {
        RealCheckConfig::Postgres(p) => {
            assert_eq!(p.role, PgRole::Standby);
            assert_eq!(p.max_lag_bytes, Some(1_048_576));
            assert_eq!(p.timeout, config::DEFAULT_PG_TIMEOUT);
        }
        other => panic!("{other:?}"),
    }
    assert!(cfg.summary().contains("1 virtual server: mariadb"));
    // A password in a pg_check's conninfo never shows in Debug output.
    let secret = config::parse(&format!(
        "{BASE}\n[[virtual_server]]\nname = \"s\"\ninstance = \"db\"\nport = 5432\n[[virtual_server.real_server]]\naddress = \"198.51.100.21\"\npg_check = {{ conninfo = \"host=198.51.100.21 user=vip password=hunter2\" }}\n"
    ))
    .unwrap();
    let shown = format!("{secret:?}");
    assert!(
        !shown.contains("hunter2") && shown.contains("PgCheckConfig"),
        "{shown}"
    );
}

#[test]
fn defaults_follow_the_documented_values() {
    let cfg = config::parse(&format!(
        r#"{BASE}
[[virtual_server]]
name = "web"
instance = "db"
port = 80
[[virtual_server.real_server]]
address = "198.51.100.21"
misc_check = {{ misc_path = ["/bin/true"] }}
"#
    ))
    .unwrap();
    let vs = &cfg.virtual_servers[0];
    // The address defaults to the instance's only VIP.
    assert_eq!(vs.address.to_string(), "198.51.100.10");
    assert_eq!(vs.protocol, Protocol::Tcp);
    assert_eq!(vs.lb_algo, Scheduler::Wrr);
    assert_eq!(vs.delay_loop, config::DEFAULT_DELAY_LOOP);
    assert_eq!(vs.delay_before_retry, config::DEFAULT_DELAY_BEFORE_RETRY);
    assert_eq!((vs.retry, vs.quorum, vs.hysteresis), (1, 1, 0));
    assert!(!vs.inhibit_on_failure);
    assert!(vs.sorry_server.is_none());
    // misc_timeout defaults to delay_loop, as in keepalived.
    assert_eq!(
        vs.real_servers[0].checks[0].timeout(),
        config::DEFAULT_DELAY_LOOP
    );
}

#[test]
fn each_error_names_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "instance = \"nope\"\nport = 1",
            "virtual_server[vs].instance",
            "not a valid [[instance]]",
        ),
        (
            "instance = \"db\"\naddress = \"198.51.100.99\"\nport = 1",
            "virtual_server[vs].address",
            "is not a VIP of instance",
        ),
        (
            "instance = \"db\"\nport = 70000",
            "virtual_server[vs].port",
            "out of range",
        ),
        (
            "instance = \"db\"",
            "virtual_server[vs].port",
            "is required",
        ),
        (
            "instance = \"db\"\nport = 1\nlb_algo = \"wlc\"",
            "virtual_server[vs].lb_algo",
            "cannot be done in nftables",
        ),
        (
            "instance = \"db\"\nport = 1\nlb_algo = \"xx\"",
            "virtual_server[vs].lb_algo",
            "not a scheduler",
        ),
        (
            "instance = \"db\"\nport = 1\nprotocol = \"sctp\"",
            "virtual_server[vs].protocol",
            "not a protocol",
        ),
        (
            "instance = \"db\"\nport = 1\ndelay_loop = \"0s\"",
            "virtual_server[vs].delay_loop",
            "greater than zero",
        ),
        (
            "instance = \"db\"\nport = 1\nquorum = 2\nhysteresis = 2",
            "virtual_server[vs].hysteresis",
            "less than quorum",
        ),
        (
            "instance = \"db\"\nport = 1\nsorry_server = \"198.51.100.30\"",
            "virtual_server[vs].sorry_server",
            "not address:port",
        ),
        (
            "instance = \"db\"\nport = 1\nlb_algoo = \"rr\"",
            "virtual_server[vs].lb_algoo",
            "did you mean \"lb_algo\"",
        ),
    ];
    for (extra, path, needle) in cases {
        let e = errors(&format!(
            "{BASE}\n[[virtual_server]]\nname = \"vs\"\n{extra}\n[[virtual_server.real_server]]\naddress = \"198.51.100.21\"\n"
        ));
        assert!(
            e.has(path, needle),
            "{extra:?}: wanted {path}: {needle}; got:\n{e}"
        );
    }
}

#[test]
fn real_server_errors_name_their_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "address = \"198.51.100.21:3306\"",
            "address",
            "the port goes in `port`",
        ),
        (
            "address = \"198.51.100.21\"\nweight = 70000",
            "weight",
            "out of range",
        ),
        ("address = \"2001:db8::1\"", "address", "address family"),
        (
            "address = \"198.51.100.21\"\nmisc_check = { misc_timeout = \"1s\" }",
            "misc_check.misc_path",
            "is required",
        ),
        (
            "address = \"198.51.100.21\"\ntcp_check = { connect_port = 0 }",
            "tcp_check.connect_port",
            "out of range",
        ),
        (
            "address = \"198.51.100.21\"\npg_check = { role = \"leader\", conninfo = \"host=x\" }",
            "pg_check.role",
            "not a role",
        ),
        (
            "address = \"198.51.100.21\"\npg_check = { role = \"primary\", conninfo = \"host=x\", max_lag_bytes = 1 }",
            "pg_check.max_lag_bytes",
            "no meaning",
        ),
        (
            "address = \"198.51.100.21\"\npg_check = { max_lag_bytes = 1 }",
            "pg_check.conninfo",
            "is required",
        ),
        (
            "address = \"198.51.100.21\"\npg_check = { conninfo = \"host=x port=notaport\" }",
            "pg_check.conninfo",
            "rejected by the check",
        ),
    ];
    for (extra, key, needle) in cases {
        let e = errors(&format!(
            "{BASE}\n[[virtual_server]]\nname = \"vs\"\ninstance = \"db\"\nport = 3306\n[[virtual_server.real_server]]\n{extra}\n"
        ));
        let path = format!("virtual_server[vs].real_server[0].{key}");
        assert!(
            e.has(&path, needle),
            "{extra:?}: wanted {path}: {needle}; got:\n{e}"
        );
    }
}

#[test]
fn names_and_services_are_unique_and_real_servers_required() {
    let vs = |name: &str| {
        format!(
            "[[virtual_server]]\nname = \"{name}\"\ninstance = \"db\"\nport = 80\n[[virtual_server.real_server]]\naddress = \"198.51.100.21\"\n"
        )
    };
    let e = errors(&format!("{BASE}\n{}\n{}", vs("a"), vs("a")));
    assert!(e.has("virtual_server[a].name", "also the name of"), "{e}");
    let e = errors(&format!("{BASE}\n{}\n{}", vs("a"), vs("b")));
    assert!(
        e.has("virtual_server[b].port", "already balanced by"),
        "{e}"
    );
    let e = errors(&format!(
        "{BASE}\n[[virtual_server]]\nname = \"c\"\ninstance = \"db\"\nport = 80\n"
    ));
    assert!(
        e.has("virtual_server[c].real_server", "at least one"),
        "{e}"
    );
    let e = errors(&format!(
        "{BASE}\n[[virtual_server]]\nname = \"d\"\ninstance = \"db\"\nport = 80\n[[virtual_server.real_server]]\naddress = \"198.51.100.21\"\n[[virtual_server.real_server]]\naddress = \"198.51.100.21\"\n"
    ));
    assert!(
        e.has("virtual_server[d].real_server[1].address", "is also"),
        "{e}"
    );
}
