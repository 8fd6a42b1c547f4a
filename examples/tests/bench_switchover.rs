//! The client outage of a planned move, vipd against keepalived's only way (stop it), measured in
//! the same run (`scripts/bench-switchover`; ignored in the ordinary test run).
//!
//! Two pairs on lab bridges, VRRPv3 at 10 cs, node1 priority 200 and node2 100, plus a client
//! namespace that pings the VIP every 2 ms (`ping -D`): the outage is the longest gap between two
//! replies around the action. vipd: `vipctl switchover` on the holder (hand over), `vipctl
//! switchover --to` on the target (take over), and SIGTERM of the holder; keepalived 2.2.7:
//! SIGTERM of the holder (priority 0). The repetitions alternate between the pairs.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

mod keepalived_common;
mod lab_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lab_support::{Cluster, NodeConf, SOON, VIP, VIPCTL, wait_until};
use nix::sys::signal::Signal;
use vip_core::lab::{Keepalived, Ns};

/// The longest gap between two ping replies in `log` (`ping -D` lines), in ms.
fn longest_gap(log: &str) -> f64 {
    let times: Vec<f64> = log
        .lines()
        .filter(|l| l.contains("bytes from"))
        .filter_map(|l| l.strip_prefix('[')?.split(']').next()?.parse().ok())
        .collect();
    times
        .windows(2)
        .map(|w| (w[1] - w[0]) * 1000.0)
        .fold(0.0, f64::max)
}

/// Pings the VIP from `client` every 2 ms around `action` and returns the longest gap (ms).
fn outage(client: &Ns, dir: &Path, tag: &str, action: impl FnOnce()) -> f64 {
    let log = dir.join(format!("ping-{tag}.log"));
    let mut ping = client
        .spawn(
            &["ping", "-D", "-n", "-i", "0.002", "-W", "1", VIP],
            Some(&log),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    action();
    std::thread::sleep(Duration::from_millis(1500));
    ping.stop(Duration::from_secs(2));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.matches("bytes from").count() > 100,
        "ping got few replies:\n{text}"
    );
    longest_gap(&text)
}

fn vipctl(c: &Cluster, i: usize, args: &[&str]) {
    let out = Command::new(VIPCTL)
        .arg("--socket")
        .arg(&c.nodes[i].sock)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

fn holds_only(c: &Cluster, i: usize) -> bool {
    c.holds(i) && (0..c.nodes.len()).all(|j| j == i || !c.holds(j))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: scripts/bench-switchover"]
fn client_outage_of_a_planned_move() {
    if !Keepalived::available() {
        println!("skipping: keepalived is not installed");
        return;
    }
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let Some(mut v) = Cluster::new("vipbench-sw-v", 2, 1) else {
        return;
    };
    let Some(mut k) = Cluster::new("vipbench-sw-k", 2, 1) else {
        return;
    };
    // keepalived preempts back without an in-use probe: its pair is not held to the
    // no-overlap rule here (the outage is what is measured).
    k.end_watch();
    v.configure(0, &NodeConf::new(200));
    v.configure(1, &NodeConf::new(100));
    v.start(0);
    v.wait_master(0);
    v.start(1);
    assert!(wait_until(SOON, || v.state(1) == "backup"));
    let mode = keepalived_common::Mode::V3;
    let mut ka1 = Keepalived::start(&k.nodes[0].ns, "k1", &mode.keepalived_conf(200)).unwrap();
    assert!(wait_until(SOON, || holds_only(&k, 0)));
    let _ka2 = Keepalived::start(&k.nodes[1].ns, "k2", &mode.keepalived_conf(100)).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert!(holds_only(&k, 0));

    let (vc, kc) = (v.extras[0].clone(), k.extras[0].clone());
    let (vdir, kdir) = (v.dir.clone(), k.dir.clone());
    let (mut hand, mut take, mut vstop, mut kstop) = (vec![], vec![], vec![], vec![]);
    println!();
    for r in 0..reps {
        let t = outage(&kc, &kdir, &format!("kstop{r}"), || {
            ka1.stop(Duration::from_secs(5)).unwrap();
        });
        kstop.push(t);
        assert!(holds_only(&k, 1));
        ka1 = Keepalived::start(&k.nodes[0].ns, "k1", &mode.keepalived_conf(200)).unwrap();
        assert!(wait_until(SOON, || holds_only(&k, 0)));

        hand.push(outage(&vc, &vdir, &format!("hand{r}"), || {
            vipctl(&v, 0, &["switchover"]);
        }));
        assert!(holds_only(&v, 1));
        take.push(outage(&vc, &vdir, &format!("take{r}"), || {
            vipctl(&v, 0, &["switchover", "--to", "198.51.100.1"]);
        }));
        assert!(holds_only(&v, 0));
        let t = outage(&vc, &vdir, &format!("vstop{r}"), || {
            v.signal(0, Signal::SIGTERM);
        });
        vstop.push(t);
        assert!(holds_only(&v, 1));
        v.start(0);
        v.wait_master(0);
        println!(
            "run {r}: keepalived stop {:.1} ms, vipd hand over {:.1} ms, vipd take over {:.1} ms, vipd stop {:.1} ms",
            kstop[r], hand[r], take[r], vstop[r]
        );
    }
    let k_med = median(&mut kstop);
    println!("client outage, v3 at 10 cs, median of {reps} (ms); ratio to stopping keepalived:");
    for (name, values) in [
        ("keepalived: stop the holder (SIGTERM)", &mut kstop.clone()),
        ("vipd: vipctl switchover (hand over)", &mut hand),
        ("vipd: vipctl switchover --to (take over)", &mut take),
        ("vipd: stop the holder (SIGTERM)", &mut vstop),
    ] {
        let m = median(values);
        let max = values.iter().copied().fold(0.0, f64::max);
        println!(
            "  {name:<42} median {m:7.1}  max {max:7.1}  ratio {:.2}",
            m / k_med
        );
    }
    let _ = ka1.stop(Duration::from_secs(3));
}
