//! Latency figures of vip-netlink against the scripts' way, measured in the same run, in a lab
//! namespace (needs root; `cargo bench -p vip-netlink --bench addressing`).
//!
//! - add+announce: `NetlinkAddressManager::add` + `announce` (one gratuitous ARP round) versus
//!   `ip addr add VIP/32 dev eth0` + `arping -U -c 1 -I eth0 VIP` as subprocesses (literal, and
//!   with `-w 0` so that arping does not wait for an answer).
//! - remove: `NetlinkAddressManager::remove` versus `ip addr del VIP/32 dev eth0`.
//! - in-use probe: median on a free address (bounded by the timeout) and on a held one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vip_core::lab::Lab;
use vip_core::{AddressManager, Vip};
use vip_netlink::{AnnounceConfig, ManagerConfig, NetlinkAddressManager};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn sh(argv: &[&str]) {
    let st = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    // arping exits 1 when nobody answers, which is the normal case for an announcement.
    assert!(st.success() || argv[0] == "arping", "{argv:?}: {st}");
}

fn us(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

struct Figures {
    lib_add: Duration,
    lib_remove: Duration,
    script_add_literal: Duration,
    script_add_w0: Duration,
    script_remove: Duration,
    script_ip_add_only: Duration,
    lib_add_v6: Duration,
    lib_remove_v6: Duration,
    script_add_v6: Duration,
    script_remove_v6: Duration,
    probe_free: Duration,
    probe_held: Duration,
    probe_free_v6: Duration,
    probe_held_v6: Duration,
    probe_timeout: Duration,
}

/// Median latency of `add+announce` and of `remove` of `vip` through the library.
async fn lib_rounds(m: &NetlinkAddressManager, vip: &[Vip], n: usize) -> (Duration, Duration) {
    m.add(vip).await.unwrap();
    m.announce(vip).await.unwrap();
    m.remove(vip).await.unwrap();
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let t = Instant::now();
        m.add(vip).await.unwrap();
        m.announce(vip).await.unwrap();
        add.push(t.elapsed());
        let t = Instant::now();
        m.remove(vip).await.unwrap();
        remove.push(t.elapsed());
    }
    (median(add), median(remove))
}

