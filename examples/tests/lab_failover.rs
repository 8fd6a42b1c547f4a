//! Two vipd in network namespaces (VRRPv3, 10 cs adverts): election by priority, failover on a
//! graceful stop, on link down and on SIGKILL of the master (fenced before the takeover), and
//! preempting back. The lab's overlap checker reads both nodes' kernel address events across
//! each whole test (the cluster's own record, from before the first start) and across each
//! failover: never two holders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;

use lab_support::{Cluster, NodeConf, SOON, metric, transition, wait_until};
use nix::sys::signal::Signal;

fn pair(tag: &str) -> Option<Cluster> {
    let mut c = Cluster::new(tag, 2, 0)?;
    c.configure(0, &NodeConf::new(200));
    c.configure(1, &NodeConf::new(100));
    c.start(0);
    c.start(1);
    Some(c)
}

#[test]
fn priority_elects_the_master_graceful_stop_fails_over_and_restart_preempts_back() {
    let Some(mut c) = pair("vipex-lab-graceful") else {
        return;
    };
    c.wait_master(0);
    assert!(
        wait_until(SOON, || c.state(1) == "backup"),
        "node2: {}",
        c.state(1)
    );
    let master = c.status(1).unwrap().instances[0].master.clone();
    assert_eq!(
        master.as_deref(),
        Some("198.51.100.1"),
        "node2 knows the master"
    );
    // `vipctl status` reads the runtime's Status: who holds the VIPs, the phase, the uptime.
    let (m, b) = (c.status(0).unwrap(), c.status(1).unwrap());
    let (m, b) = (&m.instances[0], &b.instances[0]);
    assert!(m.holds_vips && !b.holds_vips, "{m:?}\n{b:?}");
    assert_eq!((m.phase.as_str(), b.phase.as_str()), ("running", "running"));
    assert!(m.uptime_secs.is_some() && m.started_unix_ms.is_some() && m.last_error.is_none());
    let table = c.status_table(0);
    assert!(
        table.contains("HOLDS") && table.contains(" yes "),
        "{table}"
    );

    // Graceful stop: node1 removes the VIP, then sends priority 0; node2 takes over.
    let sampler = c.sampler();
    c.signal(0, Signal::SIGTERM);
    c.wait_master(1);
    assert!(!c.holds(0));
    let log = c.log(1);
    assert!(
        log.contains(&transition(
            "backup",
            "claiming",
            "master 198.51.100.1 released (priority 0)"
        )),
        "node2 reacted to the priority-0 advert:\n{log}"
    );
    assert!(c.log(0).contains("vipd stopped"));

    // Restart: node1 preempts node2 (200 > 100).
    c.start(0);
    c.wait_master(0);
    assert!(wait_until(SOON, || c.state(1) == "backup"));
    sampler.assert_never_two_holders();
    assert!(
        c.log(1).contains(&transition(
            "master",
            "backup",
            "higher priority 200 from 198.51.100.1"
        )),
        "{}",
        c.log(1)
    );
}

#[test]
fn link_down_puts_the_master_in_fault_and_the_backup_takes_over() {
    let Some(c) = pair("vipex-lab-linkdown") else {
        return;
    };
    c.wait_master(0);
    let sampler = c.sampler();
    c.link(0, false);
    c.wait_master(1);
    assert!(
        wait_until(SOON, || c.state(0) == "fault"),
        "node1: {}",
        c.state(0)
    );
    assert!(!c.holds(0), "a node in fault holds no VIP");
    // Link back: node1 leaves fault and preempts back.
    c.link(0, true);
    c.wait_master(0);
    sampler.assert_never_two_holders();
    let log = c.log(0);
    assert!(
        log.contains(&transition("master", "fault", "interface down")),
        "{log}"
    );
}

