//! Config validation: every error names its key path and says what is wrong; all errors are
//! collected, not just the first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config_support;

use std::time::Duration;

use config_support::{BASE, errors};
use vip_core::election::{FencePolicy, StopMode, Version};
use vip_examples::config::{self, ChecksumMode, RoleKind};

/// BASE with extra lines appended to the instance table.
fn with(extra: &str) -> String {
    format!("{BASE}{extra}\n")
}

#[test]
fn each_error_kind_names_its_key() {
    let cases: &[(&str, String, &str, &str)] = &[
        (
            "bad CIDR",
            r#"
[[instance]]
interface = "eth0"
vrid = 1
vips = ["198.51.100.10/32", "198.51.100.300/32"]
"#
            .replace("[[instance]]", "[[instance]]\nname = \"x y\""),
            "instance[0].vips[1]",
            "\"198.51.100.300/32\" is not a valid CIDR",
        ),
        (
            "vip_lifetime below 2 s",
            with("vip_lifetime = \"1500ms\""),
            "instance[db].vip_lifetime",
            "not a whole number of seconds of at least 2",
        ),
        (
            "vip_lifetime under 3 advert intervals",
            with("advert_interval = \"1s\"\nvip_lifetime = \"2s\""),
            "instance[db].vip_lifetime",
            "shorter than 3 advert intervals",
        ),
        (
            "vrid zero",
            BASE.replace("vrid = 51", "vrid = 0"),
            "instance[db].vrid",
            "0 is out of range 1..=255",
        ),
        (
            "vrid too big",
            BASE.replace("vrid = 51", "vrid = 256"),
            "instance[db].vrid",
            "256 is out of range 1..=255",
        ),
        (
            "v2 fractional interval",
            with("version = 2\nadvert_interval = 0.1"),
            "instance[db].advert_interval",
            "VRRPv2 needs whole seconds, got 0.1s",
        ),
        (
            "v3 sub-centisecond",
            with("advert_interval = \"105ms\""),
            "instance[db].advert_interval",
            "centiseconds",
        ),
        (
            "auth on v3",
            with("auth = { password = \"1111\" }"),
            "instance[db].auth",
            "authentication is VRRPv2 only",
        ),
        (
            "long password",
            with("version = 2\nauth = { password = \"123456789\" }"),
            "instance[db].auth.password",
            "1 to 8",
        ),
        (
            "unknown key",
            with("prority = 100"),
            "instance[db].prority",
            "unknown key",
        ),
        (
            "unknown nested key",
            with("[instance.fencer]\nargv = [\"/bin/true\"]\npolcy = \"always\""),
            "instance[db].fencer.polcy",
            "unknown key",
        ),
        (
            "unknown global key",
            format!("[global]\nlog_fmt = \"json\"\n{BASE}"),
            "global.log_fmt",
            "unknown key",
        ),
        (
            "unknown top-level key",
            format!("instances = 1\n{BASE}"),
            "instances",
            "unknown key",
        ),
        (
            "wrong type",
            with("preempt = \"yes\""),
            "instance[db].preempt",
            "invalid type",
        ),
        (
            "priority range",
            with("priority = 0"),
            "instance[db].priority",
            "0 is out of range 1..=255",
        ),
        (
            "version",
            with("version = 4"),
            "instance[db].version",
            "4 is not a VRRP version",
        ),
        (
            "checksum on v2",
            with("version = 2\nv3_ipv4_checksum = \"rfc\""),
            "instance[db].v3_ipv4_checksum",
            "VRRPv3 only",
        ),
        (
            "checksum mode",
            with("v3_ipv4_checksum = \"sometimes\""),
            "instance[db].v3_ipv4_checksum",
            "not a checksum mode",
        ),
        (
            "on_stop",
            with("on_stop = \"linger\""),
            "instance[db].on_stop",
            "not a stop mode",
        ),
        (
            "ipv6 on v2",
            BASE.replace("\"198.51.100.10/32\"", "\"2001:db8::10/128\"") + "version = 2\n",
            "instance[db].vips[0]",
            "VRRPv2 carries IPv4 only",
        ),
        (
            "mixed family",
            BASE.replace(
                "\"198.51.100.10/32\"",
                "\"198.51.100.10/32\", \"2001:db8::10\"",
            ),
            "instance[db].vips[1]",
            "one address family",
        ),
        (
            "label on v6",
            BASE.replace(
                "\"198.51.100.10/32\"",
                "{ address = \"2001:db8::10\", label = \"eth0:v\" }",
            ),
            "instance[db].vips[0].label",
            "IPv4 addresses only",
        ),
        (
            "label prefix",
            BASE.replace(
                "\"198.51.100.10/32\"",
                "{ address = \"198.51.100.10\", label = \"vip0\" }",
            ),
            "instance[db].vips[0].label",
            "must start with the interface name",
        ),
        (
            "bad source",
            with("source = \"198.51.100.999\""),
            "instance[db].source",
            "not an IP address",
        ),
        (
            "peer family",
            with("unicast_peers = [\"2001:db8::2\"]"),
            "instance[db].unicast_peers[0]",
            "address family",
        ),
        (
            "preempt contradiction",
            with("preempt = true\nnopreempt = true"),
            "instance[db].nopreempt",
            "contradicts",
        ),
        (
            "preempt_delay without preempt",
            with("nopreempt = true\npreempt_delay = \"5s\""),
            "instance[db].preempt_delay",
            "no effect",
        ),
        (
            "bad duration",
            with("preempt_delay = \"soon\""),
            "instance[db].preempt_delay",
            "not a duration",
        ),
        (
            "check argv missing",
            with("[[instance.check]]\nname = \"pg\""),
            "instance[db].check[0].argv",
            "is required",
        ),
        (
            "check weight",
            with("[[instance.check]]\nargv = [\"/bin/true\"]\nweight = 300"),
            "instance[db].check[0].weight",
            "300 is out of range -253..=253",
        ),
        (
            "check rise",
            with("[[instance.check]]\nargv = [\"/bin/true\"]\nrise = 0"),
            "instance[db].check[0].rise",
            "out of range",
        ),
        (
            "check zero interval",
            with("[[instance.check]]\nargv = [\"/bin/true\"]\ninterval = 0"),
            "instance[db].check[0].interval",
            "greater than zero",
        ),
        (
            "role kind",
            with("[instance.role]\nkind = \"mysql\"\nconninfo = \"host=x\""),
            "instance[db].role.kind",
            "not a role probe",
        ),
        (
            "role conninfo",
            with("[instance.role]\nkind = \"postgres\""),
            "instance[db].role.conninfo",
            "is required",
        ),
        (
            "repmgr node",
            with("[instance.role]\nkind = \"repmgr\"\nconninfo = \"host=x\""),
            "instance[db].role",
            "node_name or node_id",
        ),
        (
            "postgres node_name",
            with("[instance.role]\nkind = \"postgres\"\nconninfo = \"host=x\"\nnode_name = \"n1\""),
            "instance[db].role.node_name",
            "only for kind",
        ),
        (
            "fencer placeholder",
            with("[instance.fencer]\nargv = [\"/usr/bin/fence\", \"{host}\"]"),
            "instance[db].fencer.argv[1]",
            "unknown placeholder {host}",
        ),
        (
            "fencer policy",
            with("[instance.fencer]\nargv = [\"/bin/true\"]\npolicy = \"never\""),
            "instance[db].fencer.policy",
            "not a fence policy",
        ),
        (
            "notify state",
            with("[[instance.notify]]\nargv = [\"/bin/true\"]\non = [\"primary\"]"),
            "instance[db].notify[0].on[0]",
            "not a state",
        ),
        (
            "no vips",
            BASE.replace("vips = [\"198.51.100.10/32\"]", ""),
            "instance[db].vips",
            "is required",
        ),
        (
            "no instances",
            "[global]\nlog_format = \"human\"\n".to_string(),
            "instance",
            "at least one",
        ),
        (
            "log format",
            format!("[global]\nlog_format = \"xml\"\n{BASE}"),
            "global.log_format",
            "not a log format",
        ),
        (
            "metrics address",
            format!("[global]\nmetrics_listen = \"localhost\"\n{BASE}"),
            "global.metrics_listen",
            "not an address:port",
        ),
        (
            "control socket",
            format!("[global]\ncontrol_socket = \"vipd.sock\"\n{BASE}"),
            "global.control_socket",
            "absolute path",
        ),
        (
            "duplicate vrid",
            format!(
                "{BASE}{}",
                BASE.replace("\"db\"", "\"db2\"")
                    .replace("198.51.100.10", "198.51.100.11")
            ),
            "instance[db2].vrid",
            "also used by instance[db]",
        ),
        (
            "duplicate name",
            format!(
                "{BASE}{}",
                BASE.replace("vrid = 51", "vrid = 52")
                    .replace("198.51.100.10", "198.51.100.11")
            ),
            "instance[db].name",
            "also the name of",
        ),
        (
            "duplicate VIP across instances",
            format!(
                "{BASE}{}",
                BASE.replace("\"db\"", "\"db2\"")
                    .replace("vrid = 51", "vrid = 52")
            ),
            "instance[db2].vips[0]",
            "also a VIP of instance[db]",
        ),
        (
            "interface name",
            BASE.replace("\"eth0\"", "\"a/b\""),
            "instance[db].interface",
            "not an interface name",
        ),
        (
            "invalid TOML",
            "[[instance]\nname=".to_string(),
            "",
            "not valid TOML",
        ),
    ];
    for (what, text, path, needle) in cases {
        let e = errors(text);
        assert!(
            e.has(path, needle),
            "{what}: expected an error at {path:?} containing {needle:?}, got:\n{e}"
        );
    }
}

