//! docs/recipes/haproxy-pair.md, run as written: two load-balancer namespaces with a real HAProxy
//! (the recipe's haproxy.cfg) and vipd (the recipe's configs, only the control socket's path
//! replaced), two web-server namespaces (a second HAProxy answering with its name) and a client
//! that sends an HTTP request through the VIP every 100 ms. HAProxy on the holder is killed: the
//! VIP moves to the other node and requests succeed again; HAProxy back: the VIP comes back. The
//! lab's overlap checker fails the test if both nodes ever held the VIP at once. Needs root,
//! haproxy and curl; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;
mod recipe_support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lab_support::{Cluster, SOON, wait_until};
use nix::sys::signal::Signal;
use recipe_support::{block, replace_all};
use vip_core::lab::LabProcess;

const DOC: &str = include_str!("../../docs/recipes/haproxy-pair.md");
const HAPROXY: &str = "/usr/sbin/haproxy";
const CURL: &str = "/usr/bin/curl";
/// Generous bound for a check to fall (2 x 500 ms) and the VIP to move, on a loaded machine.
const MOVE_BOUND: Duration = Duration::from_secs(10);

/// One request through the VIP from the client namespace: the body, or None on failure.
fn request(client: &str) -> Option<String> {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", client, CURL, "-fsS", "-m", "3"])
        .arg("http://198.51.100.100/")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// One request: when (since the client started), and the body or None on failure.
type Sample = (Duration, Option<String>);

/// Requests through the VIP every 100 ms on a thread.
struct Client {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<Sample>>>,
    start: Instant,
}

impl Client {
    fn start(ns: String) -> Client {
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut out = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let at = start.elapsed();
                out.push((at, request(&ns)));
                std::thread::sleep(Duration::from_millis(100));
            }
            out
        });
        Client {
            stop,
            thread: Some(thread),
            start,
        }
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

