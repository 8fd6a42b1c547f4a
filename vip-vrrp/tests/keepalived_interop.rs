//! Interop with a real keepalived 2.2.7: keepalived runs in namespace `a`, this transport in
//! namespace `b`, on one bridge. keepalived's adverts must decode to its configuration; our
//! adverts at a higher priority must make it step down to BACKUP and remove its VIP; our
//! priority-0 advert must make it take over again at once; and its log must show no packet
//! errors. Root and keepalived only; skipped otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vip_core::election::Version;
use vip_core::lab::{Keepalived, Lab, Ns};
use vip_core::{Interval, Priority, Vip};
use vip_vrrp::socket::{Received, StatsSnapshot, Transport, TransportConfig};
use vip_vrrp::wire::{Auth, ChecksumMode};

const VIP4: &str = "198.51.100.100";
const PATIENCE: Duration = Duration::from_secs(10);
/// Not sending.
const SILENT: u16 = u16::MAX;

fn run_in<F, Fut, R>(ns: &Ns, f: F) -> R
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = R>,
    R: Send + 'static,
{
    ns.block_on(f).unwrap()
}

/// Two nodes on one segment: `a` (198.51.100.1, for keepalived) and `b` (198.51.100.2, for us).
fn lab(tag: &str) -> Option<(Lab, Ns, Ns)> {
    if !Keepalived::available() {
        println!("skipping {tag}: keepalived is not installed");
        return None;
    }
    let mut lab = Lab::new_or_skip(tag).unwrap()?;
    let a = lab.namespace("a").unwrap();
    let b = lab.namespace("b").unwrap();
    lab.segment(&[&a, &b]).unwrap();
    a.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])
        .unwrap();
    b.run(&["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"])
        .unwrap();
    Some((lab, a, b))
}

/// Our side: a transport in `b` that records every advert it receives (the first one is also
/// sent on `first`) and sends at the priority in `priority` every `interval` (none while it
/// holds [`SILENT`]; a priority-0 advert is sent once, then it falls silent).
struct Us {
    priority: Arc<AtomicU16>,
    stop: Arc<AtomicBool>,
    first: mpsc::Receiver<Received>,
    handle: JoinHandle<(Vec<Received>, StatsSnapshot)>,
}

impl Us {
    fn start(ns: &Ns, config: TransportConfig) -> Us {
        let priority = Arc::new(AtomicU16::new(SILENT));
        let stop = Arc::new(AtomicBool::new(false));
        let (first_tx, first) = mpsc::channel();
        let (p, s, ns) = (Arc::clone(&priority), Arc::clone(&stop), ns.clone());
        let handle = std::thread::spawn(move || {
            run_in(&ns, move || async move {
                let interval = config.advert_interval.as_duration();
                let t = Transport::new(config).unwrap();
                let mut got: Vec<Received> = Vec::new();
                let mut last: Option<(Instant, u16)> = None;
                let start = Instant::now();
                while !s.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(60) {
                    let want = p.load(Ordering::Relaxed);
                    let due = match last {
                        _ if want == SILENT => false,
                        Some((at, prio)) => prio != want || at.elapsed() >= interval,
                        None => true,
                    };
                    if due {
                        let prio = u8::try_from(want).unwrap();
                        t.send(Priority::new(prio)).await.unwrap();
                        last = Some((Instant::now(), want));
                        if prio == 0 {
                            let _ =
                                p.compare_exchange(0, SILENT, Ordering::Relaxed, Ordering::Relaxed);
                        }
                    }
                    let tick = Duration::from_millis(20);
                    if let Ok(r) = tokio::time::timeout(tick, t.recv()).await {
                        let r = r.unwrap();
                        if got.is_empty() {
                            let _ = first_tx.send(r.clone());
                        }
                        got.push(r);
                    }
                }
                // Drain what is already queued (keepalived's last adverts), for at most 1 s:
                // a keepalived that is still master keeps sending.
                let drain = Instant::now();
                while drain.elapsed() < Duration::from_secs(1) {
                    match tokio::time::timeout(Duration::from_millis(200), t.recv()).await {
                        Ok(r) => got.push(r.unwrap()),
                        Err(_) => break,
                    }
                }
                (got, t.stats().snapshot())
            })
        });
        Us {
            priority,
            stop,
            first,
            handle,
        }
    }

    fn send_at(&self, priority: u8) {
        self.priority.store(u16::from(priority), Ordering::Relaxed);
    }