#[test]
fn all_errors_are_collected() {
    let text = r#"
[global]
log_format = "xml"
bogus = 1

[[instance]]
name = "a"
interface = "eth0"
vrid = 0
prority = 5
colour = "red"
advert_interval = "0.155"
vips = ["198.51.100.300/32", "198.51.100.7/33"]

[[instance]]
name = "b"
interface = "eth0"
vrid = 300
version = 2
advert_interval = 0.5
auth = { password = "abc" }
vips = ["198.51.100.8"]
"#;
    let e = errors(text);
    for (path, needle) in [
        ("global.log_format", "not a log format"),
        ("global.bogus", "unknown key"),
        ("instance[a].vrid", "out of range"),
        ("instance[a].prority", "unknown key"),
        ("instance[a].colour", "unknown key"),
        ("instance[a].advert_interval", "centiseconds"),
        ("instance[a].vips[0]", "not a valid CIDR"),
        ("instance[a].vips[1]", "not a valid CIDR"),
        ("instance[b].vrid", "300 is out of range"),
        (
            "instance[b].advert_interval",
            "VRRPv2 needs whole seconds, got 0.5s",
        ),
    ] {
        assert!(e.has(path, needle), "missing {path}: {needle}; got:\n{e}");
    }
    assert_eq!(e.0.len(), 10, "{e}");
    // Display puts one error per line, each starting with its path.
    assert_eq!(e.to_string().lines().count(), 10);
}

