//! Golden tests against real keepalived 2.2.7 captures (see `tests/data`, copied byte-exact from
//! the project's shared vectors): every VRRP frame parses to the expected `Repr`, and emitting
//! that `Repr` gives back the identical bytes, checksum included.
//!
//! The captures' addresses (10.77.0.0/24 and fd00:77::/64, the capture lab's) are input bytes,
//! kept exactly as captured: these tests only parse and compare them and configure none of
//! them on any interface. Tests that run keepalived with the captured configs
//! (`examples/tests/keepalived_import.rs`) first move them to the lab ranges and run them inside
//! lab namespaces only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::IpAddr;

use vip_core::election::Version;
use vip_core::{Interval, Priority, Vip};
use vip_vrrp::wire::{
    AddressFamily, Auth, ChecksumMode, Packet, Repr, RxContext, TxContext, VridSet, WireError,
};

/// What a capture holds, from `vectors/README.md` and the keepalived configs.
struct Capture {
    file: &'static str,
    version: Version,
    vrid: u8,
    priority: u8,
    interval: Interval,
    addresses: &'static [&'static str],
    auth: Auth,
    src: &'static str,
    dst: &'static str,
    /// The checksum form keepalived used (v2 and v3/IPv6 have only one).
    form: ChecksumMode,
}

fn captures() -> Vec<Capture> {
    vec![
        Capture {
            file: "keepalived-v2-n1.pcap",
            version: Version::V2,
            vrid: 51,
            priority: 101,
            interval: Interval::from_secs(1),
            addresses: &["10.77.0.100"],
            auth: Auth::simple(b"1111").unwrap(),
            src: "10.77.0.11",
            dst: "224.0.0.18",
            form: ChecksumMode::MessageOnly,
        },
        Capture {
            file: "keepalived-v2multi-n1.pcap",
            version: Version::V2,
            vrid: 55,
            priority: 200,
            interval: Interval::from_secs(2),
            addresses: &["10.77.0.100", "10.77.0.101", "10.77.0.102"],
            auth: Auth::simple(b"secretpw").unwrap(),
            src: "10.77.0.11",
            dst: "224.0.0.18",
            form: ChecksumMode::MessageOnly,
        },
        Capture {
            file: "keepalived-v3-n1.pcap",
            version: Version::V3,
            vrid: 52,
            priority: 101,
            interval: Interval::from_centis(10),
            addresses: &["10.77.0.100"],
            auth: Auth::None,
            src: "10.77.0.11",
            dst: "224.0.0.18",
            form: ChecksumMode::PseudoHeader,
        },
        Capture {
            file: "keepalived-v3unicast-n1.pcap",
            version: Version::V3,
            vrid: 56,
            priority: 120,
            interval: Interval::from_centis(100),
            addresses: &["10.77.0.100"],
            auth: Auth::None,
            src: "10.77.0.11",
            dst: "10.77.0.12",
            form: ChecksumMode::PseudoHeader,
        },
        Capture {
            file: "keepalived-v3v6-n1.pcap",
            version: Version::V3,
            vrid: 54,
            priority: 150,
            interval: Interval::from_centis(50),
            addresses: &["fd00:77::100", "fd00:77::101"],
            auth: Auth::None,
            src: "fe80::1080:ceff:fe39:f140",
            dst: "ff02::12",
            form: ChecksumMode::PseudoHeader,
        },
    ]
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn rx(c: &Capture, frame: &support::Frame) -> RxContext {
    RxContext::new(c.version, VridSet::single(c.vrid))
        .with_auth(c.auth)
        .packet(frame.src, frame.dst, frame.ttl)
}

#[test]
fn every_keepalived_frame_parses_and_re_emits_identically() {
    for c in captures() {
        let frames = support::vrrp_frames(c.file);
        assert!(
            frames.len() >= 3,
            "{}: only {} VRRP frames",
            c.file,
            frames.len()
        );
        let addrs: Vec<IpAddr> = c.addresses.iter().map(|a| ip(a)).collect();
        let family = AddressFamily::of(addrs[0]);
        for (i, frame) in frames.iter().enumerate() {
            let last = i + 1 == frames.len();
            assert_eq!(
                (frame.src, frame.dst, frame.ttl),
                (ip(c.src), ip(c.dst), 255),
                "{}",
                c.file
            );

            let packet = Packet::new_checked(&frame.vrrp[..]).unwrap();
            assert_eq!(
                packet.checksum_form(frame.src, frame.dst),
                Some(c.form),
                "{} #{i}",
                c.file
            );
            let repr = Repr::parse(&packet, &rx(&c, frame))
                .unwrap_or_else(|e| panic!("{} frame {i}: {e}", c.file));

            let expected = Repr {
                version: c.version,
                vrid: c.vrid,
                priority: Priority::new(if last { 0 } else { c.priority }),
                max_advert_interval: c.interval,
                addresses: vip_vrrp::wire::AddressList::new(family, &addrs).unwrap(),
                auth: c.auth,
            };
            assert_eq!(repr, expected, "{} frame {i}", c.file);
            assert!(!repr.addresses.spilled());

            let tx = TxContext::new(frame.src, frame.dst).with_checksum(c.form);
            let mut out = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut out[..]), &tx)
                .unwrap();
            assert_eq!(
                out, frame.vrrp,
                "{} frame {i}: emitted bytes differ",
                c.file
            );
        }
        let last = frames.last().unwrap();
        assert_eq!(
            last.vrrp[2], 0,
            "{}: the last advert is the priority-0 release",
            c.file
        );
    }
}

