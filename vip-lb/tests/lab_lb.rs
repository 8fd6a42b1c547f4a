//! vip-lb against the kernel: nf_tables rules in a balancer namespace, real TCP connections
//! from a client namespace to backends that answer with their name.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::*;
use vip_lb::{Balancer, CheckOutcome, RealServerCheck, Scheduler, TcpConnectCheck};

/// Generous bound for anything that waits on checks (the machine is shared and loaded).
const LIMIT: Duration = Duration::from_secs(20);

fn healthy_all(n: usize) -> impl Fn(&vip_lb::ServiceStatus) -> bool {
    move |s| s.backends.iter().filter(|b| b.healthy).count() == n
}

/// A balancer over `t`'s backends with a TCP_CHECK on each, active.
fn start_tcp_checked(t: &Topo, scheduler: Scheduler, weights: &[u32]) -> LbNode {
    let svc = service(t, scheduler, weights);
    let addrs = t.addrs.clone();
    let node = LbNode::start(&t.lb, move || {
        let mut b = Balancer::new(vec![svc]).unwrap();
        for a in addrs {
            b = b
                .check(
                    "web",
                    a,
                    Box::new(TcpConnectCheck::new(a, Duration::from_secs(2))),
                )
                .unwrap();
        }
        b
    });
    node.wait_status(LIMIT, "all backends healthy", healthy_all(t.addrs.len()));
    node.set_active("web", true);
    node
}

/// A balancer over `t`'s backends with a MISC_CHECK on each (failing while its flag file
/// exists), all healthy, active.
fn start_flag_checked(t: &Topo, svc: vip_lb::VirtualService) -> LbNode {
    let n = t.addrs.len();
    let checks: Vec<_> = (0..n).map(|i| (t.addrs[i], flag_check(t, i))).collect();
    let node = LbNode::start(&t.lb, move || {
        let mut b = Balancer::new(vec![svc]).unwrap();
        for (addr, check) in checks {
            b = b.check("web", addr, check).unwrap();
        }
        b
    });
    node.wait_status(LIMIT, "all healthy", healthy_all(n));
    node.set_active("web", true);
    node
}

#[test]
fn lab_lb_rr_spreads_evenly() {
    let Some(t) = topo("lbrr", 3) else { return };
    let node = start_tcp_checked(&t, Scheduler::Rr, &[5, 1, 1]);
    let names = connect(&t.client, 30, None);
    let n = tally(&names);
    // numgen inc: one turn each, weights ignored.
    for b in ["b0", "b1", "b2"] {
        assert_eq!(n.get(b), Some(&10), "{n:?}");
    }
    node.stop();
}

#[test]
fn lab_lb_wrr_spreads_by_weight() {
    let Some(t) = topo("lbwrr", 2) else { return };
    let node = start_tcp_checked(&t, Scheduler::Wrr, &[3, 1]);
    let names = connect(&t.client, 40, None);
    let n = tally(&names);
    assert_eq!(n.get("b0"), Some(&30), "{n:?}");
    assert_eq!(n.get("b1"), Some(&10), "{n:?}");
    node.stop();
}

#[test]
fn lab_lb_sh_is_sticky_per_source_and_dh_picks_one() {
    let Some(t) = topo("lbsh", 3) else { return };
    let sources: Vec<IpAddr> = (20..32)
        .map(|i| format!("198.51.100.{i}").parse().unwrap())
        .collect();
    for s in &sources {
        t.client
            .run(&["ip", "addr", "add", &format!("{s}/24"), "dev", "eth0"])
            .unwrap();
    }
    let node = start_tcp_checked(&t, Scheduler::Sh, &[1, 1, 1]);
    let mut used = std::collections::HashSet::new();
    for &s in &sources {
        let names = connect(&t.client, 4, Some(s));
        let n = tally(&names);
        assert_eq!(n.len(), 1, "source {s} went to several backends: {n:?}");
        let name = names[0].clone();
        assert!(name.starts_with('b'), "{names:?}");
        used.insert(name);
    }
    assert!(
        used.len() > 1,
        "12 sources all hashed to one backend: {used:?}"
    );
    node.stop();

    // dh: every connection has the same destination (the VIP), so one backend takes all.
    let node = start_tcp_checked(&t, Scheduler::Dh, &[1, 1, 1]);
    let mut all = Vec::new();
    for &s in sources.iter().take(4) {
        all.extend(connect(&t.client, 3, Some(s)));
    }
    let n = tally(&all);
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(all[0].starts_with('b'));
    node.stop();
}

