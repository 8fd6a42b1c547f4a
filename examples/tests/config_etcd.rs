//! `[instance.etcd]`: the documented keys parse into the arbiter configuration, bad values name
//! their key path, and the password is never printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config_support;

use std::path::PathBuf;
use std::time::Duration;

use config_support::BASE;
use vip_examples::config::{self, ArbiterConfig};

fn arbiter(extra: &str) -> ArbiterConfig {
    let c = config::parse(&format!("{BASE}{extra}")).unwrap();
    c.instances[0].arbiter.clone().expect("an arbiter")
}

fn error_paths(extra: &str) -> Vec<String> {
    match config::parse(&format!("{BASE}{extra}")) {
        Ok(c) => panic!("expected errors, got {c:?}"),
        Err(e) => {
            e.0.iter()
                .map(|e| format!("{} | {}", e.path, e.message))
                .collect()
        }
    }
}

#[test]
fn every_documented_key_parses() {
    let a = arbiter(
        r#"
[instance.etcd]
endpoints = ["https://198.51.100.11:2379", "https://198.51.100.12:2379"]
member = "node1"
ttl = "3s"
drift = 0.1
margin = "250ms"
key_prefix = "/vipd/"
request_timeout = "500ms"
call_timeout = "1500ms"
user = "vip"
password = "s3cret"
[instance.etcd.tls]
ca = "/etc/vip/ca.pem"
cert = "/etc/vip/client.pem"
key = "/etc/vip/client.key"
"#,
    );
    let ArbiterConfig::Lease { etcd, member } = &a else {
        panic!("{a:?}")
    };
    assert_eq!(member, "node1");
    assert_eq!(etcd.endpoints.len(), 2);
    assert_eq!(etcd.ttl, Duration::from_secs(3));
    assert_eq!(etcd.drift, 0.1);
    assert_eq!(etcd.margin, Duration::from_millis(250));
    assert_eq!(etcd.key_prefix, "/vipd/");
    assert_eq!(etcd.request_timeout, Some(Duration::from_millis(500)));
    assert_eq!(etcd.user.as_deref(), Some("vip"));
    let tls = etcd.tls.as_ref().unwrap();
    assert_eq!(tls.ca, PathBuf::from("/etc/vip/ca.pem"));
    assert_eq!(tls.key, Some(PathBuf::from("/etc/vip/client.key")));
    // The instance's Timeouts::arbiter.
    assert_eq!(a.call_bound(), Duration::from_millis(1500));
    let shown = format!("{a:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

#[test]
fn defaults_and_patroni_mode() {
    let a =
        arbiter("[instance.etcd]\nendpoints = [\"http://198.51.100.11:2379\"]\nmember = \"n1\"\n");
    let ArbiterConfig::Lease { etcd, .. } = &a else {
        panic!("{a:?}")
    };
    assert_eq!(etcd.ttl, Duration::from_secs(2));
    assert_eq!(etcd.key_prefix, "/vip/");
    // Default call bound: two requests of TTL / 3 each.
    assert_eq!(a.call_bound(), etcd.request_timeout() * 2);
    assert_eq!(a.call_bound(), Duration::from_secs(2) / 3 * 2);

    let p = arbiter(
        r#"
[instance.etcd]
endpoints = ["http://198.51.100.11:2379"]
member = "pg1"
[instance.etcd.patroni]
scope = "batman"
interval = "500ms"
"#,
    );
    let ArbiterConfig::Patroni(p) = p else {
        panic!("{p:?}")
    };
    assert_eq!(p.leader_key(), "/service/batman/leader");
    assert_eq!(p.member, "pg1");
    assert_eq!(p.interval, Duration::from_millis(500));
}

#[test]
fn bad_values_name_their_key_path() {
    let cases = [
        (
            "[instance.etcd]\nmember = \"n1\"\n",
            "instance[db].etcd.endpoints",
        ),
        (
            "[instance.etcd]\nendpoints = [\"http://h:2379\"]\nmember = \"n1\"\nttl = \"1s\"\n",
            "instance[db].etcd.ttl",
        ),
        (
            "[instance.etcd]\nendpoints = [\"https://h:2379\"]\nmember = \"n1\"\n",
            "instance[db].etcd.tls",
        ),
        (
            "[instance.etcd]\nendpoints = [\"http://h:2379\"]\nmember = \"n1\"\nmargin = \"soon\"\n",
            "instance[db].etcd.margin",
        ),
        (
            "[instance.etcd]\nendpoints = [\"http://h:2379\"]\nmember = \"n1\"\ncall_timeout = \"100ms\"\n",
            "instance[db].etcd.call_timeout",
        ),
        (
            "[instance.etcd]\nendpoints = [\"http://h:2379\"]\nmember = \"n1\"\nuser = \"u\"\n",
            "instance[db].etcd.password",
        ),
        (
            "[instance.etcd]\nendpoints = [\"http://h:2379\"]\nmember = \"n1\"\n[instance.etcd.patroni]\n",
            "instance[db].etcd.patroni.scope",
        ),
    ];
    for (extra, path) in cases {
        let errs = error_paths(extra);
        assert!(
            errs.iter().any(|e| e.starts_with(&format!("{path} |"))),
            "{path}: {errs:?}"
        );
    }
    // Unknown keys are refused.
    assert!(config::parse(&format!("{BASE}[instance.etcd]\nendpoint = []\n")).is_err());
}