/// Failed requests in [from, to) and the longest run of consecutive failures there.
fn failures(log: &[Sample], from: Duration, to: Duration) -> (usize, usize) {
    let (mut failed, mut run, mut longest) = (0, 0, 0);
    for (_, r) in log.iter().filter(|(t, _)| *t >= from && *t < to) {
        if r.is_none() {
            failed += 1;
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    (failed, longest)
}

#[test]
fn vip_follows_a_healthy_haproxy() {
    for bin in [HAPROXY, CURL] {
        if !Path::new(bin).exists() {
            println!("skipping recipe_haproxy: {bin} missing (run scripts/setup)");
            return;
        }
    }
    let Some(mut c) = Cluster::new("rcp-hap", 2, 3) else {
        return;
    };
    let client = c.extras[2].name().to_owned();
    // The web servers: a second HAProxy in each, answering with its name on 8080.
    let mut keep: Vec<LabProcess> = Vec::new();
    for (i, name) in ["web1", "web2"].into_iter().enumerate() {
        let cfg = c.dir.join(format!("{name}.cfg"));
        std::fs::write(
            &cfg,
            format!(
                "defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n\
                 frontend web\n    bind :8080\n    http-request return status 200 content-type text/plain string {name}\n"
            ),
        )
        .unwrap();
        let log = c.dir.join(format!("{name}.log"));
        keep.push(
            c.extras[i]
                .spawn(&[HAPROXY, "-db", "-f", cfg.to_str().unwrap()], Some(&log))
                .unwrap(),
        );
    }
    // The load balancers: the recipe's haproxy.cfg, checked, then started.
    let lb_cfg = c.dir.join("haproxy.cfg");
    std::fs::write(&lb_cfg, block(DOC, "haproxy.cfg")).unwrap();
    let out = std::process::Command::new(HAPROXY)
        .args(["-c", "-f", lb_cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "haproxy -c: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let start_lb = |c: &Cluster, i: usize| -> LabProcess {
        let log = c.dir.join(format!("lb{}-haproxy.log", i + 1));
        c.nodes[i]
            .ns
            .spawn(
                &[HAPROXY, "-db", "-f", lb_cfg.to_str().unwrap()],
                Some(&log),
            )
            .unwrap()
    };
    let mut lbs: Vec<Option<LabProcess>> = (0..2).map(|i| Some(start_lb(&c, i))).collect();
    for i in 0..2 {
        let text = replace_all(
            &block(DOC, &format!("lb{}.toml", i + 1)),
            &[("/run/vipd/vipd.sock", c.nodes[i].sock.to_str().unwrap())],
        );
        std::fs::write(&c.nodes[i].config, text).unwrap();
    }
    c.start(0);
    c.start(1);
    assert!(
        wait_until(MOVE_BOUND, || c.state_of(0, "web") == "master"
            && c.holders() == vec![0]),
        "lb1 holds the VIP: holders {:?}\n{}",
        c.holders(),
        c.log(0)
    );
    assert!(
        wait_until(SOON, || request(&client).is_some()),
        "no answer through the VIP"
    );
    let body = request(&client).unwrap();
    assert!(body == "web1" || body == "web2", "{body}");

    let requests = Client::start(client.clone());
    std::thread::sleep(Duration::from_millis(500));

    // Each step: what happens to lb1's HAProxy, and which node must then hold the VIP (the
    // other one's state: lb1 in fault while its HAProxy does not answer).
    let steps = [
        ("HAProxy on lb1 killed", 1, "fault"),
        ("HAProxy on lb1 started again", 0, "backup"),
        (
            "HAProxy on lb1 stopped (SIGSTOP: hung, the process still there)",
            1,
            "fault",
        ),
        ("HAProxy on lb1 continued (SIGCONT)", 0, "backup"),
    ];
    // (step, action at, VIP moved at, first answer after the move at, step end)
    let mut marks = Vec::new();
    for (n, (what, holder, lb1_or_lb2_state)) in steps.iter().enumerate() {
        let at = requests.now();
        match n {
            0 => {
                let mut lb1 = lbs[0].take().unwrap();
                lb1.signal(Signal::SIGKILL).unwrap();
                assert!(lb1.wait_timeout(SOON));
            }
            1 => lbs[0] = Some(start_lb(&c, 0)),
            2 => lbs[0].as_ref().unwrap().signal(Signal::SIGSTOP).unwrap(),
            _ => lbs[0].as_ref().unwrap().signal(Signal::SIGCONT).unwrap(),
        }
        let other = 1 - holder;
        assert!(
            wait_until(MOVE_BOUND, || c.holders() == vec![*holder]
                && c.state_of(*holder, "web") == "master"
                && c.state_of(other, "web") == *lb1_or_lb2_state),
            "{what}: holders {:?}, states {} / {}\n{}",
            c.holders(),
            c.state_of(0, "web"),
            c.state_of(1, "web"),
            c.log(0)
        );
        let moved = requests.now();
        assert!(
            wait_until(SOON, || request(&client).is_some()),
            "{what}: no answer through the VIP"
        );
        let answered = requests.now();
        std::thread::sleep(Duration::from_secs(1));
        marks.push((*what, at, moved, answered, requests.now()));
    }
    // lb1 in fault released the VIP with priority 0: lb2 did not wait for the master-down timer.
    assert!(
        c.log(1)
            .contains("to=claiming reason=master 198.51.100.1 released (priority 0)"),
        "{}",
        c.log(1)
    );
    let log = requests.finish();
    for (what, at, moved, answered, end) in marks {
        let (failed, run) = failures(&log, at, end);
        println!(
            "{what}: VIP moved after {:?}; {failed} requests failed (longest run {run} x 100 ms)",
            moved - at
        );
        // Once a request through the VIP succeeded after a move, none failed until the next.
        assert_eq!(
            failures(&log, answered, end).0,
            0,
            "{what}: requests failed after the VIP had moved and answered"
        );
    }
    assert!(log.iter().filter(|(_, r)| r.is_some()).count() > 10);
    drop(keep);
}