#[test]
fn sigkill_of_the_master_leaves_the_vip_which_is_fenced_before_the_takeover() {
    let Some(mut c) = pair("vipex-lab-sigkill") else {
        return;
    };
    c.wait_master(0);
    assert!(wait_until(SOON, || c.state(1) == "backup"));
    let sampler = c.sampler();
    c.signal(0, Signal::SIGKILL);
    // The dead daemon leaves the VIP on node1's interface...
    assert!(c.holds(0), "SIGKILL leaves the VIP in place");
    // ...until node2's claiming step finds it in use, fences node1, and only then adds it.
    c.wait_master(1);
    assert!(!c.holds(0));
    let samples = sampler.assert_never_two_holders();
    assert!(
        samples.iter().any(|(_, h)| h[0]) && samples.iter().any(|(_, h)| h[1]),
        "the sampler saw both the old and the new holder"
    );
    let log = c.log(1);
    let probe = log
        .find("in-use probe: the VIP answers elsewhere")
        .expect("in-use probe found the VIP");
    let fenced = log.find("fenced instance=vip").expect("fence ran");
    let master = log
        .find(&transition("claiming", "master", "holder fenced, VIP free"))
        .expect("took over after fencing");
    assert!(probe < fenced && fenced < master, "{log}");
    let m = c.metrics(1);
    assert_eq!(
        metric(
            &m,
            "vip_fence_total{vrrp_instance=\"vip\",outcome=\"fenced\"}"
        ),
        1.0,
        "{m}"
    );
}

#[test]
fn on_stop_keep_leaves_the_vip_and_the_backup_fences_it_before_taking_over() {
    let Some(mut c) = Cluster::new("vipex-lab-keep", 2, 0) else {
        return;
    };
    let mut keep = NodeConf::new(200);
    keep.instance_extra = "on_stop = \"keep\"".into();
    c.configure(0, &keep);
    c.configure(1, &NodeConf::new(100));
    c.start(0);
    c.start(1);
    c.wait_master(0);
    assert!(wait_until(SOON, || c.state(1) == "backup"));
    let sampler = c.sampler();
    c.signal(0, Signal::SIGTERM);
    // A graceful stop with `keep` sends no priority 0 and leaves the VIP in place...
    assert!(c.holds(0), "on_stop = keep leaves the VIP");
    assert!(c.log(0).contains("on_stop=Keep"), "{}", c.log(0));
    // ...so the backup takes over at Master_Down_Interval, fencing the VIP first.
    c.wait_master(1);
    sampler.assert_never_two_holders();
    let log = c.log(1);
    assert!(
        log.contains(&transition(
            "backup",
            "claiming",
            "master down timer expired"
        )) && log.contains(&transition("claiming", "master", "holder fenced, VIP free")),
        "{log}"
    );
}

/// `vip_lifetime` (VRRP only, no fencer): the master's VIP carries a kernel valid lifetime
/// that its adverts refresh. SIGSTOP the master: its adverts and refreshes stop, the kernel
/// drops the VIP when the lifetime runs out, and the backup (whose in-use probe found the VIP
/// still answering until then) takes over; resumed, the master preempts back. Never two
/// holders. Without the option (and without a fencer) the stopped master would block the
/// takeover for as long as it is stopped.
#[test]
fn vip_lifetime_drops_a_stopped_masters_vip_and_the_backup_takes_over() {
    let Some(mut c) = Cluster::new("vipex-lab-lifetime", 2, 0) else {
        return;
    };
    for (i, prio) in [200u8, 100].into_iter().enumerate() {
        let mut conf = NodeConf::new(prio);
        conf.fencer = false;
        conf.instance_extra = "vip_lifetime = \"2s\"".into();
        c.configure(i, &conf);
        c.start(i);
    }
    c.wait_master(0);
    assert!(wait_until(SOON, || c.state(1) == "backup"));
    let shown = c.nodes[0]
        .ns
        .run(&["ip", "-o", "addr", "show", "dev", "eth0"])
        .unwrap();
    let line = shown
        .lines()
        .find(|l| l.contains(" 198.51.100.100/"))
        .expect("the master holds the VIP");
    assert!(
        !line.contains("valid_lft forever"),
        "the VIP has a lifetime: {line}"
    );
    let sampler = c.sampler();
    let stopped = std::time::Instant::now();
    c.signal(0, Signal::SIGSTOP);
    assert!(
        wait_until(SOON, || !c.holds(0)),
        "the kernel dropped the stopped master's VIP"
    );
    let gone = stopped.elapsed();
    assert!(wait_until(SOON, || c.holds(1)), "the backup took over");
    println!(
        "vip_lifetime 2 s: the stopped master's VIP gone after {gone:?}, backup holds after {:?}",
        stopped.elapsed()
    );
    c.signal(0, Signal::SIGCONT);
    // Resumed: it preempts back (through the in-use probe, never alongside).
    c.wait_master(0);
    assert!(wait_until(SOON, || c.holds(0) && !c.holds(1)));
    sampler.assert_never_two_holders();
}
