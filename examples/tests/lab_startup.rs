//! vipd at start-up, in a lab namespace: a missing capability is named before anything starts,
//! and `log_format = "journald"` sends structured records to the journal socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use vip_core::lab::Lab;

const VIPD: &str = env!("CARGO_BIN_EXE_vipd");

fn config(dir: &std::path::Path, global: &str) -> String {
    format!(
        "[global]\ncontrol_socket = \"{}\"\nsd_notify = false\n{global}\n\n[[instance]]\nname = \"up\"\ninterface = \"eth0\"\nvrid = 63\nvips = [\"198.51.100.102/32\"]\n",
        dir.join("vipd.sock").display()
    )
}

/// The fields of one record in the journal's native protocol: `KEY=value\n`, or `KEY\n`, a
/// little-endian u64 length, the value's bytes and `\n`.
fn fields(mut b: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let nl = b.iter().position(|&c| c == b'\n').unwrap_or(b.len());
        let head = &b[..nl];
        if let Some(eq) = head.iter().position(|&c| c == b'=') {
            out.push((
                String::from_utf8_lossy(&head[..eq]).into_owned(),
                String::from_utf8_lossy(&head[eq + 1..]).into_owned(),
            ));
            b = &b[(nl + 1).min(b.len())..];
        } else {
            let rest = &b[nl + 1..];
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            out.push((
                String::from_utf8_lossy(head).into_owned(),
                String::from_utf8_lossy(&rest[8..8 + len]).into_owned(),
            ));
            b = &rest[(8 + len + 1).min(rest.len())..];
        }
    }
    out
}

fn lab(tag: &str) -> Option<(Lab, vip_core::lab::Ns, std::path::PathBuf)> {
    let mut lab = Lab::new_or_skip(tag).unwrap()?;
    let dir = std::env::temp_dir().join(lab.prefix());
    std::fs::create_dir_all(&dir).unwrap();
    let ns = lab.namespace("n1").unwrap();
    lab.segment(&[&ns]).unwrap();
    ns.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])
        .unwrap();
    Some((lab, ns, dir))
}

#[test]
fn a_missing_capability_is_named_at_start() {
    let Some((_lab, ns, dir)) = lab("vipex-start-caps") else {
        return;
    };
    if !std::path::Path::new("/usr/sbin/capsh").exists() {
        println!("skipping: capsh not installed (scripts/setup installs libcap2-bin)");
        return;
    }
    let cfg = dir.join("vipd.toml");
    std::fs::write(&cfg, config(&dir, "")).unwrap();
    for (drop, missing) in [
        (
            "cap_net_raw",
            "missing CAP_NET_RAW: CAP_NET_RAW is needed for raw VRRP sockets",
        ),
        (
            "cap_net_admin",
            "missing CAP_NET_ADMIN: CAP_NET_ADMIN is needed for adding",
        ),
    ] {
        let cmd = format!("exec {VIPD} --config {}", cfg.display());
        let out = ns
            .output(&[
                "/usr/sbin/capsh",
                &format!("--drop={drop}"),
                "--",
                "-c",
                &cmd,
            ])
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(missing), "{err}");
        assert!(err.contains("AmbientCapabilities"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn journald_log_format_sends_structured_records() {
    let Some((_lab, ns, dir)) = lab("vipex-start-jrnl") else {
        return;
    };
    // A stand-in journal: a datagram socket bind-mounted on /run/systemd/journal in a private
    // mount namespace of vipd's own (the machine's /run is untouched).
    let jdir = dir.join("journal");
    std::fs::create_dir_all(&jdir).unwrap();
    let journal = UnixDatagram::bind(jdir.join("socket")).unwrap();
    journal
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let cfg = dir.join("vipd.toml");
    std::fs::write(&cfg, config(&dir, "log_format = \"journald\"")).unwrap();
    let script = format!(
        "mount -t tmpfs none /run && mkdir -p /run/systemd/journal && mount --bind {} /run/systemd/journal && exec {VIPD} --config {}",
        jdir.display(),
        cfg.display()
    );
    let mut vipd = ns
        .spawn(
            &[
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
            ],
            Some(&dir.join("stderr.log")),
        )
        .unwrap();
    let start = Instant::now();
    let mut records = Vec::new();
    let mut buf = vec![0u8; 65536];
    let has = |r: &[(String, String)], k: &str, v: &str| r.iter().any(|(a, b)| a == k && b == v);
    // Until the lone node is master: its transition is a record with the reason as a field.
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(n) = journal.recv(&mut buf) {
            let r = fields(&buf[..n]);
            let done = has(&r, "F_TO", "master");
            records.push(r);
            if done {
                break;
            }
        }
    }
    vipd.stop(Duration::from_secs(5));
    let find = |k: &str, v: &str| {
        records.iter().find(|r| has(r, k, v)).unwrap_or_else(|| {
            panic!(
                "no record with {k}={v}; got {records:?}; stderr: {}",
                std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
            )
        })
    };
    let ready = find("MESSAGE", "vipd ready");
    for (k, v) in [
        ("SYSLOG_IDENTIFIER", "vipd"),
        ("PRIORITY", "5"),
        ("F_INSTANCES", "1"),
    ] {
        assert!(has(ready, k, v), "{k}={v} in {ready:?}");
    }
    let master = find("F_TO", "master");
    assert!(
        has(master, "F_INSTANCE", "up") && has(master, "F_FROM", "claiming"),
        "{master:?}"
    );
    // Nothing on stderr but what the journal could not take.
    let stderr = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
    assert!(!stderr.contains("vipd ready"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
