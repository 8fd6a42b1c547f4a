//! Latency figures of vip-netlink against the scripts' way, measured in the same run, in a lab
//! namespace (needs root; `cargo bench -p vip-netlink --bench addressing`).
//!
//! - add+announce: `NetlinkAddressManager::add` + `announce` (one gratuitous ARP round) versus
//!   `ip addr add VIP/32 dev eth0` + `arping -U -c 1 -I eth0 VIP` as subprocesses (literal, and
//!   with `-w 0` so that arping does not wait for an answer).
//! - remove: `NetlinkAddressManager::remove` versus `ip addr del VIP/32 dev eth0`.
//! - in-use probe: median on a free address (bounded by the timeout) and on a held one.
//!
//! Both sides get the same treatment: [`WARMUP`] untimed runs, then the median of [`SAMPLES`]
//! timed runs, for every figure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vip_core::lab::Lab;
use vip_core::{AddressManager, Vip};
use vip_netlink::{AnnounceConfig, ManagerConfig, NetlinkAddressManager};

/// Untimed runs before every measured series, on both sides.
const WARMUP: usize = 3;
/// Timed runs per figure, on both sides (the median is reported).
const SAMPLES: usize = 25;

/// The median of [`SAMPLES`] runs of `f` (each returning its own timed part), after
/// [`WARMUP`] runs.
fn timed(mut f: impl FnMut() -> Duration) -> Duration {
    for _ in 0..WARMUP {
        f();
    }
    median((0..SAMPLES).map(|_| f()).collect())
}

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

/// Median latency of `add+announce` and of `remove` of `vip` through the library ([`WARMUP`]
/// untimed rounds, then [`SAMPLES`]).
async fn lib_rounds(m: &NetlinkAddressManager, vip: &[Vip]) -> (Duration, Duration) {
    for _ in 0..WARMUP {
        m.add(vip).await.unwrap();
        m.announce(vip).await.unwrap();
        m.remove(vip).await.unwrap();
    }
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
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
    for _ in 0..WARMUP {
        m.probe_in_use(vip, timeout).await.unwrap();
    }
    let mut v = Vec::new();
    for _ in 0..SAMPLES {
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
                let (lib_add, lib_remove) = lib_rounds(&m, &vip).await;
                let (lib_add_v6, lib_remove_v6) = lib_rounds(&m, &vip6).await;
                // The scripts' way, from the same namespace (children inherit it).
                let (v4, v6) = ("198.51.100.100/32", "2001:db8::100/128");
                let add4 = || sh(&["ip", "addr", "add", v4, "dev", "eth0"]);
                let del4 = || sh(&["ip", "addr", "del", v4, "dev", "eth0"]);
                let add6 = || sh(&["ip", "addr", "add", v6, "dev", "eth0", "nodad"]);
                let del6 = || sh(&["ip", "addr", "del", v6, "dev", "eth0"]);
                let arping = |extra: &[&str]| {
                    let mut argv = vec!["arping", "-q", "-U", "-c", "1"];
                    argv.extend_from_slice(extra);
                    argv.extend_from_slice(&["-I", "eth0", "198.51.100.100"]);
                    sh(&argv);
                };
                let time = |f: &dyn Fn()| {
                    let t = Instant::now();
                    f();
                    t.elapsed()
                };
                let s_ip_add = timed(|| {
                    let d = time(&add4);
                    del4();
                    d
                });
                let s_add_lit = timed(|| {
                    let d = time(&|| {
                        add4();
                        arping(&[]);
                    });
                    del4();
                    d
                });
                let s_add_w0 = timed(|| {
                    let d = time(&|| {
                        add4();
                        arping(&["-w", "0"]);
                    });
                    del4();
                    d
                });
                let s_remove = timed(|| {
                    add4();
                    time(&del4)
                });
                let s_add6 = timed(|| {
                    let d = time(&add6);
                    del6();
                    d
                });
                let s_remove6 = timed(|| {
                    add6();
                    time(&del6)
                });
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
                    script_ip_add_only: s_ip_add,
                    script_add_v6: s_add6,
                    script_remove_v6: s_remove6,
                    script_add_literal: s_add_lit,
                    script_add_w0: s_add_w0,
                    script_remove: s_remove,
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
    println!(
        "vip-netlink addressing latency (medians of {SAMPLES} runs after {WARMUP} warm-up runs, \
         both sides, same run)"
    );
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