#[test]
fn full_config_maps_to_typed_values() {
    let text = r#"
[global]
log_format = "json"
log_level = "debug"
metrics_listen = "127.0.0.1:9650"
control_socket = "/run/vipd/test.sock"
sd_notify = false

[[instance]]
name = "pg"
interface = "eth0"
vrid = 60
version = 3
priority = 150
advert_interval = "100ms"
nopreempt = true
source = "198.51.100.1"
unicast_peers = ["198.51.100.2", "198.51.100.3"]
v3_ipv4_checksum = "rfc"
vips = ["198.51.100.100/24", { address = "198.51.100.101", label = "eth0:ro", interface = "eth0" }]
on_stop = "keep"

[instance.garp]
repeat = 3
interval = "10ms"
refresh = "60s"

[[instance.check]]
name = "pg_up"
argv = ["/usr/bin/pg_isready", "-q"]
interval = "2s"
timeout = "1s"
weight = 4
rise = 2
fall = 3

[instance.role]
kind = "repmgr"
conninfo = "host=/run/postgresql dbname=repmgr user=repmgr"
node_name = "node1"
interval = "500ms"
timeout = "300ms"

[instance.fencer]
argv = ["/usr/local/bin/fence", "--peer", "{peer}", "--vip={vip}", "{interface}"]
timeout = "5s"
policy = "always"

[[instance.notify]]
argv = ["/usr/local/bin/vip-changed"]
timeout = "3s"
on = ["master", "backup"]

[[instance]]
name = "v6"
interface = "eth1"
vrid = 60
advert_interval = 0.5
vips = ["2001:db8::100"]
"#;
    let c = config::parse(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.global.metrics_listen,
        Some("127.0.0.1:9650".parse().unwrap())
    );
    assert!(!c.global.sd_notify);
    let pg = c.instance("pg").unwrap();
    assert_eq!(pg.vrid, 60);
    assert_eq!(pg.version, Version::V3);
    assert_eq!(pg.advert_interval.as_centis(), 10);
    assert!(!pg.preempt);
    assert_eq!(pg.checksum, ChecksumMode::MessageOnly);
    assert_eq!(pg.on_stop, StopMode::Keep);
    assert_eq!(pg.vips[0].prefix_len, 24);
    assert_eq!(pg.vips[1].label.as_deref(), Some("eth0:ro"));
    assert_eq!(pg.announce.refresh, Some(Duration::from_secs(60)));
    assert_eq!(pg.checks[0].rise, 2);
    assert!(matches!(
        pg.role.as_ref().unwrap().kind,
        RoleKind::Repmgr { .. }
    ));
    assert_eq!(pg.notify[0].on.len(), 2);

    // Role gating, fencing and checks come with their backends (tests/spec.rs).
    let e = pg.election_config("198.51.100.1".parse().unwrap());
    assert_eq!(e.vrid, 60);
    assert_eq!(e.priority.get(), 150);
    assert!(!e.preempt);
    assert_eq!(e.fence_policy, FencePolicy::Always);
    assert_eq!(e.vips.len(), 2);

    // Same vrid on the same interface family-separated is fine (v6 on eth1 anyway).
    let v6 = c.instance("v6").unwrap();
    assert!(v6.is_ipv6());
    assert_eq!(v6.vips[0].prefix_len, 128);
    // No source configured: the transport chooses it (the link-local address for IPv6).
    assert_eq!(v6.transport_config().source, None);
    assert!(c.summary().starts_with("config ok: 2 instances"));
}

