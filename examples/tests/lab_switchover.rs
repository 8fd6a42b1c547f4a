//! Planned moves between two real vipd in network namespaces: `vipctl switchover` (hand over on
//! the holder, `--to` on the target), `vipctl maintenance on|off` (kept across a restart of
//! vipd) and `vipctl status --check` against the running daemons. The cluster's overlap checker
//! fails the test if the two nodes ever held the VIP at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;

use std::process::{Command, Output};
use std::time::Duration;

use lab_support::{Cluster, METRICS_PORT, NodeConf, SOON, VIPCTL, wait_until};
use nix::sys::signal::Signal;

fn vipctl(c: &Cluster, i: usize, args: &[&str]) -> Output {
    Command::new(VIPCTL)
        .arg("--socket")
        .arg(&c.nodes[i].sock)
        .args(args)
        .output()
        .unwrap()
}

/// The HTTP status of `GET path` on node `i`'s metrics listener (inside its namespace).
fn http_code(c: &Cluster, i: usize, path: &'static str) -> u16 {
    use std::io::{Read, Write};
    c.nodes[i]
        .ns
        .enter(move || {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", METRICS_PORT))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok::<String, std::io::Error>(out)
        })
        .unwrap()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn pair(tag: &str) -> Option<Cluster> {
    let mut c = Cluster::new(tag, 2, 0)?;
    c.configure(0, &NodeConf::new(200));
    c.configure(1, &NodeConf::new(100));
    c.start(0);
    c.wait_master(0);
    c.start(1);
    assert!(
        wait_until(SOON, || c.state(1) == "backup"),
        "{}",
        c.state(1)
    );
    Some(c)
}

#[test]
fn switchover_hands_over_and_takes_over() {
    let Some(mut c) = pair("vipex-lab-switchover") else {
        return;
    };
    // On the holder: hand over. The backup takes the VIP and keeps it (node1 has the higher
    // priority and preempts, yet does not take it back).
    let out = vipctl(&c, 0, &["switchover"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("vip: hand over from 198.51.100.1 to 198.51.100.2 in "),
        "{}",
        text(&out)
    );
    c.wait_master(1);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        (c.state(0).as_str(), c.state(1).as_str()),
        ("backup", "master")
    );
    assert!(c.holds(1) && !c.holds(0));

    // Refused, with what to do instead: not the holder, and a --to that names another node.
    let out = vipctl(&c, 0, &["switchover"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("does not hold"), "{}", text(&out));
    let out = vipctl(&c, 0, &["switchover", "--to", "198.51.100.2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("is not this node"), "{}", text(&out));
    let out = vipctl(&c, 0, &["switchover", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no instance named \"nope\""));

    // On the target: take over.
    let out = vipctl(&c, 0, &["switchover", "vip", "--to", "198.51.100.1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("vip: take over from 198.51.100.2 to 198.51.100.1 in "),
        "{}",
        text(&out)
    );
    c.wait_master(0);
    let status = c.status(0).unwrap();
    assert_eq!(status.instances[0].address.as_deref(), Some("198.51.100.1"));
    assert!(c.log(0).contains("switchover done"));

    // A backup in fault (its link down) is critical for --check; the holder is OK.
    let ok = vipctl(&c, 0, &["status", "--check"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(
        text(&ok).starts_with("VIP OK - vip: master (holds VIPs) | holders=1 instances=1"),
        "{}",
        text(&ok)
    );
    c.link(1, false);
    assert!(wait_until(SOON, || c.state(1) == "fault"));
    let bad = vipctl(&c, 1, &["status", "--check"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    // The health endpoints of the real daemons say the same.
    assert_eq!(http_code(&c, 1, "/health"), 503);
    assert_eq!(http_code(&c, 1, "/replica/vip"), 503);
    assert_eq!(http_code(&c, 0, "/health"), 200);
    assert_eq!(http_code(&c, 0, "/primary/vip"), 200);
    assert_eq!(http_code(&c, 0, "/replica"), 503);
    assert!(
        text(&bad).starts_with("VIP CRITICAL - vip: fault"),
        "{}",
        text(&bad)
    );
    c.link(1, true);
    assert!(wait_until(SOON, || c.state(1) == "backup"));
    c.signal(1, Signal::SIGTERM);
    c.signal(0, Signal::SIGTERM);
}

#[test]
fn maintenance_releases_and_survives_a_restart() {
    let Some(mut c) = pair("vipex-lab-maint") else {
        return;
    };
    let out = vipctl(&c, 0, &["maintenance", "on"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out).trim(), "maintenance on: vip");
    c.wait_master(1);
    let row = c.status(0).unwrap().instances.remove(0);
    assert!(row.maintenance && !row.holds_vips, "{row:?}");
    assert!(c.status_table(0).contains("backup (maintenance)"));
    let check = vipctl(&c, 0, &["status", "--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(
        text(&check).starts_with("VIP WARNING - vip: backup, maintenance"),
        "{}",
        text(&check)
    );
    assert!(
        c.metrics(0)
            .contains("vip_maintenance{vrrp_instance=\"vip\"} 1")
    );

    // A restart of vipd keeps it (the state file beside the control socket).
    c.signal(0, Signal::SIGTERM);
    c.start(0);
    assert!(wait_until(SOON, || c.state(0) == "backup"));
    assert!(c.log(0).contains("maintenance restored"));
    std::thread::sleep(Duration::from_millis(1500));
    let row = c.status(0).unwrap().instances.remove(0);
    assert!(row.maintenance && row.state == "backup", "{row:?}");
    assert!(c.holds(1) && !c.holds(0));

    // A switchover is refused in maintenance.
    let out = vipctl(&c, 0, &["switchover", "--to", "198.51.100.1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("in maintenance"), "{}", text(&out));

    // Off: node1 (200, preempt) takes the VIP back by the ordinary rules.
    let out = vipctl(&c, 0, &["maintenance", "off", "vip"]);
    assert!(out.status.success(), "{}", text(&out));
    c.wait_master(0);
    assert!(!c.status(0).unwrap().instances[0].maintenance);
    assert!(!c.dir.join("maintenance").exists());
    c.signal(1, Signal::SIGTERM);
    c.signal(0, Signal::SIGTERM);
}
