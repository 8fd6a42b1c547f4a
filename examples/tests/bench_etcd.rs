//! Benchmark (ignored by default; `scripts/bench-etcd` runs it): how long two nodes hold the VIP
//! when the master is cut off from the other two for 5 s, for vipd gated on etcd, vipd without
//! etcd and keepalived 2.2.7, in the same run and the same lab (three nodes at 10 cs adverts,
//! priorities 200/150/100; for etcd, three members with the master's side keeping one).
//! Holders are read from the kernel (`ip addr`) in a tight loop on every node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lab_support::{Cluster, NodeConf, wait_until};
use vip_core::lab::Keepalived;
use vip_etcd::harness::EtcdCluster;

const VIP: &str = "198.51.100.100";
/// The etcd members listen on the addresses the cluster gives its extra namespaces.
const ETCD: [&str; 3] = ["198.51.100.50", "198.51.100.51", "198.51.100.52"];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    VipdEtcd,
    Vipd,
    Keepalived,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::VipdEtcd => "vipd + etcd",
            Kind::Vipd => "vipd",
            Kind::Keepalived => "keepalived",
        }
    }
}

fn holds(ns: &str) -> bool {
    let out = std::process::Command::new("ip")
        .args(["-n", ns, "-o", "addr", "show", "dev", "eth0"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!(" {VIP}/32 "))
}

fn nft(sw: &str, rule: &str) {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", sw, "nft", rule])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nft {rule}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One run: the time two or more nodes held the VIP during and after a 5 s cut of the master.
fn overlap(kind: Kind, run: usize) -> Duration {
    let tag = format!("vipex-bench-etcd-{run}-{kind:?}").to_lowercase();
    let mut c = Cluster::new(&tag, 3, 3).expect("root");
    // The cluster gave the nodes 198.51.100.1-3 and the extras 198.51.100.50-52 already.
    let names: Vec<String> = c.extras.iter().map(|x| x.name().to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let _etcd = match kind {
        Kind::VipdEtcd => EtcdCluster::start_in(&tag, &names, &ETCD).unwrap(),
        _ => None,
    };
    let mut keepaliveds = Vec::new();
    for (i, prio) in [200u8, 150, 100].into_iter().enumerate() {
        if kind == Kind::Keepalived {
            let conf = format!(
                "global_defs {{\n  router_id n{i}\n  vrrp_version 3\n  vrrp_garp_master_delay 0\n}}\n\
                 vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
                 priority {prio}\n  advert_int 0.1\n  mcast_src_ip 198.51.100.{}\n  virtual_ipaddress {{\n    {VIP}/32 dev eth0\n  }}\n}}\n",
                i + 1
            );
            keepaliveds.push(Keepalived::start(&c.nodes[i].ns, &format!("n{i}"), &conf).unwrap());
            continue;
        }
        let mut conf = NodeConf::new(prio);
        conf.fencer = false;
        conf.vips = format!("\"{VIP}/32\"");
        conf.instance_extra = format!("source = \"198.51.100.{}\"", i + 1);
        if kind == Kind::VipdEtcd {
            let endpoints = ETCD.map(|a| format!("\"http://{a}:2379\"")).join(", ");
            conf.tail = format!(
                "[instance.etcd]\nendpoints = [{endpoints}]\nmember = \"n{}\"\nttl = \"2s\"\n",
                i + 1
            );
        }
        c.configure(i, &conf);
        c.start(i);
    }
    let nss: Vec<String> = c.nodes.iter().map(|n| n.ns.name().to_string()).collect();
    assert!(
        wait_until(Duration::from_secs(30), || holds(&nss[0])
            && !holds(&nss[1])
            && !holds(&nss[2])),
        "{kind:?}: node 1 never became the only holder"
    );
    std::thread::sleep(Duration::from_secs(2));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        let nss = nss.clone();
        std::thread::spawn(move || {
            let mut both = Duration::ZERO;
            let mut last = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let n = nss.iter().filter(|ns| holds(ns)).count();
                let now = Instant::now();
                if n >= 2 {
                    both += now - last;
                }
                last = now;
            }
            both
        })
    };
    let sw = format!("{}-sw0", c.dir.file_name().unwrap().to_string_lossy());
    let (side, rest) = ("{ p0, p3 }", "{ p1, p2, p4, p5 }");
    nft(&sw, "add table bridge vipcut");
    nft(
        &sw,
        "add chain bridge vipcut cutfw { type filter hook forward priority 0 ; }",
    );
    nft(
        &sw,
        &format!("add rule bridge vipcut cutfw iifname {side} oifname {rest} drop"),
    );
    nft(
        &sw,
        &format!("add rule bridge vipcut cutfw iifname {rest} oifname {side} drop"),
    );
    std::thread::sleep(Duration::from_secs(5));
    nft(&sw, "delete table bridge vipcut");
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, Ordering::Relaxed);
    let both = sampler.join().unwrap();
    for mut k in keepaliveds {
        k.kill();
    }
    both
}

#[test]
#[ignore = "benchmark: run by scripts/bench-etcd"]
fn two_holders_in_a_5_s_partition_of_the_master() {
    if !vip_core::lab::is_root() {
        println!("skipping: needs root");
        return;
    }
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let kinds = [Kind::Keepalived, Kind::Vipd, Kind::VipdEtcd];
    let mut results: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
    for run in 0..reps {
        for (k, kind) in kinds.iter().enumerate() {
            let d = overlap(*kind, run);
            println!("run {run} {kind:?}: two holders for {d:?}");
            results[k].push(d);
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let keepalived = median(&mut results[0].clone());
    println!("\ntime two nodes hold the VIP, master cut off for 5 s ({reps} runs, median):");
    for (k, kind) in kinds.iter().enumerate() {
        let m = median(&mut results[k].clone());
        let ratio = if keepalived.is_zero() {
            "-".to_string()
        } else {
            format!("{:.2}", m.as_secs_f64() / keepalived.as_secs_f64())
        };
        println!(
            "  {:<12} {:>8.0} ms  x{ratio} of keepalived  runs {:?}",
            kind.label(),
            m.as_secs_f64() * 1000.0,
            results[k]
        );
    }
}
