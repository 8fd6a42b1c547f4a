//! `vipd import-vip-manager`: vip-manager's YAML becomes a vipd instance that follows the same
//! Patroni leader key, and the result passes vipd's own validation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use vip_examples::config::{self, ArbiterConfig};
use vip_examples::keepalived::Severity;
use vip_examples::vipmanager;

const YAML: &str = r#"# config for vip-manager
interval: 1000
trigger-key: "/service/batman/leader"
trigger-value: "pg1"
ip: 198.51.100.10
netmask: 24
interface: eth0
hosting-type: basic
dcs-type: etcd
dcs-endpoints:
  - http://198.51.100.11:2379
  - 198.51.100.12:2379
etcd-user: "patroni"
etcd-password: "not#a comment"
etcd-ca-file: "/etc/etcd/ca.pem"
etcd-cert-file: "/etc/etcd/client.pem"
etcd-key-file: "/etc/etcd/client.key"
retry-num: 2
retry-after: 250
verbose: false
"#;

#[test]
fn translates_every_setting_into_a_valid_config() {
    let r = vipmanager::import(YAML);
    assert!(!r.has_errors(), "{:?}", r.diagnostics);
    let ignored: Vec<_> = r.diagnostics.iter().map(|d| d.message.clone()).collect();
    assert_eq!(
        ignored.len(),
        3,
        "retry-num, retry-after, verbose: {ignored:?}"
    );
    let c = config::parse(&r.toml).unwrap_or_else(|e| panic!("{e}\n{}", r.toml));
    let i = &c.instances[0];
    assert_eq!(i.name, "batman");
    assert_eq!(i.interface, "eth0");
    assert_eq!(i.vips[0].to_string(), "198.51.100.10/24 dev eth0");
    let Some(ArbiterConfig::Patroni(p)) = &i.arbiter else {
        panic!("{:?}", i.arbiter)
    };
    assert_eq!(p.leader_key(), "/service/batman/leader");
    assert_eq!(p.member, "pg1");
    assert_eq!(p.interval, Duration::from_millis(1000));
    assert_eq!(
        p.etcd.endpoints,
        vec!["http://198.51.100.11:2379", "http://198.51.100.12:2379"]
    );
    assert_eq!(p.etcd.user.as_deref(), Some("patroni"));
    assert_eq!(p.etcd.password.as_deref(), Some("not#a comment"));
    assert!(p.etcd.tls.as_ref().unwrap().cert.is_some());
}

#[test]
fn what_vipd_cannot_do_is_an_error() {
    for (yaml, needle) in [
        (
            "trigger-key: /service/x/leader\nip: 198.51.100.1\ninterface: eth0\ndcs-type: consul\n",
            "consul",
        ),
        (
            "trigger-key: /service/x/leader\nip: 198.51.100.1\ninterface: eth0\nhosting-type: hetzner\n",
            "hetzner",
        ),
        (
            "trigger-key: /service/x/members/pg1\nip: 198.51.100.1\ninterface: eth0\n",
            "not a Patroni leader key",
        ),
        ("trigger-key: /service/x/leader\ninterface: eth0\n", "no ip"),
        (
            "trigger-key: /service/x/leader\nip: 198.51.100.1\ninterface: eth0\nnested:\n  a: 1\n",
            "flat",
        ),
    ] {
        let r = vipmanager::import(yaml);
        assert!(r.has_errors(), "{yaml}");
        assert!(
            r.diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error && d.message.contains(needle)),
            "{needle}: {:?}",
            r.diagnostics
        );
    }
}

#[test]
fn the_vipd_command_prints_the_config() {
    let dir = std::env::temp_dir().join(format!("vipex-import-vm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("vip-manager.yml");
    std::fs::write(&file, YAML).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vipd"))
        .arg("import-vip-manager")
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml = String::from_utf8_lossy(&out.stdout);
    assert!(toml.contains("[instance.etcd.patroni]"), "{toml}");
    config::parse(&toml).unwrap();
}