#[test]
fn lab_lb_failing_backend_leaves_within_retry_and_comes_back() {
    let Some(t) = topo("lbfail", 2) else { return };
    let svc = service(&t, Scheduler::Rr, &[1, 1]);
    let policy = svc.policy;
    let node = start_flag_checked(&t, svc);
    let n = tally(&connect(&t.client, 10, None));
    assert_eq!((n.get("b0"), n.get("b1")), (Some(&5), Some(&5)), "{n:?}");

    // b0's check starts failing: it leaves after retry + 1 failures.
    std::fs::write(down_flag(&t, 0), b"").unwrap();
    let failed_at = Instant::now();
    node.wait_status(LIMIT, "b0 out", |s| !s.backends[0].healthy);
    let took = failed_at.elapsed();
    // Its connections stop at once: the rules are written before status shows it (one writer,
    // the status read after the write has been asked for), so allow one write to land.
    assert!(vip_core::lab::wait_until(LIMIT, || {
        !tally(&connect(&t.client, 4, None)).contains_key("b0")
    }));
    let n = tally(&connect(&t.client, 20, None));
    assert_eq!(n.get("b1"), Some(&20), "{n:?}");
    let st = &node.status()[0];
    assert_eq!(st.backends[0].weight, 0);
    assert!(
        st.backends[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("exit status 1")
    );
    let bound = policy.delay_loop + (policy.delay_before_retry + policy.timeout) * policy.retry;
    println!(
        "b0 left {took:?} after its check began failing (delay_loop {:?}, retry {}, delay_before_retry {:?}; bound with check time {bound:?})",
        policy.delay_loop, policy.retry, policy.delay_before_retry
    );

    // It comes back at its first passing check.
    std::fs::remove_file(down_flag(&t, 0)).unwrap();
    node.wait_status(LIMIT, "b0 back", healthy_all(2));
    assert!(vip_core::lab::wait_until(LIMIT, || {
        tally(&connect(&t.client, 4, None)).contains_key("b0")
    }));
    node.stop();
}

#[test]
fn lab_lb_sorry_server_when_none_is_healthy() {
    let Some(t) = topo("lbsorry", 2) else { return };
    let mut svc = service(&t, Scheduler::Wrr, &[1, 1]);
    svc.sorry_server = Some(SORRY.parse().unwrap());
    let node = start_flag_checked(&t, svc);
    assert!(!node.status()[0].sorry_active);
    std::fs::write(down_flag(&t, 0), b"").unwrap();
    std::fs::write(down_flag(&t, 1), b"").unwrap();
    node.wait_status(LIMIT, "sorry server on", |s| s.sorry_active && !s.quorum_up);
    assert!(vip_core::lab::wait_until(LIMIT, || {
        tally(&connect(&t.client, 3, None)).get("sorry") == Some(&3)
    }));
    std::fs::remove_file(down_flag(&t, 1)).unwrap();
    node.wait_status(LIMIT, "sorry server off", |s| {
        !s.sorry_active && s.quorum_up
    });
    assert!(vip_core::lab::wait_until(LIMIT, || {
        tally(&connect(&t.client, 3, None)).get("b1") == Some(&3)
    }));
    node.stop();
}

#[test]
fn lab_lb_no_target_and_no_sorry_is_refused() {
    let Some(t) = topo("lbdrop", 1) else { return };
    let svc = service(&t, Scheduler::Rr, &[1]);
    let a0 = t.addrs[0];
    let c0 = flag_check(&t, 0);
    std::fs::write(down_flag(&t, 0), b"").unwrap();
    let node = LbNode::start(&t.lb, move || {
        Balancer::new(vec![svc])
            .unwrap()
            .check("web", a0, c0)
            .unwrap()
    });
    node.set_active("web", true);
    node.wait_status(LIMIT, "b0 checked and down", |s| {
        s.backends[0].last_error.is_some()
    });
    // No target, no sorry server: no rule; the balancer itself refuses (as IPVS answers
    // port unreachable without a destination).
    assert_eq!(connect(&t.client, 1, None), vec!["refused".to_string()]);
    let chain =
        t.lb.run(&["nft", "list", "chain", "inet", "vip_lb", "web"])
            .unwrap();
    assert!(!chain.contains("vmap"), "{chain}");
    node.stop();
}

#[test]
fn lab_lb_follows_set_active_and_stop_removes_the_table() {
    let Some(t) = topo("lbactive", 2) else { return };
    let node = start_tcp_checked(&t, Scheduler::Rr, &[1, 1]);
    assert!(tables(&t.lb).contains("inet vip_lb"));
    node.set_active("web", false);
    // No rules: the connection reaches the balancer itself, where nothing listens.
    assert_eq!(connect(&t.client, 2, None), vec!["refused", "refused"]);
    assert!(!tables(&t.lb).contains("vip_lb"), "{}", tables(&t.lb));
    assert!(!node.status()[0].active);
    node.set_active("web", true);
    let n = tally(&connect(&t.client, 4, None));
    assert_eq!((n.get("b0"), n.get("b1")), (Some(&2), Some(&2)), "{n:?}");
    node.stop();
    assert!(!tables(&t.lb).contains("vip_lb"), "{}", tables(&t.lb));
    assert_eq!(connect(&t.client, 1, None), vec!["refused"]);
}

#[test]
fn lab_lb_reconciles_a_stale_table_of_a_crashed_run() {
    let Some(t) = topo("lbstale", 2) else { return };
    // A "crashed" run left its table: everything to b1, and a chain of its own.
    let stale = format!(
        "table inet vip_lb {{\n chain leftover {{ }}\n chain prerouting {{\n  type nat hook prerouting priority dstnat;\n  ip daddr {VIP} tcp dport {PORT} dnat ip to {}\n }}\n}}\n",
        t.addrs[1]
    );
    let file = t.dir.join("stale.nft");
    std::fs::write(&file, stale).unwrap();
    t.lb.run(&["nft", "-f", &file.display().to_string()])
        .unwrap();
    assert_eq!(tally(&connect(&t.client, 2, None)).get("b1"), Some(&2));
    let svc = service(&t, Scheduler::Rr, &[1, 1]);
    // Starting removes it at once (the service is not active yet).
    let node = LbNode::start(&t.lb, move || Balancer::new(vec![svc]).unwrap());
    assert!(!tables(&t.lb).contains("vip_lb"), "{}", tables(&t.lb));
    node.set_active("web", true);
    let listing =
        t.lb.run(&["nft", "list", "table", "inet", "vip_lb"])
            .unwrap();
    assert!(!listing.contains("leftover"), "{listing}");
    let n = tally(&connect(&t.client, 4, None));
    assert_eq!((n.get("b0"), n.get("b1")), (Some(&2), Some(&2)), "{n:?}");
    node.stop();
}

#[test]
fn lab_lb_status_counts_connections_from_conntrack() {
    let Some(t) = topo("lbcount", 2) else { return };
    let node = start_tcp_checked(&t, Scheduler::Rr, &[1, 1]);
    let (names, held) = connect_held(&t.client, 4, None);
    assert_eq!(tally(&names).len(), 2, "{names:?}");
    let st = &node.status()[0];
    let active: Vec<u64> = st.backends.iter().map(|b| b.active_connections).collect();
    assert_eq!(active, vec![2, 2], "{st:#?}");
    drop(held);
    // Closed connections leave ESTABLISHED (FIN_WAIT, TIME_WAIT...): InActConn.
    node.wait_status(LIMIT, "closed connections counted inactive", |s| {
        s.backends
            .iter()
            .all(|b| b.active_connections == 0 && b.inactive_connections == 2)
    });
    node.stop();
}

#[test]
fn lab_lb_tcp_check_follows_the_listener() {
    let Some(t) = topo("lbtcp", 1) else { return };
    let up = t.addrs[0];
    let closed: std::net::SocketAddr = "203.0.113.2:81".parse().unwrap();
    let (a, b) =
        t.lb.block_on(move || async move {
            let a = TcpConnectCheck::new(up, Duration::from_secs(2))
                .check()
                .await;
            let b = TcpConnectCheck::new(closed, Duration::from_secs(2))
                .check()
                .await;
            (a, b)
        })
        .unwrap();
    assert_eq!(a, CheckOutcome::Up { weight: None });
    match b {
        CheckOutcome::Down(why) => assert!(why.contains("203.0.113.2:81"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn lab_lb_udp_service_spreads_flows() {
    let Some(t) = topo("lbudp", 2) else { return };
    for (i, b) in t.backends.iter().enumerate() {
        serve_udp(
            b,
            format!("203.0.113.{}:5353", i + 2).parse().unwrap(),
            &format!("u{i}"),
        );
    }
    let mut svc = service(&t, Scheduler::Rr, &[1, 1]);
    svc.name = "dns".into();
    svc.port = 5353;
    svc.protocol = vip_lb::Protocol::Udp;
    for rs in &mut svc.real_servers {
        rs.addr.set_port(5353);
    }
    let node = LbNode::start(&t.lb, move || Balancer::new(vec![svc]).unwrap());
    node.set_active("dns", true);
    let names = ask_udp(&t.client, format!("{VIP}:5353").parse().unwrap(), 10);
    let n = tally(&names);
    assert_eq!((n.get("u0"), n.get("u1")), (Some(&5), Some(&5)), "{n:?}");
    // UDP flows are never ESTABLISHED: conntrack counts them inactive.
    let st = &node.status()[0];
    assert!(
        st.backends
            .iter()
            .all(|b| b.active_connections == 0 && b.inactive_connections == 5),
        "{st:#?}"
    );
    node.stop();
}

#[test]
fn lab_lb_ipv6_service() {
    let Some(t) = topo("lbv6", 2) else { return };
    t.client
        .run(&["ip", "addr", "add", "2001:db8:1::2/64", "dev", "eth0"])
        .unwrap();
    t.lb.run(&["ip", "addr", "add", "2001:db8:1::1/64", "dev", "eth0"])
        .unwrap();
    t.lb.run(&["ip", "addr", "add", "2001:db8:1::10/128", "dev", "eth0"])
        .unwrap();
    t.lb.run(&["ip", "addr", "add", "2001:db8:2::1/64", "dev", "eth1"])
        .unwrap();
    t.lb.run(&["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
        .unwrap();
    let mut addrs = Vec::new();
    for (i, b) in t.backends.iter().enumerate() {
        let a = format!("2001:db8:2::{}", i + 2);
        b.run(&["ip", "addr", "add", &format!("{a}/64"), "dev", "eth1"])
            .unwrap();
        b.run(&[
            "ip",
            "-6",
            "route",
            "add",
            "default",
            "via",
            "2001:db8:2::1",
        ])
        .unwrap();
        let addr: std::net::SocketAddr = format!("[{a}]:80").parse().unwrap();
        serve(b, addr, &format!("v{i}"));
        addrs.push(addr);
    }
    let mut svc = service(&t, Scheduler::Wrr, &[1, 1]);
    svc.vip = "2001:db8:1::10".parse().unwrap();
    svc.real_servers = vec![
        vip_lb::RealServer {
            addr: addrs[0],
            weight: 2,
        },
        vip_lb::RealServer {
            addr: addrs[1],
            weight: 1,
        },
    ];
    let node = LbNode::start(&t.lb, move || Balancer::new(vec![svc]).unwrap());
    node.set_active("web", true);
    let n = tally(&connect_to(
        &t.client,
        "[2001:db8:1::10]:80".parse().unwrap(),
        9,
    ));
    assert_eq!((n.get("v0"), n.get("v1")), (Some(&6), Some(&3)), "{n:?}");
    node.stop();
}

#[test]
fn lab_lb_table_removed_by_someone_else_comes_back_at_the_next_change() {
    let Some(t) = topo("lbtamper", 2) else { return };
    let svc = service(&t, Scheduler::Rr, &[1, 1]);
    let node = start_flag_checked(&t, svc);
    t.lb.run(&["nft", "delete", "table", "inet", "vip_lb"])
        .unwrap();
    assert_eq!(connect(&t.client, 1, None), vec!["refused"]);
    // The next health change cannot be written as a change (its chains are gone); the writer
    // tries again a second later with the whole table.
    std::fs::write(down_flag(&t, 0), b"").unwrap();
    assert!(vip_core::lab::wait_until(LIMIT, || {
        tally(&connect(&t.client, 2, None)).get("b1") == Some(&2)
    }));
    node.stop();
}
