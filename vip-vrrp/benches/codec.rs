//! Codec benchmarks: parse+validate and emit, per packet, for typical 1-address adverts.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vip_core::election::Version;
use vip_core::{Interval, Priority};
use vip_vrrp::wire::{
    AddressFamily, AddressList, Auth, ChecksumMode, Packet, Repr, RxContext, TxContext, VridSet,
};

struct Case {
    name: &'static str,
    repr: Repr,
    tx: TxContext,
    rx: RxContext,
}

fn case(
    name: &'static str,
    version: Version,
    interval: Interval,
    auth: Auth,
    (src, dst): (&str, &str),
    addrs: &[&str],
    mode: ChecksumMode,
) -> Case {
    let src: IpAddr = src.parse().unwrap();
    let dst: IpAddr = dst.parse().unwrap();
    let addrs: Vec<IpAddr> = addrs.iter().map(|a| a.parse().unwrap()).collect();
    let repr = Repr {
        version,
        vrid: 51,
        priority: Priority::new(101),
        max_advert_interval: interval,
        addresses: AddressList::new(AddressFamily::of(src), &addrs).unwrap(),
        auth,
    };
    // A realistic receiver: a few VRIDs configured on the interface.
    let vrids: VridSet = [7u8, 51, 52, 200].into_iter().collect();
    Case {
        name,
        repr,
        tx: TxContext::new(src, dst).with_checksum(mode),
        rx: RxContext::new(version, vrids)
            .with_auth(auth)
            .packet(src, dst, 255),
    }
}

fn cases() -> Vec<Case> {
    let pass = Auth::simple(b"1111").unwrap();
    vec![
        case(
            "v2_pass_ipv4",
            Version::V2,
            Interval::from_secs(1),
            pass,
            ("192.0.2.11", "224.0.0.18"),
            &["192.0.2.100"],
            ChecksumMode::MessageOnly,
        ),
        case(
            "v3_ipv4_pseudo",
            Version::V3,
            Interval::from_centis(100),
            Auth::None,
            ("192.0.2.11", "224.0.0.18"),
            &["192.0.2.100"],
            ChecksumMode::PseudoHeader,
        ),
        case(
            "v3_ipv4_message_only",
            Version::V3,
            Interval::from_centis(100),
            Auth::None,
            ("192.0.2.11", "224.0.0.18"),
            &["192.0.2.100"],
            ChecksumMode::MessageOnly,
        ),
        case(
            "v3_ipv6",
            Version::V3,
            Interval::from_centis(100),
            Auth::None,
            ("fe80::1", "ff02::12"),
            &["2001:db8::100"],
            ChecksumMode::PseudoHeader,
        ),
    ]
}

fn bench_codec(c: &mut Criterion) {
    for case in cases() {
        let mut bytes = vec![0u8; case.repr.buffer_len()];
        case.repr
            .emit(&mut Packet::new_unchecked(&mut bytes[..]), &case.tx)
            .unwrap();
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap(), &case.rx).unwrap(),
            case.repr
        );

        let mut group = c.benchmark_group(case.name);
        group.throughput(Throughput::Elements(1));
        group.bench_function("parse_validate", |b| {
            b.iter(|| {
                let packet = Packet::new_unchecked(black_box(&bytes[..]));
                Repr::parse(&packet, black_box(&case.rx))
            })
        });
        let mut out = [0u8; 64];
        group.bench_function("emit", |b| {
            b.iter(|| {
                let buf = &mut out[..case.repr.buffer_len()];
                black_box(&case.repr).emit(&mut Packet::new_unchecked(buf), black_box(&case.tx))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_codec);
criterion_main!(benches);
