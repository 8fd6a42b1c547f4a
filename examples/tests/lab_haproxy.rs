//! The README's HAProxy example against a real vipd pair: Debian's haproxy in a third namespace
//! checks each node's `/primary` (`option httpchk`) and sends client connections only to the
//! holder, then to the new holder after `vipctl switchover`, and after a failover (the holder's
//! link goes down). Each node runs a TCP server on 5432 that answers its name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lab_support::{Cluster, METRICS_PORT, NodeConf, SOON, VIPCTL, wait_until};
use nix::sys::signal::Signal;
use vip_core::lab::Ns;

const README: &str = include_str!("../../README.md");

/// The README's HAProxy config, checking every 100 ms instead of every second.
fn haproxy_config() -> String {
    let start = README.find("```haproxy\n").unwrap() + "```haproxy\n".len();
    let block = &README[start..];
    let block = &block[..block.find("```").unwrap()];
    assert!(block.contains("inter 1s"));
    block.replace("inter 1s", "inter 100ms")
}

/// A server on 0.0.0.0:5432 in `ns` that writes `name` to each client; it stops when `stop`
/// is set.
fn serve_name(ns: &Ns, name: &'static str, stop: Arc<AtomicBool>) {
    let listener = ns
        .enter(|| TcpListener::bind(("0.0.0.0", 5432)))
        .unwrap()
        .unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut s, _)) => {
                    let _ = s.write_all(format!("{name}\n").as_bytes());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
}

/// Connects through HAProxy (inside `client`) and returns the name the server answered.
fn ask(client: &Ns) -> String {
    client
        .enter(|| {
            let s = TcpStream::connect(("127.0.0.1", 5000))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            let mut line = String::new();
            BufReader::new(s).read_line(&mut line)?;
            Ok::<String, std::io::Error>(line.trim().to_owned())
        })
        .unwrap()
        .unwrap_or_default()
}

/// The HTTP status of `GET path` on `addr`'s health port, from `client`.
fn http_code(client: &Ns, addr: &'static str, path: &'static str) -> u16 {
    client
        .enter(move || {
            let mut s = TcpStream::connect((addr, METRICS_PORT))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok::<String, std::io::Error>(out)
        })
        .unwrap()
        .map(|r| {
            r.split_whitespace()
                .nth(1)
                .unwrap_or("0")
                .parse()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

/// Waits until `want` answers every one of several connections in a row.
fn routes_to(client: &Ns, want: &str) -> bool {
    wait_until(SOON, || (0..5).all(|_| ask(client) == want))
}

#[test]
fn haproxy_routes_to_the_holder_through_switchover_and_failover() {
    if Command::new("haproxy").arg("-v").output().is_err() {
        println!("skipping: haproxy not installed");
        return;
    }
    let Some(mut c) = Cluster::new("vipex-lab-haproxy", 2, 1) else {
        return;
    };
    for (i, prio) in [(0, 200), (1, 100)] {
        c.configure(i, &NodeConf::new(prio));
        // HAProxy asks over the segment: listen on every address.
        let path = &c.nodes[i].config;
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.replace(
            &format!("\"127.0.0.1:{METRICS_PORT}\""),
            &format!("\"0.0.0.0:{METRICS_PORT}\""),
        );
        std::fs::write(path, text).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    serve_name(&c.nodes[0].ns, "node1", stop.clone());
    serve_name(&c.nodes[1].ns, "node2", stop.clone());
    c.start(0);
    c.wait_master(0);
    c.start(1);
    assert!(wait_until(SOON, || c.state(1) == "backup"));

    let client = c.extras[0].clone();
    assert_eq!(http_code(&client, "198.51.100.1", "/primary"), 200);
    assert_eq!(http_code(&client, "198.51.100.2", "/primary"), 503);
    assert_eq!(http_code(&client, "198.51.100.2", "/replica"), 200);
    assert_eq!(http_code(&client, "198.51.100.2", "/health/vip"), 200);

    let cfg = c.dir.join("haproxy.cfg");
    std::fs::write(&cfg, haproxy_config()).unwrap();
    let cfg_s = cfg.display().to_string();
    let mut haproxy = client
        .spawn(
            &["haproxy", "-db", "-f", &cfg_s],
            Some(&c.dir.join("haproxy.log")),
        )
        .unwrap();
    assert!(
        routes_to(&client, "node1"),
        "HAProxy does not route to the holder: {:?}; log:\n{}",
        ask(&client),
        std::fs::read_to_string(c.dir.join("haproxy.log")).unwrap_or_default()
    );

    // Planned: hand over from node1.
    let out = Command::new(VIPCTL)
        .arg("--socket")
        .arg(&c.nodes[0].sock)
        .arg("switchover")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    c.wait_master(1);
    assert!(
        routes_to(&client, "node2"),
        "after switchover: {:?}",
        ask(&client)
    );

    // Unplanned: node2's link goes down; node1 takes over, HAProxy follows.
    c.link(1, false);
    c.wait_master(0);
    assert!(
        routes_to(&client, "node1"),
        "after failover: {:?}",
        ask(&client)
    );

    haproxy.stop(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    c.link(1, true);
    c.signal(1, Signal::SIGTERM);
    c.signal(0, Signal::SIGTERM);
}
