//! Lab tests of the raw-socket transport: two (or three) network namespaces on one bridge,
//! adverts sent by the transport in one namespace and received by the transport in another.
//! Bad packets are crafted with plain raw sockets. Root only; skipped otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vip_core::election::Version;
use vip_core::lab::{Lab, Ns};
use vip_core::{Interval, Priority, Vip};
use vip_vrrp::socket::{
    DropReason, Received, StatsSnapshot, Transport, TransportConfig, VRRP_GROUP_V4, VRRP_GROUP_V6,
};
use vip_vrrp::wire::{AddressFamily, Auth, ChecksumMode, Packet, Repr, TxContext, WireError};

const A4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const B4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const C4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 3);
const VIP4: &str = "198.51.100.100";
const VIP6: &str = "2001:db8::100";
/// Long enough for a loaded 2-core CI machine; the tests finish as soon as the packets arrive.
const PATIENCE: Duration = Duration::from_secs(10);

/// Runs `f`'s future on a current-thread tokio runtime on a thread inside `ns`.
fn run_in<F, Fut, R>(ns: &Ns, f: F) -> R
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = R>,
    R: Send + 'static,
{
    ns.block_on(f).unwrap()
}

/// `n` nodes on one segment, node i (from 0) with 198.51.100.(i+1)/24 and 2001:db8::(i+1)/64.
fn lab(tag: &str, n: usize) -> Option<(Lab, Vec<Ns>)> {
    lab_on(tag, n, "198.51.100")
}

/// [`lab`], with IPv4 addresses in `net4`.0/24.
fn lab_on(tag: &str, n: usize, net4: &str) -> Option<(Lab, Vec<Ns>)> {
    let mut lab = Lab::new_or_skip(tag).unwrap()?;
    let names = ["a", "b", "c"];
    let nodes: Vec<Ns> = names[..n]
        .iter()
        .map(|s| lab.namespace(s).unwrap())
        .collect();
    let refs: Vec<&Ns> = nodes.iter().collect();
    lab.segment(&refs).unwrap();
    for (i, node) in nodes.iter().enumerate() {
        let v4 = format!("{net4}.{}/24", i + 1);
        let v6 = format!("2001:db8::{}/64", i + 1);
        node.run(&["ip", "addr", "add", &v4, "dev", "eth0"])
            .unwrap();
        node.run(&["ip", "-6", "addr", "add", &v6, "dev", "eth0", "nodad"])
            .unwrap();
    }
    Some((lab, nodes))
}

fn vip(s: &str) -> Vip {
    Vip::host(s.parse().unwrap(), "eth0")
}

fn v3_config(vrid: u8, vip_addr: &str) -> TransportConfig {
    TransportConfig::new("eth0", Version::V3, vrid, vec![vip(vip_addr)])
        .with_advert_interval(Interval::from_centis(10))
}

