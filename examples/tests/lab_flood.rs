//! A flood of malformed adverts from a third host (bad checksum, TTL 64, wrong v2 password,
//! truncated, unknown VRID), each of which would take the VIP if it were accepted (priority
//! 254), changes nothing: the master stays master, no transition happens, and every kind of drop is counted
//! in vipd's metrics endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab_support;

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use lab_support::{Cluster, NodeConf, SOON, metric, wait_until};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vip_core::election::Version;
use vip_core::{Interval, Priority, Vip};
use vip_vrrp::wire::{AddressFamily, Auth, Packet, Repr, TxContext};

const V2: &str = r#"
[[instance]]
name = "v2"
interface = "eth0"
vrid = 52
version = 2
priority = PRIO
advert_interval = "1s"
vips = ["198.51.100.101/32"]
auth = { type = "pass", password = "secret" }
"#;

const SRC: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 50);
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const PER_KIND: usize = 240;

/// A VRRP message for `vrid` at priority 254, as a valid sender would emit it.
fn advert(version: Version, vrid: u8, vip: &str, auth: Auth) -> Vec<u8> {
    let interval = match version {
        Version::V2 => Interval::from_secs(1),
        Version::V3 => Interval::from_centis(10),
    };
    let vips = [Vip::host(vip.parse().unwrap(), "eth0")];
    let repr = Repr::for_vips(
        version,
        vrid,
        Priority::new(254),
        interval,
        AddressFamily::Ipv4,
        &vips,
        auth,
    )
    .unwrap();
    let mut buf = vec![0u8; repr.buffer_len()];
    let ctx = TxContext::new(IpAddr::V4(SRC), IpAddr::V4(GROUP));
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &ctx)
        .unwrap();
    buf
}

/// An IPv4 datagram (the kernel fills in the length, id and header checksum).
fn datagram(ttl: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![
        0x45, 0xc0, 0, 0, 0, 0, 0, 0, ttl, 112, 0, 0, 198, 51, 100, 50, 224, 0, 0, 18,
    ];
    d.extend_from_slice(payload);
    d
}

/// The five kinds of malformed adverts.
fn malformed() -> Vec<(&'static str, Vec<u8>)> {
    let v3 = advert(Version::V3, 51, "198.51.100.100", Auth::None);
    let mut bad_sum = v3.clone();
    bad_sum[6] ^= 0x5a;
    let wrong_pass = advert(
        Version::V2,
        52,
        "198.51.100.101",
        Auth::simple(b"guess").unwrap(),
    );
    vec![
        ("bad_checksum", datagram(255, &bad_sum)),
        ("bad_ttl", datagram(64, &v3)),
        ("auth_mismatch", datagram(255, &wrong_pass)),
        ("truncated", datagram(255, &v3[..6])),
        // No instance has VRID 53: the interface's receive path counts it.
        (
            "unknown_vrid",
            datagram(255, &advert(Version::V3, 53, "198.51.100.100", Auth::None)),
        ),
    ]
}

#[test]
fn a_flood_of_malformed_adverts_changes_nothing_and_is_counted() {
    let Some(mut c) = Cluster::new("vipex-lab-flood", 2, 1) else {
        return;
    };
    for (i, prio) in [(0, 200u8), (1, 100)] {
        let mut conf = NodeConf::new(prio);
        conf.tail = V2.replace("PRIO", &prio.to_string());
        c.configure(i, &conf);
        c.start(i);
    }
    c.wait_master(0);
    // The v2 instance (1 s adverts) settles too: node1 master of both.
    assert!(
        wait_until(SOON + SOON, || c.state_of(0, "v2") == "master"
            && c.state_of(1, "v2") == "backup"),
        "v2: {} / {}",
        c.state_of(0, "v2"),
        c.state_of(1, "v2")
    );
    let before: Vec<String> = (0..2).map(|i| transitions(&c.metrics(i))).collect();

    let sampler = c.sampler();
    let packets = malformed();
    let sent = c.extras[0]
        .enter(move || {
            let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(255))).unwrap();
            s.bind_device(Some(b"eth0")).unwrap();
            s.set_multicast_if_v4(&SRC).unwrap();
            let to = SockAddr::from(SocketAddrV4::new(GROUP, 0));
            let mut sent = 0usize;
            for round in 0..PER_KIND {
                for (_, p) in &packets {
                    s.send_to(p, &to).unwrap();
                    sent += 1;
                }
                if round % 25 == 24 {
                    // Let the receivers drain their socket buffers.
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            sent
        })
        .unwrap();
    assert_eq!(sent, 5 * PER_KIND);
    // Counters reach the metrics within a sync period (250 ms).
    std::thread::sleep(Duration::from_millis(700));
    sampler.assert_never_two_holders();

    for (i, before) in before.iter().enumerate() {
        let m = c.metrics(i);
        for (reason, _) in malformed() {
            let series =
                format!("vip_adverts_dropped_total{{interface=\"eth0\",reason=\"{reason}\"}}");
            let n = metric(&m, &series);
            eprintln!("node{}: {series} {n}", i + 1);
            assert!(
                n >= (PER_KIND / 2) as f64,
                "node{}: {reason} drops counted ({n} of {PER_KIND} sent):\n{m}",
                i + 1
            );
        }
        assert_eq!(&transitions(&m), before, "node{}: no transition", i + 1);
    }
    // The transport's counters reach the metrics too: the master sends, the backup receives.
    let sent = metric(
        &c.metrics(0),
        "vip_adverts_sent_total{vrrp_instance=\"vip\"}",
    );
    let received = metric(
        &c.metrics(1),
        "vip_adverts_received_total{vrrp_instance=\"vip\"}",
    );
    assert!(
        sent >= 10.0 && received >= 10.0,
        "sent {sent}, received {received}"
    );
    assert_eq!(c.state(0), "master");
    assert_eq!(c.state(1), "backup");
    assert_eq!(c.state_of(0, "v2"), "master");
    assert!(c.holds(0) && !c.holds(1));
}

fn transitions(metrics: &str) -> String {
    metrics
        .lines()
        .filter(|l| l.starts_with("vip_transitions_total{"))
        .collect::<Vec<_>>()
        .join("\n")
}
