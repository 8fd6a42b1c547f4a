//! `vipd import-keepalived` on the captured vectors' keepalived configs: the output passes
//! check-config and keeps vrid, priority, interval, VIPs and auth. Untranslatable settings are
//! reported with block and line, and make the exit code non-zero.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use vip_vrrp::wire::Auth;

use vip_core::election::Version;
use vip_examples::config;
use vip_examples::keepalived::{Severity, import};

/// Copies of /work/shared/vectors/configs (the configs the golden captures were made with).
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/keepalived");

struct Expect {
    file: &'static str,
    name: &'static str,
    vrid: u8,
    version: Version,
    priority: u8,
    centis: u32,
    vips: &'static [&'static str],
    auth: Option<&'static str>,
    source: Option<&'static str>,
    peers: &'static [&'static str],
}

const EXPECT: &[Expect] = &[
    Expect {
        file: "v2-n1.conf",
        name: "VI_1",
        vrid: 51,
        version: Version::V2,
        priority: 101,
        centis: 100,
        vips: &["10.77.0.100/32"],
        auth: Some("1111"),
        source: None,
        peers: &[],
    },
    Expect {
        file: "v2multi-n1.conf",
        name: "VI_M",
        vrid: 55,
        version: Version::V2,
        priority: 200,
        centis: 200,
        vips: &["10.77.0.100/32", "10.77.0.101/32", "10.77.0.102/32"],
        auth: Some("secretpw"),
        source: None,
        peers: &[],
    },
    Expect {
        file: "v3-n1.conf",
        name: "VI_1",
        vrid: 52,
        version: Version::V3,
        priority: 101,
        centis: 10,
        vips: &["10.77.0.100/32"],
        auth: None,
        source: None,
        peers: &[],
    },
    Expect {
        file: "v3unicast-n1.conf",
        name: "VI_U",
        vrid: 56,
        version: Version::V3,
        priority: 120,
        centis: 100,
        vips: &["10.77.0.100/32"],
        auth: None,
        source: Some("10.77.0.11"),
        peers: &["10.77.0.12"],
    },
    Expect {
        file: "v3v6-n1.conf",
        name: "VI_6",
        vrid: 54,
        version: Version::V3,
        priority: 150,
        centis: 50,
        vips: &["fd00:77::100/128", "fd00:77::101/128"],
        auth: None,
        source: None,
        peers: &[],
    },
];

fn vectors_dir() -> Option<&'static Path> {
    Some(Path::new(VECTORS))
}

#[test]
fn vector_configs_translate_faithfully() {
    let Some(dir) = vectors_dir() else { return };
    for e in EXPECT {
        let text = std::fs::read_to_string(dir.join(e.file)).unwrap();
        let r = import(&text, e.file);
        assert!(!r.has_errors(), "{}: {:?}", e.file, r.diagnostics);
        let c =
            config::parse(&r.toml).unwrap_or_else(|err| panic!("{}: {err}\n{}", e.file, r.toml));
        assert_eq!(c.instances.len(), 1, "{}", e.file);
        let i = &c.instances[0];
        assert_eq!(i.name, e.name, "{}", e.file);
        assert_eq!(i.interface, "eth0");
        assert_eq!(i.vrid, e.vrid, "{}", e.file);
        assert_eq!(i.version, e.version, "{}", e.file);
        assert_eq!(i.priority.get(), e.priority, "{}", e.file);
        assert_eq!(i.advert_interval.as_centis(), e.centis, "{}", e.file);
        let vips: Vec<String> = i
            .vips
            .iter()
            .map(|v| format!("{}/{}", v.addr, v.prefix_len))
            .collect();
        assert_eq!(vips, e.vips, "{}", e.file);
        assert!(i.vips.iter().all(|v| v.interface == "eth0"));
        let auth = e
            .auth
            .map_or(Auth::None, |pw| Auth::simple(pw.as_bytes()).unwrap());
        assert_eq!(i.auth, auth, "{}", e.file);
        assert_eq!(
            i.source.map(|s| s.to_string()).as_deref(),
            e.source,
            "{}",
            e.file
        );
        let peers: Vec<String> = i.unicast_peers.iter().map(|p| p.to_string()).collect();
        assert_eq!(peers, e.peers, "{}", e.file);
        assert!(i.preempt);
    }
}