/// A thread in `ns` that sends one advert at `priority` from each transport of `configs` every
/// 50 ms until `stop` is set (or 20 s pass), then returns their counters.
fn sender(
    ns: &Ns,
    configs: Vec<(TransportConfig, u8)>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Vec<StatsSnapshot>> {
    let ns = ns.clone();
    std::thread::spawn(move || {
        run_in(&ns, move || async move {
            let transports: Vec<(Transport, u8)> = configs
                .into_iter()
                .map(|(c, p)| (Transport::new(c).unwrap(), p))
                .collect();
            let start = Instant::now();
            while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(20) {
                for (t, p) in &transports {
                    t.send(Priority::new(*p)).await.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            transports
                .iter()
                .map(|(t, _)| t.stats().snapshot())
                .collect()
        })
    })
}

/// Receives adverts in `ns` with `config` until `done` says so or [`PATIENCE`] runs out; returns
/// them with the transport's counters. Sends `()` on `ready` once the sockets are open.
fn receive_until(
    ns: &Ns,
    config: TransportConfig,
    ready: Option<mpsc::Sender<()>>,
    done: impl Fn(&[Received], &StatsSnapshot) -> bool + Send + 'static,
) -> (Vec<Received>, StatsSnapshot) {
    let (got, stats, _) = receive_until_with_path(ns, config, ready, done);
    (got, stats)
}

/// [`receive_until`], with the receive path's own counters (packets of no transport) last.
fn receive_until_with_path(
    ns: &Ns,
    config: TransportConfig,
    ready: Option<mpsc::Sender<()>>,
    done: impl Fn(&[Received], &StatsSnapshot) -> bool + Send + 'static,
) -> (Vec<Received>, StatsSnapshot, StatsSnapshot) {
    run_in(ns, move || async move {
        let t = Transport::new(config).unwrap();
        if let Some(ready) = ready {
            ready.send(()).unwrap();
        }
        let mut got = Vec::new();
        let start = Instant::now();
        while !done(&got, &t.stats().snapshot()) && start.elapsed() < PATIENCE {
            if let Ok(r) = tokio::time::timeout(Duration::from_millis(100), t.recv()).await {
                got.push(r.unwrap());
            }
        }
        (got, t.stats().snapshot(), t.receiver().stats().snapshot())
    })
}

fn stop_sender(stop: &AtomicBool, handle: JoinHandle<Vec<StatsSnapshot>>) -> Vec<StatsSnapshot> {
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap()
}

#[test]
fn v2_pass_multicast_is_received_and_decoded() {
    let Some((_lab, nodes)) = lab("vrrp-lab-v2", 2) else {
        return;
    };
    let auth = Auth::simple(b"1111").unwrap();
    let config = TransportConfig::new("eth0", Version::V2, 51, vec![vip(VIP4)])
        .with_advert_interval(Interval::from_secs(1))
        .with_auth(auth);
    let stop = Arc::new(AtomicBool::new(false));
    let tx = sender(&nodes[0], vec![(config.clone(), 150)], Arc::clone(&stop));
    let (got, stats) = receive_until(&nodes[1], config, None, |got, _| got.len() >= 2);
    let sent = stop_sender(&stop, tx);

    assert!(got.len() >= 2, "received {got:?}, stats {stats:?}");
    for r in &got {
        assert_eq!(r.source, IpAddr::V4(A4));
        assert_eq!(r.destination, IpAddr::V4(VRRP_GROUP_V4));
        assert_eq!(r.repr.version, Version::V2);
        assert_eq!(r.repr.vrid, 51);
        assert_eq!(r.repr.priority, Priority::new(150));
        assert_eq!(r.repr.max_advert_interval, Interval::from_secs(1));
        assert_eq!(r.repr.auth, auth);
        assert_eq!(
            r.repr.addresses.iter().collect::<Vec<_>>(),
            vec![VIP4.parse::<IpAddr>().unwrap()]
        );
        assert_eq!(r.advert.priority, Priority::new(150));
        assert_eq!(r.advert.from.addr(), IpAddr::V4(A4));
        assert!(!r.advert.address_mismatch);
    }
    assert_eq!(stats.total_drops(), 0, "{stats:?}");
    assert!(sent[0].sent >= 2 && sent[0].send_errors == 0, "{sent:?}");
}

#[test]
fn v3_ipv4_multicast_accepts_both_checksum_forms() {
    let Some((_lab, nodes)) = lab("vrrp-lab-v3v4", 2) else {
        return;
    };
    let config = v3_config(52, VIP4);
    let stop = Arc::new(AtomicBool::new(false));
    let tx = sender(
        &nodes[0],
        vec![
            (config.clone(), 150),
            (config.clone().with_checksum(ChecksumMode::MessageOnly), 151),
        ],
        Arc::clone(&stop),
    );
    let (got, stats) = receive_until(&nodes[1], config, None, |got, _| {
        let p = |n| got.iter().any(|r| r.repr.priority == Priority::new(n));
        p(150) && p(151)
    });
    stop_sender(&stop, tx);

    for prio in [150, 151] {
        let r = got
            .iter()
            .find(|r| r.repr.priority == Priority::new(prio))
            .unwrap_or_else(|| panic!("no advert at {prio}: {got:?} {stats:?}"));
        assert_eq!(r.source, IpAddr::V4(A4));
        assert_eq!(r.repr.version, Version::V3);
        assert_eq!(r.repr.vrid, 52);
        assert_eq!(r.repr.max_advert_interval, Interval::from_centis(10));
        assert_eq!(r.repr.auth, Auth::None);
        assert!(!r.advert.address_mismatch);
    }
    assert_eq!(stats.total_drops(), 0, "{stats:?}");
}

#[test]
fn v3_ipv6_multicast_from_link_local_is_received() {
    let Some((_lab, nodes)) = lab("vrrp-lab-v3v6", 2) else {
        return;
    };
    let config = v3_config(54, VIP6);
    let stop = Arc::new(AtomicBool::new(false));
    let tx = sender(&nodes[0], vec![(config.clone(), 150)], Arc::clone(&stop));
    let (got, stats) = receive_until(&nodes[1], config, None, |got, _| got.len() >= 2);
    stop_sender(&stop, tx);

    assert!(got.len() >= 2, "received {got:?}, stats {stats:?}");
    for r in &got {
        let IpAddr::V6(src) = r.source else {
            panic!("IPv4 source {}", r.source)
        };
        assert_eq!(src.segments()[0], 0xfe80, "source {src} is link-local");
        assert_eq!(r.destination, IpAddr::V6(VRRP_GROUP_V6));
        assert_eq!(r.repr.version, Version::V3);
        assert_eq!(r.repr.vrid, 54);
        assert_eq!(r.repr.priority, Priority::new(150));
        assert_eq!(
            r.repr.addresses.iter().collect::<Vec<_>>(),
            vec![VIP6.parse::<IpAddr>().unwrap()]
        );
        assert!(!r.advert.address_mismatch);
    }
    assert_eq!(stats.total_drops(), 0, "{stats:?}");
}

#[test]
fn unicast_accepts_peers_and_drops_strangers() {
    let Some((_lab, nodes)) = lab("vrrp-lab-ucast", 3) else {
        return;
    };
    let base = v3_config(56, VIP4);
    // a and b are peers of each other; c sends to b as if b were its peer, but is not b's.
    let a = base
        .clone()
        .with_unicast(IpAddr::V4(A4), vec![IpAddr::V4(B4)]);
    let c = base
        .clone()
        .with_unicast(IpAddr::V4(C4), vec![IpAddr::V4(B4)]);
    let b = base.with_unicast(IpAddr::V4(B4), vec![IpAddr::V4(A4)]);
    let stop = Arc::new(AtomicBool::new(false));
    let tx_a = sender(&nodes[0], vec![(a, 120)], Arc::clone(&stop));
    let tx_c = sender(&nodes[2], vec![(c, 130)], Arc::clone(&stop));
    let (got, stats) = receive_until(&nodes[1], b, None, |got, stats| {
        got.len() >= 2 && stats.drops(DropReason::NotAPeer) >= 2
    });
    stop_sender(&stop, tx_a);
    stop_sender(&stop, tx_c);

    assert!(got.len() >= 2, "received {got:?}, stats {stats:?}");
    for r in &got {
        assert_eq!(
            r.source,
            IpAddr::V4(A4),
            "only the peer's adverts come through"
        );
        assert_eq!(r.destination, IpAddr::V4(B4));
        assert_eq!(r.repr.priority, Priority::new(120));
    }
    assert!(stats.drops(DropReason::NotAPeer) >= 2, "{stats:?}");
    assert_eq!(
        stats.total_drops(),
        stats.drops(DropReason::NotAPeer),
        "{stats:?}"
    );
}

#[test]
fn unicast_over_ipv6_with_global_sources() {
    let Some((_lab, nodes)) = lab("vrrp-lab-ucast6", 2) else {
        return;
    };
    let (a6, b6): (IpAddr, IpAddr) = (
        "2001:db8::1".parse().unwrap(),
        "2001:db8::2".parse().unwrap(),
    );
    let base = v3_config(57, VIP6);
    let a = base.clone().with_unicast(a6, vec![b6]);
    let b = base.with_unicast(b6, vec![a6]);
    let stop = Arc::new(AtomicBool::new(false));
    let tx = sender(&nodes[0], vec![(a, 140)], Arc::clone(&stop));
    let (got, stats) = receive_until(&nodes[1], b, None, |got, _| got.len() >= 2);
    stop_sender(&stop, tx);

    assert!(got.len() >= 2, "received {got:?}, stats {stats:?}");
    for r in &got {
        assert_eq!((r.source, r.destination), (a6, b6));
        assert_eq!(r.repr.priority, Priority::new(140));
    }
    assert_eq!(stats.total_drops(), 0, "{stats:?}");
}

#[test]
fn opened_while_the_link_is_down_receives_once_it_is_up() {
    let Some((_lab, nodes)) = lab("vrrp-lab-down", 2) else {
        return;
    };
    nodes[1]
        .run(&["ip", "link", "set", "eth0", "down"])
        .unwrap();
    let config = v3_config(58, VIP4);
    let (ready_tx, ready_rx) = mpsc::channel();
    let (b, rx_config) = (nodes[1].clone(), config.clone());
    let rx = std::thread::spawn(move || {
        receive_until(&b, rx_config, Some(ready_tx), |got, _| !got.is_empty())
    });
    ready_rx.recv_timeout(PATIENCE).unwrap();
    nodes[1].run(&["ip", "link", "set", "eth0", "up"]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let tx = sender(&nodes[0], vec![(config, 150)], Arc::clone(&stop));
    let (got, stats) = rx.join().unwrap();
    stop_sender(&stop, tx);
    assert!(!got.is_empty(), "{stats:?}");
    assert_eq!(got[0].source, IpAddr::V4(A4));
}

#[test]
fn ipv4_header_is_keepalived_like() {
    let Some((_lab, nodes)) = lab("vrrp-lab-hdr", 2) else {
        return;
    };
    // A plain raw socket in b, joined to the group, sees the whole IPv4 header we send.
    let (ready_tx, ready_rx) = mpsc::channel();
    let b = nodes[1].clone();
    let rx = std::thread::spawn(move || {
        run_in(&b, move || async move {
            let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
            s.bind_device(Some(b"eth0")).unwrap();
            s.join_multicast_v4(&VRRP_GROUP_V4, &B4).unwrap();
            s.set_read_timeout(Some(PATIENCE)).unwrap();
            ready_tx.send(()).unwrap();
            let mut buf = [0u8; 128];
            let n = std::io::Read::read(&mut &s, &mut buf).unwrap();
            buf[..n].to_vec()
        })
    });
    ready_rx.recv_timeout(PATIENCE).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let tx = sender(
        &nodes[0],
        vec![(v3_config(59, VIP4), 150)],
        Arc::clone(&stop),
    );
    let datagram = rx.join().unwrap();
    stop_sender(&stop, tx);

    assert_eq!(datagram[0], 0x45, "IPv4, no options");
    assert_eq!(datagram[1], 0xc0, "TOS 0xc0 as keepalived");
    assert_eq!(datagram[8], 255, "TTL 255");
    assert_eq!(datagram[9], 112, "protocol VRRP");
    assert_ne!(&datagram[4..6], &[0, 0], "our own non-zero identification");
    assert_eq!(&datagram[6..8], &[0x40, 0], "Don't Fragment, offset 0");
    // The header checksum we leave at 0 is the kernel's to fill in: b's IP layer drops a
    // datagram whose header checksum is wrong, so its arrival here checks that too.
    assert_eq!(
        &datagram[12..16],
        &A4.octets(),
        "source: a's primary address"
    );
    assert_eq!(&datagram[16..20], &VRRP_GROUP_V4.octets());
    assert_eq!(datagram.len(), 20 + 12, "v3 header and one IPv4 address");
    assert_eq!(datagram[20], 0x31, "VRRPv3 advertisement");
}

/// A v3 advert for `vrid` at `priority`, encoded for `src` -> `dst`.
fn encode(vrid: u8, priority: u8, vip_addr: &str, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let family = AddressFamily::of(src);
    let repr = Repr::for_vips(
        Version::V3,
        vrid,
        Priority::new(priority),
        Interval::from_centis(10),
        family,
        &[vip(vip_addr)],
        Auth::None,
    )
    .unwrap();
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut Packet::new_unchecked(&mut buf[..]),
        &TxContext::new(src, dst),
    )
    .unwrap();
    buf
}

/// Sends raw VRRP `payloads` from `ns` to the IPv4 group with TTL `ttl` (the kernel builds the
/// IP header), with multicast loop `looped`.
fn craft_v4(ns: &Ns, payloads: Vec<(Vec<u8>, u32)>, looped: bool) {
    run_in(ns, move || async move {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
        s.bind_device(Some(b"eth0")).unwrap();
        s.set_multicast_loop_v4(looped).unwrap();
        let group = SockAddr::from(SocketAddrV4::new(VRRP_GROUP_V4, 0));
        for (bytes, ttl) in payloads {
            s.set_multicast_ttl_v4(ttl).unwrap();
            s.send_to(&bytes, &group).unwrap();
        }
    });
}

#[test]
fn bad_ipv4_packets_are_dropped_and_counted_and_the_loop_goes_on() {
    let Some((_lab, nodes)) = lab("vrrp-lab-bad4", 2) else {
        return;
    };
    let (ready_tx, ready_rx) = mpsc::channel();
    let config = v3_config(52, VIP4);
    let b = nodes[1].clone();
    let rx = std::thread::spawn(move || {
        receive_until_with_path(&b, config, Some(ready_tx), |got, _| {
            got.iter().any(|r| r.repr.priority == Priority::new(99))
        })
    });
    ready_rx.recv_timeout(PATIENCE).unwrap();

    let (a, g) = (IpAddr::V4(A4), IpAddr::V4(VRRP_GROUP_V4));
    let good = |prio| encode(52, prio, VIP4, a, g);
    let mut bad_sum = good(150);
    bad_sum[6] ^= 0x5a;
    let mut bad_version = good(150);
    bad_version[0] = 0x41;
    let mut bad_count = good(150);
    bad_count[3] = 2;
    // From b itself, looped back: b's own packet.
    let own = encode(52, 150, VIP4, IpAddr::V4(B4), g);
    craft_v4(&nodes[1], vec![(own, 255)], true);
    craft_v4(
        &nodes[0],
        vec![
            (good(150), 64),                                // routed: TTL 64
            (bad_sum, 255),                                 // checksum
            (vec![0x31, 52, 150], 255),                     // truncated
            (bad_version, 255),                             // version 4
            (bad_count, 255),                               // count 2, one address
            (encode(53, 150, VIP4, a, g), 255),             // VRID 53 not ours
            (encode(52, 150, "198.51.100.101", a, g), 255), // other VIP: accepted, mismatch
            (good(99), 255),                                // the good one, last
        ],
        false,
    );
    let (got, stats, path) = rx.join().unwrap();

    let prios: Vec<u8> = got.iter().map(|r| r.repr.priority.get()).collect();
    assert_eq!(prios, vec![150, 99], "{got:?} {stats:?}");
    assert!(
        got[0].advert.address_mismatch,
        "the other VIP list is flagged"
    );
    assert!(!got[1].advert.address_mismatch);
    assert_eq!(stats.address_mismatch, 1, "{stats:?}");
    for (reason, n) in [
        (DropReason::Wire(WireError::BadTtl), 1),
        (DropReason::Wire(WireError::BadChecksum), 1),
        (DropReason::Wire(WireError::Truncated), 1),
        (DropReason::Wire(WireError::BadVersion), 1),
        (DropReason::Wire(WireError::AddressCountMismatch), 1),
        (DropReason::OwnPacket, 1),
    ] {
        assert_eq!(stats.drops(reason), n, "{} in {stats:?}", reason.as_str());
    }
    assert_eq!(stats.total_drops(), 6, "{stats:?}");
    assert_eq!(stats.received, 8, "{stats:?}");
    // VRID 53 concerns no transport on the path: the receive path counts it, once.
    assert_eq!(
        path.drops(DropReason::Wire(WireError::UnknownVrid)),
        1,
        "{path:?}"
    );
    assert_eq!(path.total_drops(), 1, "{path:?}");
    assert_eq!(path.received, 9, "{path:?}");
}

/// Sends raw VRRP `payloads` from `ns` to ff02::12 with hop limit `hops`, without checksum
/// offload (the payload carries its own checksum, right or wrong).
fn craft_v6(ns: &Ns, payloads: Vec<(Vec<u8>, u32)>) {
    run_in(ns, move || async move {
        let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(112))).unwrap();
        s.bind_device(Some(b"eth0")).unwrap();
        let group = SockAddr::from(SocketAddrV6::new(VRRP_GROUP_V6, 0, 0, 0));
        for (bytes, hops) in payloads {
            s.set_multicast_hops_v6(hops).unwrap();
            s.send_to(&bytes, &group).unwrap();
        }
    });
}

/// The link-local address of eth0 in `ns`.
fn link_local(ns: &Ns) -> Ipv6Addr {
    let out = ns
        .run(&[
            "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link",
        ])
        .unwrap();
    let word = out
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .unwrap_or_else(|| panic!("no link-local in {out}"));
    word.split('/').next().unwrap().parse().unwrap()
}

#[test]
fn bad_ipv6_packets_are_dropped_and_counted() {
    let Some((_lab, nodes)) = lab("vrrp-lab-bad6", 2) else {
        return;
    };
    let (ready_tx, ready_rx) = mpsc::channel();
    let config = v3_config(54, VIP6);
    let b = nodes[1].clone();
    let rx = std::thread::spawn(move || {
        receive_until(&b, config, Some(ready_tx), |got, _| {
            got.iter().any(|r| r.repr.priority == Priority::new(99))
        })
    });
    ready_rx.recv_timeout(PATIENCE).unwrap();

    let (a, g) = (IpAddr::V6(link_local(&nodes[0])), IpAddr::V6(VRRP_GROUP_V6));
    let good = |prio| encode(54, prio, VIP6, a, g);
    let mut bad_sum = good(150);
    bad_sum[7] ^= 0x11;
    craft_v6(
        &nodes[0],
        vec![(good(150), 64), (bad_sum, 255), (good(99), 255)],
    );
    let (got, stats) = rx.join().unwrap();

    let prios: Vec<u8> = got.iter().map(|r| r.repr.priority.get()).collect();
    assert_eq!(prios, vec![99], "{got:?} {stats:?}");
    assert_eq!(got[0].source, a);
    assert_eq!(
        stats.drops(DropReason::Wire(WireError::BadTtl)),
        1,
        "{stats:?}"
    );
    assert_eq!(
        stats.drops(DropReason::Wire(WireError::BadChecksum)),
        1,
        "{stats:?}"
    );
    assert_eq!(stats.total_drops(), 2, "{stats:?}");
}

#[test]
fn missing_interface_is_a_typed_error() {
    let Some((_lab, nodes)) = lab("vrrp-lab-noif", 1) else {
        return;
    };
    let err = run_in(&nodes[0], || async {
        let config = TransportConfig::new("nosuch0", Version::V3, 1, vec![vip(VIP4)]);
        Transport::new(config).unwrap_err()
    });
    assert!(
        matches!(err, vip_vrrp::socket::TransportError::InterfaceNotFound { ref interface } if interface == "nosuch0"),
        "{err:?}"
    );
    assert!(err.to_string().contains("ip link"), "{err}");

    // eth0 exists but has no IPv4 address: nothing to send from.
    nodes[0]
        .run(&["ip", "addr", "flush", "dev", "eth0", "scope", "global"])
        .unwrap();
    let err = run_in(&nodes[0], || async {
        let config = TransportConfig::new("eth0", Version::V3, 1, vec![vip(VIP4)]);
        Transport::new(config).unwrap_err()
    });
    assert!(
        matches!(
            err,
            vip_vrrp::socket::TransportError::NoSourceAddress { .. }
        ),
        "{err:?}"
    );
    let core: vip_core::Error = err.into();
    assert!(!core.is_transient(), "{core}");

    // A configured source that is not ours.
    let err = run_in(&nodes[0], || async {
        let config = TransportConfig::new("eth0", Version::V3, 1, vec![vip(VIP4)])
            .with_source("198.51.100.77".parse().unwrap());
        Transport::new(config).unwrap_err()
    });
    assert!(
        matches!(
            err,
            vip_vrrp::socket::TransportError::Config { key: "source", .. }
        ),
        "{err:?}"
    );
}

/// `Transport::send` keeps the last advert's datagrams: repeated priorities reuse them, and a
/// new priority (and a return to the old one) is encoded afresh, checksum included.
#[test]
fn repeated_and_changed_priorities_are_sent_right() {
    let Some((_lab, nodes)) = lab("vrrp-lab-cache", 2) else {
        return;
    };
    let config = v3_config(53, VIP4);
    let stop = Arc::new(AtomicBool::new(false));
    let tx = {
        let (ns, config, stop) = (nodes[0].clone(), config.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            run_in(&ns, move || async move {
                let t = Transport::new(config).unwrap();
                let start = Instant::now();
                let cycle = [100u8, 100, 200, 200, 0, 100];
                'outer: while start.elapsed() < Duration::from_secs(20) {
                    for p in cycle {
                        if stop.load(Ordering::Relaxed) {
                            break 'outer;
                        }
                        t.send(Priority::new(p)).await.unwrap();
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                t.stats().snapshot()
            })
        })
    };
    let (got, stats) = receive_until(&nodes[1], config, None, |got, _| {
        // 100 after a 200 after a 0: every switch happened at least once.
        let at = |p: u8, from: usize| {
            got.iter()
                .skip(from)
                .position(|r| r.repr.priority == Priority::new(p))
                .map(|i| i + from)
        };
        at(0, 0)
            .and_then(|i| at(100, i))
            .and_then(|i| at(200, i))
            .and_then(|i| at(0, i))
            .is_some()
    });
    stop.store(true, Ordering::Relaxed);
    let sent = tx.join().unwrap();
    let seen: Vec<u8> = got.iter().map(|r| r.repr.priority.get()).collect();
    for p in [0u8, 100, 200] {
        assert!(seen.contains(&p), "priority {p} never arrived: {seen:?}");
    }
    assert_eq!(
        stats.total_drops(),
        0,
        "bad checksums would be drops: {stats:?}"
    );
    assert_eq!(sent.send_errors, 0, "{sent:?}");
}

#[test]
fn try_send_repeats_an_encoded_single_destination_advert_in_place() {
    let Some((_lab, nodes)) = lab("vrrp-lab-trysend", 3) else {
        return;
    };
    let (ready_tx, ready_rx) = mpsc::channel();
    let b = nodes[1].clone();
    let rx = std::thread::spawn(move || {
        receive_until(&b, v3_config(54, VIP4), Some(ready_tx), |got, _| {
            got.iter().any(|r| r.repr.priority == Priority::new(200))
        })
    });
    ready_rx.recv_timeout(PATIENCE).unwrap();
    let sent = run_in(&nodes[0], || async {
        let t = Transport::new(v3_config(54, VIP4)).unwrap();
        // Nothing encoded yet: declined, nothing sent.
        assert!(t.try_send(Priority::new(100)).is_none());
        t.send(Priority::new(100)).await.unwrap();
        for _ in 0..3 {
            t.try_send(Priority::new(100)).unwrap().unwrap();
        }
        // Another priority is not encoded yet: declined.
        assert!(t.try_send(Priority::new(150)).is_none());
        t.send(Priority::new(200)).await.unwrap();
        let multicast = t.stats().snapshot().sent;

        // Two unicast peers mean two datagrams: always the async path.
        let peers = vec![IpAddr::V4(B4), IpAddr::V4(C4)];
        let config = v3_config(55, VIP4).with_unicast(IpAddr::V4(A4), peers);
        let unicast = Transport::new(config).unwrap();
        unicast.send(Priority::new(100)).await.unwrap();
        assert!(unicast.try_send(Priority::new(100)).is_none());
        (multicast, unicast.stats().snapshot().sent)
    });
    assert_eq!(sent, (5, 2), "counted like any send");
    let (got, _) = rx.join().unwrap();
    let prios: Vec<u8> = got.iter().map(|r| r.repr.priority.get()).collect();
    assert_eq!(
        prios,
        vec![100, 100, 100, 100, 200],
        "every copy arrived, in order"
    );
}

/// Transports on one interface share one receive path: each gets only its own VRID's adverts,
/// each packet is read once, and a VRID none of them has is counted once, by the path.
#[test]
fn transports_on_one_interface_share_a_receive_path_demultiplexed_by_vrid() {
    let Some((_lab, nodes)) = lab_on("vrrp-lab-share", 2, "198.51.100") else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let tx = sender(
        &nodes[0],
        vec![
            (v3_config(61, "203.0.113.61"), 161),
            (v3_config(62, "203.0.113.62"), 162),
            (v3_config(63, "203.0.113.63"), 163),
        ],
        Arc::clone(&stop),
    );
    let quiet = Arc::clone(&stop);
    let got = run_in(&nodes[1], move || async move {
        let t61 = Transport::new(v3_config(61, "203.0.113.61")).unwrap();
        let t62 = Transport::new(v3_config(62, "203.0.113.62")).unwrap();
        assert!(
            Arc::ptr_eq(t61.receiver(), t62.receiver()),
            "one receive path"
        );
        assert_eq!(t61.receiver().transports(), 2);
        let (mut from61, mut from62) = (Vec::new(), Vec::new());
        let start = Instant::now();
        while (from61.len() < 5 || from62.len() < 5) && start.elapsed() < PATIENCE {
            tokio::select! {
                r = t61.recv() => from61.push(r.unwrap()),
                r = t62.recv() => from62.push(r.unwrap()),
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
        // Counted once the sender has ended and the path has read everything, so that the
        // counters agree exactly.
        stop_sender(&quiet, tx);
        let mut path = t61.receiver().stats().snapshot();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = t61.receiver().stats().snapshot();
            if now == path {
                break;
            }
            path = now;
        }
        let (s61, s62) = (t61.stats().snapshot(), t62.stats().snapshot());
        drop(t61);
        // The path stays open while a transport is attached, and closes with the last one.
        let weak = Arc::downgrade(t62.receiver());
        assert_eq!(t62.receiver().transports(), 1);
        drop(t62);
        assert!(weak.upgrade().is_none(), "the receive path closed");
        (from61, from62, path, s61, s62)
    });
    let (from61, from62, path, s61, s62) = got;
    assert!(
        from61.len() >= 5 && from62.len() >= 5,
        "{from61:?} {from62:?}"
    );
    assert!(
        from61
            .iter()
            .all(|r| r.repr.vrid == 61 && r.repr.priority == Priority::new(161))
    );
    assert!(
        from62
            .iter()
            .all(|r| r.repr.vrid == 62 && r.repr.priority == Priority::new(162))
    );
    // Each transport counts only what was handed to it; the path counts every packet and the
    // unknown VRID (63), once per packet rather than once per transport.
    for s in [&s61, &s62] {
        assert_eq!(s.total_drops(), 0, "{s:?}");
        assert_eq!(s.received, s.accepted, "{s:?}");
    }
    let unknown = path.drops(DropReason::Wire(WireError::UnknownVrid));
    assert!(unknown >= 1, "{path:?}");
    assert_eq!(path.total_drops(), unknown, "{path:?}");
    assert_eq!(
        path.received,
        s61.received + s62.received + unknown,
        "{path:?}"
    );
}