#[test]
fn a_role_timeout_longer_than_its_interval_is_allowed() {
    // Common with repmgr/Patroni: probe every second, give a slow server two. Probes never
    // overlap; a slow one only delays the next.
    let c = config::parse(&with(
        "[instance.role]\nkind = \"postgres\"\nconninfo = \"host=x\"\ninterval = \"1s\"\ntimeout = \"2s\"",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let role = c.instances[0].role.as_ref().unwrap();
    assert_eq!(
        (role.interval, role.timeout),
        (Duration::from_secs(1), Duration::from_secs(2))
    );
    // The default stays min(interval, 500 ms).
    let c = config::parse(&with(
        "[instance.role]\nkind = \"postgres\"\nconninfo = \"host=x\"\ninterval = \"300ms\"",
    ))
    .unwrap();
    assert_eq!(
        c.instances[0].role.as_ref().unwrap().timeout,
        Duration::from_millis(300)
    );
}

#[test]
fn same_vrid_for_ipv4_and_ipv6_on_one_interface_is_allowed() {
    let text = format!(
        "{BASE}{}",
        BASE.replace("\"db\"", "\"db6\"")
            .replace("\"198.51.100.10/32\"", "\"2001:db8::10\"")
    );
    config::parse(&text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn backend_types_follow_the_config() {
    use vip_netlink::GarpForm;
    use vip_vrrp::wire::{Auth, ChecksumMode as Wire};
    let c = config::parse(&with("version = 2\nauth = { password = \"1111\" }\n[instance.garp]\nform = \"both\"\nrepeat = 2\nrefresh = \"30s\"")).unwrap();
    let i = &c.instances[0];
    assert_eq!(i.auth, Auth::Simple(*b"1111\0\0\0\0"));
    let a = &i.announce;
    assert_eq!(
        (a.garp_form, a.repeat, a.refresh),
        (GarpForm::Both, 2, Some(Duration::from_secs(30)))
    );
    let c = config::parse(&with("v3_ipv4_checksum = \"rfc\"")).unwrap();
    assert_eq!(c.instances[0].checksum, Wire::MessageOnly);
    assert_eq!(c.instances[0].auth, Auth::None);
    let c = config::parse(BASE).unwrap();
    assert_eq!(c.instances[0].checksum, Wire::PseudoHeader);
    assert_eq!(c.global.log_level, "info");
    let c = config::parse(&format!(
        "[global]\nlog_level = \"warn,vip_core=debug\"\n{BASE}"
    ))
    .unwrap();
    assert_eq!(c.global.log_level, "warn,vip_core=debug");
}
