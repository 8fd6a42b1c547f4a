//! vipd as a process: sd_notify READY/WATCHDOG/STOPPING over a real datagram socket, the
//! control socket round trip with `vipctl status --json`, reprobe and repmgr events, reload by
//! `vipctl reload` and by SIGHUP, the metrics endpoint, and a clean SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vip_examples::control::{Response, StatusReport};

const VIPD: &str = env!("CARGO_BIN_EXE_vipd");
const VIPCTL: &str = env!("CARGO_BIN_EXE_vipctl");

struct Guard {
    child: Option<Child>,
    dir: PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The interfaces these tests' instances name. vipd runs here in the test's own network
/// namespace (the host's, for the sd_notify socket and the metrics port), so these must not
/// exist there: vipd then keeps the instances in fault and never adds an address outside a lab.
const INTERFACES: [&str; 2] = ["veth-db", "veth-web"];

/// `vipd`, for a daemon run: refuses (panics) if an instance's interface exists in this
/// namespace.
fn daemon_command() -> Command {
    for ifname in INTERFACES {
        assert!(
            !Path::new("/sys/class/net").join(ifname).exists(),
            "{ifname} exists in the host namespace: these tests would let vipd add VIPs on it"
        );
    }
    Command::new(VIPD)
}

fn config(sock: &Path, metrics: &str, instances: &str) -> String {
    format!(
        "[global]\ncontrol_socket = \"{}\"\nmetrics_listen = \"{metrics}\"\nlog_level = \"debug\"\n{instances}",
        sock.display()
    )
}

const DB: &str = r#"
[[instance]]
name = "db"
interface = "veth-db"
vrid = 51
priority = 150
vips = ["198.51.100.10/32"]
[instance.role]
kind = "repmgr"
conninfo = "host=/run/postgresql dbname=repmgr"
node_name = "node1"
"#;

const WEB: &str = r#"
[[instance]]
name = "web"
interface = "veth-web"
vrid = 52
vips = ["198.51.100.20/32", "2001:db8::20"]
"#;

const WEB_V4: &str = r#"
[[instance]]
name = "web"
interface = "veth-web"
vrid = 52
vips = ["198.51.100.20/32"]
"#;

fn vipctl(sock: &Path, args: &[&str]) -> Output {
    Command::new(VIPCTL)
        .arg("--socket")
        .arg(sock)
        .args(args)
        .output()
        .unwrap()
}

fn status(sock: &Path) -> StatusReport {
    let out = vipctl(sock, &["status", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn recv_until(sock: &UnixDatagram, want: &str, limit: Duration) -> Vec<String> {
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        if let Ok(n) = sock.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = m.lines().any(|l| l == want);
            seen.push(m);
            if hit {
                return seen;
            }
        }
    }
    panic!("no {want:?} within {limit:?}; got {seen:?}");
}

fn scrape(port: u16) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn vipd_lifecycle_over_control_socket_sd_notify_and_metrics() {
    let dir = std::env::temp_dir().join(format!("vip-examples-daemon-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut guard = Guard {
        child: None,
        dir: dir.clone(),
    };
    let sock = dir.join("run/vipd.sock");
    let cfg = dir.join("vipd.toml");
    let port = free_port();
    let metrics = format!("127.0.0.1:{port}");
    std::fs::write(&cfg, config(&sock, &metrics, &format!("{DB}{WEB_V4}"))).unwrap();

    // Before vipd runs: a clear error, exit code 2.
    let out = vipctl(&sock, &["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist: is vipd running"));

    let notify_path = dir.join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let log = std::fs::File::create(dir.join("vipd.log")).unwrap();
    let child = daemon_command()
        .arg("--config")
        .arg(&cfg)
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", "200000")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let pid = child.id();
    guard.child = Some(child);

    let ready = recv_until(&notify, "READY=1", Duration::from_secs(20));
    // STATUS= names each instance's state, in config order.
    let last = ready.last().unwrap();
    assert!(
        last.lines()
            .any(|l| l.starts_with("STATUS=db: ") && l.contains(", web: ")),
        "{last}"
    );
    recv_until(&notify, "WATCHDOG=1", Duration::from_secs(5));
    recv_until(&notify, "WATCHDOG=1", Duration::from_secs(5));

    // status --json: both instances, in config order, state initialize.
    let s = status(&sock);
    assert_eq!(s.daemon.pid, pid);
    let names: Vec<&str> = s.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["db", "web"]);
    let db = &s.instances[0];
    assert_eq!(
        (db.state.as_str(), db.vrid, db.base_priority, db.version),
        ("initialize", 51, 150, 3)
    );
    assert_eq!(db.vips, ["198.51.100.10/32"]);
    assert!(db.last_transition.is_none());

    // The table form.
    let out = vipctl(&sock, &["status"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("INSTANCE"), "{table}");
    assert!(table.lines().nth(1).unwrap().starts_with("db "), "{table}");

    // Reprobe: db has a role probe, web has none.
    let out = vipctl(&sock, &["reprobe"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "reprobe requested: db"
    );
    let out = vipctl(&sock, &["reprobe", "web"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no role probe"));
    let out = vipctl(&sock, &["reprobe", "nope"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no instance named \"nope\""));

    // repmgr events: promote -> reprobe, others ignored.
    let out = vipctl(
        &sock,
        &[
            "repmgr-event",
            "2",
            "standby_promote",
            "1",
            "2026-11-21 23:59:01.123+00",
            "server",
            "2",
            "promoted",
            "to",
            "primary",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("reprobe requested: db"));
    let out = vipctl(
        &sock,
        &["repmgr-event", "2", "cluster_created", "1", "t", "d"],
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ignored"));

    // Permission denied: another user (the socket is 0660 root:root).
    if is_root() && Path::new("/usr/bin/setpriv").exists() {
        let out = Command::new("/usr/bin/setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                VIPCTL,
                "--socket",
            ])
            .arg(&sock)
            .arg("status")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("permission denied on control socket"), "{err}");
    } else {
        eprintln!("skip permission check: needs root and setpriv");
    }

    // Metrics.
    let body = scrape(port);
    assert!(
        body.contains("vip_instance_state{vrrp_instance=\"db\",state=\"initialize\"} 1"),
        "{body}"
    );

    // Reload through vipctl: db unchanged, web changed, cache added.
    let cache = WEB_V4
        .replace("\"web\"", "\"cache\"")
        .replace("vrid = 52", "vrid = 53")
        .replace("198.51.100.20", "198.51.100.30");
    let web = WEB_V4.replace("vrid = 52", "vrid = 52\npriority = 120");
    std::fs::write(&cfg, config(&sock, &metrics, &format!("{DB}{web}{cache}"))).unwrap();
    let out = vipctl(&sock, &["reload"]);
    // Like SIGHUP: RELOADING=1 with MONOTONIC_USEC (Type=notify-reload), then READY=1.
    let reloading = recv_until(&notify, "RELOADING=1", Duration::from_secs(5));
    assert!(
        reloading.last().unwrap().contains("MONOTONIC_USEC="),
        "{reloading:?}"
    );
    recv_until(&notify, "READY=1", Duration::from_secs(5));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("unchanged: db")
            && text.contains("restarted: web")
            && text.contains("added:     cache")
            && text.contains("removed:   -"),
        "{text}"
    );
    assert_eq!(status(&sock).instances.len(), 3);

    // A broken config is refused and changes nothing.
    std::fs::write(
        &cfg,
        config(&sock, &metrics, &DB.replace("vrid = 51", "vrid = 0")),
    )
    .unwrap();
    let out = vipctl(&sock, &["reload"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("instance[db].vrid: 0 is out of range"));
    assert_eq!(status(&sock).instances.len(), 3);
    // A refused reload is a reload for systemd too: take its RELOADING=1 and READY=1 now, so
    // that the SIGHUP below is waited for by its own (the race that let the status be read
    // before the SIGHUP's reload).
    recv_until(&notify, "RELOADING=1", Duration::from_secs(5));
    recv_until(&notify, "READY=1", Duration::from_secs(5));

    // SIGHUP: web and cache removed.
    std::fs::write(&cfg, config(&sock, &metrics, DB)).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    recv_until(&notify, "RELOADING=1", Duration::from_secs(5));
    recv_until(&notify, "READY=1", Duration::from_secs(5));
    let s = status(&sock);
    assert_eq!(
        s.instances
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        ["db"]
    );
    assert!(!scrape(port).contains("instance=\"web\""));

    // SIGTERM: STOPPING=1, exit 0, socket gone.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    recv_until(&notify, "STOPPING=1", Duration::from_secs(5));
    let mut child = guard.child.take().unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "vipd did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(code.success());
    assert!(!sock.exists());
    let log = std::fs::read_to_string(dir.join("vipd.log")).unwrap();
    assert!(
        log.contains("vipd ready") && log.contains("vipd stopped"),
        "{log}"
    );
}

#[test]
fn a_second_vipd_does_not_steal_a_live_socket_and_a_stale_one_is_replaced() {
    let dir = std::env::temp_dir().join(format!("vip-examples-daemon2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut guard = Guard {
        child: None,
        dir: dir.clone(),
    };
    let sock = dir.join("vipd.sock");
    // A stale socket file (bound, then its listener closed).
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let cfg = dir.join("vipd.toml");
    std::fs::write(
        &cfg,
        config(&sock, &format!("127.0.0.1:{}", free_port()), WEB_V4),
    )
    .unwrap();
    let out = vipctl(&sock, &["status"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nobody listens"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    guard.child = Some(
        daemon_command()
            .arg("-c")
            .arg(&cfg)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !vipctl(&sock, &["status"]).status.success() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "first vipd never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let cfg2 = dir.join("vipd2.toml");
    std::fs::write(
        &cfg2,
        config(&sock, &format!("127.0.0.1:{}", free_port()), WEB_V4),
    )
    .unwrap();
    let out = Command::new(VIPD).arg("-c").arg(&cfg2).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another vipd is listening"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        vipctl(&sock, &["status"]).status.success(),
        "the first vipd keeps its socket"
    );
}

#[test]
fn check_config_exit_codes() {
    let dir = std::env::temp_dir().join(format!("vip-examples-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(&good, WEB_V4).unwrap();
    let out = Command::new(VIPD)
        .arg("check-config")
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("config ok: 1 instance: web (vrid 52 v3 on veth-web, 1 VIP)"));

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        WEB.replace("vrid = 52", "vrid = 0\nversion = 2\nadvert_interval = 0.1"),
    )
    .unwrap();
    let out = Command::new(VIPD)
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for e in [
        "instance[web].vrid: 0 is out of range 1..=255",
        "instance[web].advert_interval: VRRPv2 needs whole seconds, got 0.1s",
        "instance[web].vips[1]: 2001:db8::20 is not of the same family",
    ] {
        assert!(stderr.contains(e), "missing {e:?} in {stderr}");
    }
    let out = Command::new(VIPD)
        .arg("check-config")
        .arg(dir.join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn response_json_is_stable() {
    let r: Response = serde_json::from_str(r#"{"reprobe":{"instances":["db"]}}"#).unwrap();
    assert_eq!(
        r,
        Response::Reprobe {
            instances: vec!["db".into()]
        }
    );
    let e: Response = serde_json::from_str(r#"{"error":"x"}"#).unwrap();
    assert_eq!(e, Response::Error("x".into()));
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = std::env::temp_dir().join(format!("vip-examples-json-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut guard = Guard {
        child: None,
        dir: dir.clone(),
    };
    let sock = dir.join("vipd.sock");
    let cfg = dir.join("vipd.toml");
    std::fs::write(
        &cfg,
        format!(
            "[global]\nlog_format = \"json\"\nsd_notify = false\ncontrol_socket = \"{}\"\n{WEB_V4}",
            sock.display()
        ),
    )
    .unwrap();
    let log = dir.join("log");
    guard.child = Some(
        daemon_command()
            .arg("run")
            .arg("--config")
            .arg(&cfg)
            .env_remove("RUST_LOG")
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !vipctl(&sock, &["status"]).status.success() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "vipd never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut child = guard.child.take().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 3, "{text}");
    assert!(
        lines
            .iter()
            .all(|v| v["level"].is_string() && v["timestamp"].is_string())
    );
    assert!(lines.iter().any(|v| v["message"] == "vipd ready"), "{text}");
    assert!(lines.iter().any(|v| v["instance"] == "web"), "{text}");
}