    fn finish(self) -> (Vec<Received>, StatsSnapshot) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

fn has_vip(ns: &Ns, vip: IpAddr) -> bool {
    let len = if vip.is_ipv4() { 32 } else { 128 };
    ns.run(&["ip", "-o", "addr", "show", "dev", "eth0"])
        .unwrap()
        .contains(&format!(" {vip}/{len} "))
}

fn wait_vip(ns: &Ns, vip: IpAddr, present: bool, keepalived: &Keepalived) {
    let start = Instant::now();
    while has_vip(ns, vip) != present {
        assert!(
            start.elapsed() < PATIENCE,
            "VIP still {} after {PATIENCE:?}; keepalived log:\n{}",
            if present { "absent" } else { "present" },
            keepalived.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The address adverts leave `ns` from: 198.51.100.x, or eth0's link-local address for IPv6.
fn advert_source(ns: &Ns, ipv6: bool) -> IpAddr {
    if !ipv6 {
        let out = ns
            .run(&["ip", "-4", "-o", "addr", "show", "dev", "eth0"])
            .unwrap();
        let word = out.split_whitespace().nth(3).unwrap();
        return word.split('/').next().unwrap().parse().unwrap();
    }
    let out = ns
        .run(&[
            "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link",
        ])
        .unwrap();
    let word = out.split_whitespace().nth(3).unwrap();
    word.split('/').next().unwrap().parse().unwrap()
}

/// The whole scenario, for one keepalived configuration and our matching transport config.
fn interop(a: &Ns, b: &Ns, keepalived_conf: &str, ours: TransportConfig) -> Vec<Received> {
    let vrid = ours.vrid;
    let interval = ours.advert_interval;
    let vip = ours.addresses[0].addr;
    let ka_src = advert_source(a, vip.is_ipv6());
    let us_src = advert_source(b, vip.is_ipv6());
    let mut ka = Keepalived::start(a, "ka", keepalived_conf).unwrap();
    let us = Us::start(b, ours);

    // keepalived (priority 100, alone) becomes master and takes the VIP.
    ka.wait_for_log("Entering MASTER STATE", PATIENCE).unwrap();
    wait_vip(a, vip, true, &ka);

    // Its adverts decode to its configuration.
    let first = us.first.recv_timeout(PATIENCE).unwrap();
    assert_eq!(first.source, ka_src);
    assert_eq!(first.repr.vrid, vrid);
    assert_eq!(first.repr.priority, Priority::new(100));
    assert_eq!(first.repr.max_advert_interval, interval);
    assert_eq!(first.repr.addresses.iter().collect::<Vec<_>>(), vec![vip]);
    assert!(!first.advert.address_mismatch);

    // Our adverts at 200 make it step down and remove the VIP.
    us.send_at(200);
    ka.wait_for_log(
        &format!("received advert from {us_src} with higher priority 200, ours 100"),
        PATIENCE,
    )
    .unwrap();
    ka.wait_for_log_count("Entering BACKUP STATE", 2, PATIENCE)
        .unwrap();
    wait_vip(a, vip, false, &ka);
    // It stays backup while we keep advertising (past its Master_Down_Interval for v3; v2's
    // whole seconds would make that slow).
    std::thread::sleep((interval.as_duration() * 4).min(Duration::from_secs(2)));
    assert_eq!(ka.count_in_log("Entering MASTER STATE"), 1, "{}", ka.log());
    assert!(!has_vip(a, vip));

    // Our priority-0 advert makes it take over after Skew_Time, not Master_Down_Interval.
    us.send_at(0);
    ka.wait_for_log_count("Entering MASTER STATE", 2, PATIENCE)
        .unwrap();
    wait_vip(a, vip, true, &ka);

    // A graceful stop sends priority 0 and removes the VIP.
    ka.stop(PATIENCE).unwrap();
    assert!(!has_vip(a, vip), "graceful stop removes keepalived's VIP");
    let (got, stats) = us.finish();
    let errors = ka.packet_errors();
    assert!(
        errors.is_empty(),
        "keepalived logged packet errors: {errors:#?}\nfull log:\n{}",
        ka.log()
    );

    assert_eq!(stats.total_drops(), 0, "{stats:?}");
    assert_eq!(stats.address_mismatch, 0, "{stats:?}");
    assert_eq!(stats.interval_mismatch, 0, "{stats:?}");
    assert_eq!(stats.send_errors, 0, "{stats:?}");
    assert!(got.iter().all(|r| r.source == ka_src));
    assert!(
        got.iter().any(|r| r.repr.priority == Priority::RELEASE),
        "keepalived's graceful stop sends priority 0: {got:?}"
    );
    got
}

fn vip() -> Vip {
    Vip::host(VIP4.parse().unwrap(), "eth0")
}

const V3_IPV4_CONF: &str = "global_defs {\n  router_id vip_lab_v3\n  vrrp_version 3\n  \
    vrrp_garp_master_delay 0\n}\n\
    vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  \
    priority 100\n  advert_int 0.1\n  virtual_ipaddress {\n    198.51.100.100/32 dev eth0\n  \
    }\n}\n";

#[test]
fn keepalived_v2_pass_interop() {
    let Some((_lab, a, b)) = lab("vrrp-ka-v2") else {
        return;
    };
    let conf = "global_defs {\n  router_id vip_lab_v2\n  vrrp_garp_master_delay 0\n}\n\
        vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
        priority 100\n  advert_int 1\n  authentication {\n    auth_type PASS\n    \
        auth_pass 1111\n  }\n  virtual_ipaddress {\n    198.51.100.100/32 dev eth0\n  }\n}\n";
    let ours = TransportConfig::new("eth0", Version::V2, 51, vec![vip()])
        .with_advert_interval(Interval::from_secs(1))
        .with_auth(Auth::simple(b"1111").unwrap());
    let got = interop(&a, &b, conf, ours);
    assert!(got.iter().all(|r| r.repr.version == Version::V2
        && r.repr.auth == Auth::Simple(*b"1111\0\0\0\0")));
}

#[test]
fn keepalived_v3_ipv4_interop() {
    let Some((_lab, a, b)) = lab("vrrp-ka-v3") else {
        return;
    };
    let ours = TransportConfig::new("eth0", Version::V3, 52, vec![vip()])
        .with_advert_interval(Interval::from_centis(10))
        .with_checksum(ChecksumMode::PseudoHeader);
    let got = interop(&a, &b, V3_IPV4_CONF, ours);
    assert!(got.iter().all(|r| r.repr.version == Version::V3));
}

#[test]
fn keepalived_v3_ipv6_interop() {
    let Some((_lab, a, b)) = lab("vrrp-ka-v3v6") else {
        return;
    };
    let conf = "global_defs {\n  router_id vip_lab_v3v6\n  vrrp_version 3\n}\n\
        vrrp_instance VI_6 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 54\n  \
        priority 100\n  advert_int 0.1\n  virtual_ipaddress {\n    2001:db8::100/128 dev eth0\n  \
        }\n}\n";
    let vip6 = Vip::host("2001:db8::100".parse().unwrap(), "eth0");
    let ours = TransportConfig::new("eth0", Version::V3, 54, vec![vip6])
        .with_advert_interval(Interval::from_centis(10));
    let got = interop(&a, &b, conf, ours);
    assert!(
        got.iter()
            .all(|r| r.repr.version == Version::V3 && r.source.is_ipv6())
    );
}

/// keepalived 2.2.7 rejects the v3/IPv4 checksum RFC 9568 section 5.2.8 specifies (VRRP
/// message only) and logs "Invalid VRRPv3 checksum": the reason the pseudo-header form is the
/// default. If a later keepalived accepts both, this test says so.
#[test]
fn keepalived_rejects_rfc_message_only_checksum_over_ipv4() {
    let Some((_lab, a, b)) = lab("vrrp-ka-msgonly") else {
        return;
    };
    let mut ka = Keepalived::start(&a, "ka", V3_IPV4_CONF).unwrap();
    let ours = TransportConfig::new("eth0", Version::V3, 52, vec![vip()])
        .with_advert_interval(Interval::from_centis(10))
        .with_checksum(ChecksumMode::MessageOnly);
    let us = Us::start(&b, ours);
    ka.wait_for_log("Entering MASTER STATE", PATIENCE).unwrap();
    us.send_at(200);
    ka.wait_for_log_count("Invalid VRRPv3 checksum", 3, PATIENCE)
        .unwrap();
    let (_, stats) = us.finish();
    assert!(stats.sent >= 3, "{stats:?}");
    assert_eq!(ka.count_in_log("Entering BACKUP STATE"), 1, "{}", ka.log());
    assert!(has_vip(&a, vip().addr), "keepalived stays master");
    ka.stop(PATIENCE).unwrap();
}

/// The lab runner itself: SIGKILL leaves keepalived's VIP on the interface (as after a crash),
/// and the pid files are free again for the next instance.
#[test]
fn keepalived_runner_kill_leaves_the_vip_and_restarts_cleanly() {
    let Some((_lab, a, _b)) = lab("vrrp-ka-kill") else {
        return;
    };
    let vip4: IpAddr = VIP4.parse().unwrap();
    let mut ka = Keepalived::start(&a, "ka", V3_IPV4_CONF).unwrap();
    ka.wait_for_log("Entering MASTER STATE", PATIENCE).unwrap();
    wait_vip(&a, vip4, true, &ka);
    ka.kill();
    assert!(!ka.is_running());
    std::thread::sleep(Duration::from_millis(300));
    assert!(has_vip(&a, vip4), "SIGKILL leaves the VIP:\n{}", ka.log());
    drop(ka);

    // A new instance in the same namespace starts (no "already running"), and its graceful
    // stop removes the VIP.
    let mut again = Keepalived::start(&a, "ka", V3_IPV4_CONF).unwrap();
    again
        .wait_for_log("Entering MASTER STATE", PATIENCE)
        .unwrap();
    again.stop(PATIENCE).unwrap();
    assert!(!has_vip(&a, vip4), "{}", again.log());
}