#[test]
fn default_tx_context_reproduces_keepalived_v3_ipv4_checksum() {
    // The default checksum mode is keepalived's pseudo-header form.
    for c in captures().iter().filter(|c| c.version == Version::V3) {
        let frame = &support::vrrp_frames(c.file)[0];
        let repr = Repr::parse(
            &Packet::new_checked(&frame.vrrp[..]).unwrap(),
            &rx(c, frame),
        )
        .unwrap();
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(
            &mut Packet::new_unchecked(&mut out[..]),
            &TxContext::new(frame.src, frame.dst),
        )
        .unwrap();
        assert_eq!(out, frame.vrrp, "{}", c.file);
    }
}

#[test]
fn v3_ipv4_accepts_the_rfc_message_only_checksum_too() {
    for c in captures()
        .iter()
        .filter(|c| c.version == Version::V3 && !c.dst.contains(':'))
    {
        let frame = &support::vrrp_frames(c.file)[0];
        let repr = Repr::parse(
            &Packet::new_checked(&frame.vrrp[..]).unwrap(),
            &rx(c, frame),
        )
        .unwrap();
        let tx = TxContext::new(frame.src, frame.dst).with_checksum(ChecksumMode::MessageOnly);
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut out[..]), &tx)
            .unwrap();
        assert_ne!(out, frame.vrrp, "{}: the two forms differ", c.file);
        let packet = Packet::new_checked(&out[..]).unwrap();
        assert_eq!(
            packet.checksum_form(frame.src, frame.dst),
            Some(ChecksumMode::MessageOnly)
        );
        assert_eq!(
            Repr::parse(&packet, &rx(c, frame)).unwrap(),
            repr,
            "{}",
            c.file
        );
    }
}

#[test]
fn v3_ipv6_rejects_a_message_only_checksum() {
    let c = captures()
        .into_iter()
        .find(|c| c.file == "keepalived-v3v6-n1.pcap")
        .unwrap();
    let frame = &support::vrrp_frames(c.file)[0];
    let mut bytes = frame.vrrp.clone();
    let mut p = Packet::new_unchecked(&mut bytes[..]);
    p.fill_checksum(frame.src, frame.dst, ChecksumMode::PseudoHeader);
    let good = p.checksum();
    // A message-only checksum over the IPv6 message: compute it by hand.
    p.set_checksum(0);
    let sum = bytes
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let folded = (sum & 0xffff) + (sum >> 16);
    let message_only = !(((folded & 0xffff) + (folded >> 16)) as u16);
    assert_ne!(message_only, good);
    Packet::new_unchecked(&mut bytes[..]).set_checksum(message_only);
    assert_eq!(
        Repr::parse(&Packet::new_checked(&bytes[..]).unwrap(), &rx(&c, frame)),
        Err(WireError::BadChecksum)
    );
}

#[test]
fn keepalived_adverts_become_election_adverts() {
    let c = &captures()[1];
    let frames = support::vrrp_frames(c.file);
    let frame = &frames[0];
    let repr = Repr::parse(
        &Packet::new_checked(&frame.vrrp[..]).unwrap(),
        &rx(c, frame),
    )
    .unwrap();
    let mut vips: Vec<Vip> = c
        .addresses
        .iter()
        .rev()
        .map(|a| Vip::host(ip(a), "eth0"))
        .collect();
    let advert = repr.to_advert(frame.src, &vips);
    assert_eq!(advert.from.addr(), ip("10.77.0.11"));
    assert_eq!(advert.priority, Priority::new(200));
    assert_eq!(advert.max_advert_interval, Interval::from_secs(2));
    assert!(!advert.address_mismatch, "order does not matter");
    vips.pop();
    assert!(repr.to_advert(frame.src, &vips).address_mismatch);
    vips.push(Vip::host(ip("10.77.0.103"), "eth0"));
    assert!(repr.to_advert(frame.src, &vips).address_mismatch);
}