#[test]
fn binary_output_passes_check_config() {
    let Some(dir) = vectors_dir() else { return };
    let vipd = env!("CARGO_BIN_EXE_vipd");
    let tmp = std::env::temp_dir().join(format!("vip-examples-import-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for e in EXPECT {
        let out = Command::new(vipd)
            .arg("import-keepalived")
            .arg(dir.join(e.file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            e.file,
            String::from_utf8_lossy(&out.stderr)
        );
        let toml = tmp.join(format!("{}.toml", e.file));
        std::fs::write(&toml, &out.stdout).unwrap();
        let chk = Command::new(vipd)
            .arg("check-config")
            .arg(&toml)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&chk.stdout);
        assert!(
            chk.status.success(),
            "{}: {}",
            e.file,
            String::from_utf8_lossy(&chk.stderr)
        );
        assert!(
            stdout.contains("config ok: 1 instance")
                && stdout.contains(&format!("vrid {}", e.vrid)),
            "{stdout}"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

const HARD: &str = r#"
global_defs {
  router_id n1
  vrrp_version 2
  notification_email { ops@example.invalid }
}
vrrp_script chk_pg {
  script "/usr/bin/psql -tAc 'select pg_is_in_recovery()' | grep -q f"
  interval 2
}
vrrp_script chk_ok {
  script "/usr/local/bin/check_pg --primary"
  interval 2
  timeout 1
  weight 2
  rise 2
  fall 3
}
vrrp_sync_group G1 {
  group {
    VI_1
  }
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  advert_int 1
  nopreempt
  track_interface {
    eth1
  }
  track_script {
    chk_pg
    chk_ok weight 4
  }
  authentication {
    auth_type PASS
    auth_pass longpassword
  }
  virtual_ipaddress {
    198.51.100.10/24 dev eth0 label eth0:vip
    198.51.100.11 brd 198.51.100.255 dev eth0
  }
  virtual_routes {
    203.0.113.0/24 via 198.51.100.1
  }
  notify "/usr/local/bin/notify.sh"
  notify_master "/usr/local/bin/became-master --now"
  notify_backup "/usr/local/bin/x > /tmp/log"
}
"#;

#[test]
fn untranslatable_settings_are_errors_with_block_and_line() {
    let r = import(HARD, "hard.conf");
    let errs: Vec<String> = r
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    let has = |needle: &str| errs.iter().any(|e| e.contains(needle));
    for needle in [
        "line 5: global_defs: notification_email: not translated",
        "line 8: vrrp_script chk_pg: script",
        "shell syntax",
        "line 19: vrrp_sync_group: not translated",
        "line 30: vrrp_instance VI_1: track_interface: not translated",
        "line 43: vrrp_instance VI_1: virtual_ipaddress 198.51.100.11: option \"brd\" not translated",
        "line 45: vrrp_instance VI_1: virtual_routes: not translated",
        "line 48: vrrp_instance VI_1: notify: not translated",
        "line 50: vrrp_instance VI_1: notify_backup",
    ] {
        assert!(has(needle), "missing {needle:?} in:\n{}", errs.join("\n"));
    }
    // What could be translated is, and still validates.
    let c = config::parse(&r.toml).unwrap_or_else(|e| panic!("{e}\n{}", r.toml));
    let i = &c.instances[0];
    assert_eq!(
        i.priority.get(),
        255,
        "state MASTER without priority is 255"
    );
    assert!(!i.preempt);
    assert_eq!(i.auth, Auth::simple(b"longpass").unwrap());
    assert_eq!(i.vips[0].label.as_deref(), Some("eth0:vip"));
    assert_eq!(i.vips[0].prefix_len, 24);
    assert_eq!(
        i.checks.len(),
        1,
        "chk_pg needs a shell and is not translated"
    );
    assert_eq!(i.checks[0].name, "chk_ok");
    assert_eq!(
        i.checks[0].weight, 4,
        "track_script weight overrides the script's"
    );
    assert_eq!((i.checks[0].rise, i.checks[0].fall), (2, 3));
    assert_eq!(
        i.checks[0].argv,
        vec!["/usr/local/bin/check_pg", "--primary"]
    );
    assert_eq!(i.notify.len(), 1);
    assert_eq!(
        i.notify[0].argv,
        vec!["/usr/local/bin/became-master", "--now"]
    );

    // The binary: non-zero without --allow-partial, zero with it; errors on stderr.
    let tmp = std::env::temp_dir().join(format!("vip-examples-hard-{}.conf", std::process::id()));
    std::fs::write(&tmp, HARD).unwrap();
    let vipd = env!("CARGO_BIN_EXE_vipd");
    let out = Command::new(vipd)
        .arg("import-keepalived")
        .arg(&tmp)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("track_interface: not translated"),
        "{stderr}"
    );
    assert!(
        !out.stdout.is_empty(),
        "the partial config is still printed"
    );
    let out = Command::new(vipd)
        .args(["import-keepalived", "--allow-partial"])
        .arg(&tmp)
        .output()
        .unwrap();
    assert!(out.status.success());
    let _ = std::fs::remove_file(&tmp);
}

#[test]
fn syntax_errors_name_the_line() {
    let r = import("vrrp_instance A {\n  interface eth0\n", "x.conf");
    assert!(r.has_errors());
    assert!(
        r.diagnostics[0]
            .to_string()
            .contains("line 1: '{' is never closed"),
        "{:?}",
        r.diagnostics
    );
}
