//! A graceful stop of a node with many instances: two vipd nodes with 200 VRRPv3 instances
//! each (VRIDs 1-200, one VIP each in 203.0.113.0/24, adverts every 10 cs as in
//! `scripts/bench-scale`, so each address operation is bounded by 200 ms) settle with every VIP
//! on node1; SIGTERM to node1 (`on_stop = "release"`) must leave none of them on node1, and
//! node2 must then hold all 200. A daemon that exits leaving a VIP behind leaves it on a node
//! that nobody will ever move it from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use vip_core::lab::{Lab, LabProcess, Ns, wait_until};

const VIPD: &str = env!("CARGO_BIN_EXE_vipd");
const INSTANCES: u8 = 200;
/// Generous: 200 instances claim at once on a loaded 2-core machine.
const SETTLE: Duration = Duration::from_secs(60);
/// Generous: how long node1 may take to exit after SIGTERM.
const EXIT: Duration = Duration::from_secs(30);

/// vipd's config: `INSTANCES` instances at `priority`.
fn config(sock: &Path, priority: u8) -> String {
    let mut text = format!(
        "[global]\ncontrol_socket = \"{}\"\nlog_level = \"warn\"\n",
        sock.display()
    );
    for vrid in 1..=INSTANCES {
        write!(
            text,
            "\n[[instance]]\nname = \"vi{vrid}\"\ninterface = \"eth0\"\nvrid = {vrid}\n\
             version = 3\npriority = {priority}\nadvert_interval = \"10cs\"\n\
             vips = [\"203.0.113.{vrid}/32\"]\non_stop = \"release\"\n"
        )
        .unwrap();
    }
    text
}

/// How many lab VIPs `ns` holds on eth0.
fn held(ns: &Ns) -> usize {
    ns.run(&["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" 203.0.113."))
        .count()
}

#[test]
fn sigterm_of_a_two_hundred_instance_node_removes_every_vip() {
    let Some(mut lab) = Lab::new_or_skip("vipex-lab-scstop").unwrap() else {
        return;
    };
    let dir = std::env::temp_dir().join(lab.prefix());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let nodes = [lab.namespace("n1").unwrap(), lab.namespace("n2").unwrap()];
    lab.segment(&[&nodes[0], &nodes[1]]).unwrap();
    let mut vipds: Vec<LabProcess> = Vec::new();
    for (i, (ns, priority)) in nodes.iter().zip([200u8, 100]).enumerate() {
        let addr = format!("198.51.100.{}/24", i + 1);
        ns.run(&["ip", "addr", "add", &addr, "dev", "eth0"])
            .unwrap();
        let conf = dir.join(format!("n{}.toml", i + 1));
        std::fs::write(
            &conf,
            config(&dir.join(format!("n{}.sock", i + 1)), priority),
        )
        .unwrap();
        let log = dir.join(format!("n{}.log", i + 1));
        let conf = conf.display().to_string();
        vipds.push(
            ns.spawn(
                &["env", "NO_COLOR=1", "RUST_LOG=", VIPD, "--config", &conf],
                Some(&log),
            )
            .unwrap(),
        );
    }
    let logs = || {
        (1..=2)
            .map(|i| std::fs::read_to_string(dir.join(format!("n{i}.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n====\n")
    };

    let start = Instant::now();
    let settled = wait_until(SETTLE, || {
        held(&nodes[0]) == usize::from(INSTANCES) && held(&nodes[1]) == 0
    });
    assert!(
        settled,
        "after {:?}: node1 holds {} VIPs, node2 {}\n{}",
        start.elapsed(),
        held(&nodes[0]),
        held(&nodes[1]),
        logs()
    );
    // Let the takeover's announcements and the backups' first adverts settle.
    std::thread::sleep(Duration::from_secs(2));

    let mut node1 = vipds.remove(0);
    let stop = Instant::now();
    node1.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
    let exited = node1.wait_timeout(EXIT);
    let took = stop.elapsed();
    let left = held(&nodes[0]);
    assert!(
        exited,
        "node1 still running {EXIT:?} after SIGTERM\n{}",
        logs()
    );
    assert_eq!(
        left,
        0,
        "node1 exited after {took:?} leaving {left} of {INSTANCES} VIPs\n{}",
        logs()
    );
    // Had a removal failed twice (in the release and once more after the stop), the node
    // would have said so.
    assert!(!logs().contains("remove them by hand"), "{}", logs());
    eprintln!("node1 exited {took:?} after SIGTERM with no VIP left");
    let moved = wait_until(SETTLE, || held(&nodes[1]) == usize::from(INSTANCES));
    assert!(
        moved,
        "node2 holds {} of {INSTANCES} VIPs {:?} after node1's stop\n{}",
        held(&nodes[1]),
        stop.elapsed(),
        logs()
    );
    eprintln!(
        "node2 holds all {INSTANCES} VIPs {:?} after SIGTERM",
        stop.elapsed()
    );
    for mut vipd in vipds {
        vipd.stop(Duration::from_secs(5));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