/// Median latency of an in-use probe.
async fn probe_median(
    m: &NetlinkAddressManager,
    vip: &[Vip],
    timeout: Duration,
    free: bool,
) -> Duration {
    let mut v = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let r = m.probe_in_use(vip, timeout).await.unwrap();
        v.push(t.elapsed());
        assert_eq!(r.is_free(), free, "{r:?}");
    }
    median(v)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("addressing bench: run with `cargo bench -p vip-netlink --bench addressing`");
        return;
    }
    let Some(mut lab) = Lab::new_or_skip("vnl-bench").unwrap() else {
        return;
    };
    let a = lab.namespace("a").unwrap();
    let holder = lab.namespace("holder").unwrap();
    lab.segment(&[&a, &holder]).unwrap();
    holder
        .run(&["ip", "addr", "add", "198.51.100.200/32", "dev", "eth0"])
        .unwrap();
    holder
        .run(&[
            "ip",
            "addr",
            "add",
            "2001:db8::200/128",
            "dev",
            "eth0",
            "nodad",
        ])
        .unwrap();

    let figures = a
        .enter(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let config = ManagerConfig {
                    announce: AnnounceConfig {
                        repeat: 1,
                        ..AnnounceConfig::default()
                    },
                    ..ManagerConfig::default()
                };
                let m = NetlinkAddressManager::new(config).unwrap();
                let vip = [Vip::host("198.51.100.100".parse().unwrap(), "eth0")];
                let vip6 = [Vip::host("2001:db8::100".parse().unwrap(), "eth0")];
                let (lib_add, lib_remove) = lib_rounds(&m, &vip, 500).await;
                let (lib_add_v6, lib_remove_v6) = lib_rounds(&m, &vip6, 500).await;
                // The scripts' way, from the same namespace (children inherit it).
                let (mut s_add_lit, mut s_add_w0, mut s_remove) =
                    (Vec::new(), Vec::new(), Vec::new());
                let (mut s_ip_add, mut s_add6, mut s_remove6) =
                    (Vec::new(), Vec::new(), Vec::new());
                for _ in 0..25 {
                    let t = Instant::now();
                    sh(&["ip", "addr", "add", "198.51.100.100/32", "dev", "eth0"]);
                    s_ip_add.push(t.elapsed());
                    sh(&["ip", "addr", "del", "198.51.100.100/32", "dev", "eth0"]);
                    let t = Instant::now();
                    sh(&[
                        "ip",
                        "addr",
                        "add",
                        "2001:db8::100/128",
                        "dev",
                        "eth0",
                        "nodad",
                    ]);
                    s_add6.push(t.elapsed());
                    let t = Instant::now();
                    sh(&["ip", "addr", "del", "2001:db8::100/128", "dev", "eth0"]);
                    s_remove6.push(t.elapsed());
                }
                for i in 0..25 {
                    let t = Instant::now();
                    sh(&["ip", "addr", "add", "198.51.100.100/32", "dev", "eth0"]);
                    if i < 5 {
                        sh(&[
                            "arping",
                            "-q",
                            "-U",
                            "-c",
                            "1",
                            "-I",
                            "eth0",
                            "198.51.100.100",
                        ]);
                        s_add_lit.push(t.elapsed());
                    } else {
                        sh(&[
                            "arping",
                            "-q",
                            "-U",
                            "-c",
                            "1",
                            "-w",
                            "0",
                            "-I",
                            "eth0",
                            "198.51.100.100",
                        ]);
                        s_add_w0.push(t.elapsed());
                    }
                    let t = Instant::now();
                    sh(&["ip", "addr", "del", "198.51.100.100/32", "dev", "eth0"]);
                    s_remove.push(t.elapsed());
                }
                let probe_timeout = Duration::from_millis(30);
                let free_vip = [Vip::host("198.51.100.150".parse().unwrap(), "eth0")];
                let held_vip = [Vip::host("198.51.100.200".parse().unwrap(), "eth0")];
                let free6 = [Vip::host("2001:db8::150".parse().unwrap(), "eth0")];
                let held6 = [Vip::host("2001:db8::200".parse().unwrap(), "eth0")];
                Figures {
                    lib_add,
                    lib_remove,
                    lib_add_v6,
                    lib_remove_v6,
                    script_ip_add_only: median(s_ip_add),
                    script_add_v6: median(s_add6),
                    script_remove_v6: median(s_remove6),
                    script_add_literal: median(s_add_lit),
                    script_add_w0: median(s_add_w0),
                    script_remove: median(s_remove),
                    probe_free: probe_median(&m, &free_vip, probe_timeout, true).await,
                    probe_held: probe_median(&m, &held_vip, probe_timeout, false).await,
                    probe_free_v6: probe_median(&m, &free6, probe_timeout, true).await,
                    probe_held_v6: probe_median(&m, &held6, probe_timeout, false).await,
                    probe_timeout,
                }
            })
        })
        .unwrap();
    let f = figures;
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("vip-netlink addressing latency (medians, same run)");
    println!(
        "add+announce: library {} | ip addr add + arping -U -c 1: {} (ratio {:.4}) | with arping -w 0: {} (ratio {:.4})",
        us(f.lib_add),
        us(f.script_add_literal),
        ratio(f.lib_add, f.script_add_literal),
        us(f.script_add_w0),
        ratio(f.lib_add, f.script_add_w0)
    );
    println!(
        "add+announce vs `ip addr add` alone (no announcement at all): {} (ratio {:.4})",
        us(f.script_ip_add_only),
        ratio(f.lib_add, f.script_ip_add_only)
    );
    println!(
        "IPv6 add+announce (NA): library {} | ip addr add nodad (no NA): {} (ratio {:.4})",
        us(f.lib_add_v6),
        us(f.script_add_v6),
        ratio(f.lib_add_v6, f.script_add_v6)
    );
    println!(
        "IPv6 remove: library {} | ip addr del: {} (ratio {:.4})",
        us(f.lib_remove_v6),
        us(f.script_remove_v6),
        ratio(f.lib_remove_v6, f.script_remove_v6)
    );
    println!(
        "remove: library {} | ip addr del: {} (ratio {:.4})",
        us(f.lib_remove),
        us(f.script_remove),
        ratio(f.lib_remove, f.script_remove)
    );
    println!(
        "in-use probe (timeout {:?}): IPv4 free {} | held {}; IPv6 free {} | held {}",
        f.probe_timeout,
        us(f.probe_free),
        us(f.probe_held),
        us(f.probe_free_v6),
        us(f.probe_held_v6)
    );
}
