//! `vipd import-keepalived` output behaves like the keepalived config it came from, against a
//! real keepalived 2.2.7.
//!
//! For each captured vector config (v2 PASS; v2 PASS with three VIPs at 2 s; v3 at 10 cs; v3
//! unicast; v3 over IPv6), adapted to documentation addresses: keepalived runs the config as
//! node 1, and node 2's config is derived from it the way an operator would (lower priority,
//! `state BACKUP`, unicast source and peer swapped). vipd runs what `vipd import-keepalived`
//! made of node 2's config, which must pass `vipd check-config` unchanged (only a `[global]`
//! section for the test's control socket is added).
//!
//! Shown: keepalived (higher) is the only master and vipd agrees (backup, sees the master);
//! keepalived's graceful stop hands every VIP to vipd; keepalived restarted takes them back;
//! keepalived logs no packet error (so VRID, auth, interval, VIP list and checksum all
//! matched) and vipd counts no drop and no VIP-list mismatch. Needs root and keepalived.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod keepalived_common;

use std::process::Command;
use std::time::{Duration, Instant};

use keepalived_common::{Pair, Side, VIPD, Vipd, keepalived_preempt_bound};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/keepalived");
const N1: &str = "198.51.100.11";
const N2: &str = "198.51.100.12";

/// The vector config with lab addresses (198.51.100.0/24, 2001:db8:77::/64) instead of the
/// capture lab's (10.77.0.0/24, fd00:77::/64): the captured configs are inputs, never
/// configured as they are; what runs, runs inside this test's namespaces (the lab's guard
/// refuses any other address).
fn adapt(text: &str) -> String {
    text.replace("10.77.0.", "198.51.100.")
        .replace("fd00:77::", "2001:db8:77::")
}

/// Node 2's config derived from node 1's: priority 11 lower, `state BACKUP`, unicast source
/// and peer swapped.
fn node2(n1: &str) -> String {
    n1.lines()
        .map(|line| {
            let t = line.trim();
            if let Some(p) = t.strip_prefix("priority ") {
                let p: u8 = p.trim().parse().unwrap();
                line.replace(t, &format!("priority {}", p - 11))
            } else if t == "state MASTER" {
                line.replace("MASTER", "BACKUP")
            } else {
                line.replace(N1, "@N1@").replace(N2, N1).replace("@N1@", N2)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The VIPs (addresses, no prefix) of a keepalived config's `virtual_ipaddress` block.
fn vips_of(conf: &str) -> Vec<String> {
    let mut inside = false;
    let mut vips = Vec::new();
    for line in conf.lines() {
        let t = line.trim();
        if t.starts_with("virtual_ipaddress") {
            inside = true;
        } else if inside && t == "}" {
            inside = false;
        } else if inside {
            let addr = t.split(['/', ' ']).next().unwrap();
            vips.push(addr.to_string());
        }
    }
    vips
}

/// The advert interval of a keepalived config.
fn advert_of(conf: &str) -> Duration {
    let secs: f64 = conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("advert_int "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    Duration::from_secs_f64(secs)
}

fn import_behaves_like(tag: &str, vector: &str) {
    let n1 = adapt(&std::fs::read_to_string(format!("{VECTORS}/{vector}")).unwrap());
    let Some(mut p) = Pair::with_addrs(tag, N1, N2) else {
        return;
    };
    p.vips = vips_of(&n1);
    assert!(!p.vips.is_empty());
    p.watch();
    let advert = advert_of(&n1);
    let patience = advert * 4 + Duration::from_secs(4);
    let window = (advert * 2).max(Duration::from_secs(1));

    // Translate node 2's config; it must translate completely and pass check-config as is.
    let n2_path = p.dir.join("n2-keepalived.conf");
    std::fs::write(&n2_path, node2(&n1)).unwrap();
    let out = Command::new(VIPD)
        .arg("import-keepalived")
        .arg(&n2_path)
        .output()
        .unwrap();
    let toml = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "import-keepalived failed on {vector}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let name = toml
        .lines()
        .find_map(|l| l.strip_prefix("name = "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    let config = format!("{}{toml}", Vipd::global(&p.dir, "vipd"));
    let config_path = p.dir.join("imported.toml");
    std::fs::write(&config_path, &config).unwrap();
    let check = Command::new(VIPD)
        .arg("check-config")
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "check-config rejects the imported config of {vector}:\n{config}\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // keepalived runs node 1's original config, vipd the import of node 2's. Both start at
    // once: on a loaded machine vipd's Master_Down timer may run out before keepalived's first
    // advert reaches it, and keepalived (higher, no in-use probe) then preempts it.
    p.step("start", keepalived_preempt_bound(advert));
    p.start_keepalived(&n1);
    p.start_vipd_config(&config);
    p.wait_for(Side::Keepalived, patience, "start");
    p.assert_steady(Side::Keepalived, window, "settled after start");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let st = p.vipd().instance(&name);
        let ok = st
            .as_ref()
            .is_some_and(|s| s.state.eq_ignore_ascii_case("backup") && s.master.is_some());
        if ok {
            break;
        }
        if Instant::now() > deadline {
            p.fail(&format!(
                "vipd should be backup to keepalived, status: {st:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    // keepalived stops gracefully: vipd takes every VIP.
    p.step("keepalived's graceful stop", Duration::ZERO);
    p.stop(Side::Keepalived);
    p.wait_for(Side::Vipd, patience, "keepalived's graceful stop");
    p.assert_steady(Side::Vipd, window, "vipd master");

    // keepalived comes back at its higher priority and takes the VIPs back (it has no in-use
    // probe: the overlap until vipd steps down is measured and bounded).
    p.step("keepalived's return", keepalived_preempt_bound(advert));
    p.start_keepalived(&n1);
    p.wait_for(
        Side::Keepalived,
        patience + advert * 4,
        "keepalived's return",
    );
    p.assert_steady(Side::Keepalived, window, "keepalived master again");
    p.check_overlaps();

    let errors = p.keepalived_packet_errors();
    if !errors.is_empty() {
        p.fail(&format!("keepalived logged packet errors: {errors:#?}"));
    }
    let vipd = p.vipd();
    let drops = vipd.nonzero("vip_adverts_dropped_total");
    let mismatches = vipd.nonzero("vip_address_list_mismatch_total");
    if !drops.is_empty() || !mismatches.is_empty() {
        p.fail(&format!(
            "vipd dropped keepalived's adverts: {drops:?}, mismatches: {mismatches:?}"
        ));
    }
    if vipd.metric_sum("vip_adverts_received_total", "") == 0.0 {
        p.fail("vipd counted no received adverts");
    }
}

#[test]
fn v2_pass() {
    import_behaves_like("kaimp-v2", "v2-n1.conf");
}

#[test]
fn v2_pass_three_vips_2s() {
    import_behaves_like("kaimp-v2m", "v2multi-n1.conf");
}

#[test]
fn v3_10cs() {
    import_behaves_like("kaimp-v3", "v3-n1.conf");
}

#[test]
fn v3_unicast() {
    import_behaves_like("kaimp-uc", "v3unicast-n1.conf");
}

#[test]
fn v3_ipv6() {
    import_behaves_like("kaimp-v6", "v3v6-n1.conf");
}
