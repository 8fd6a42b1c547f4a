//! Properties of the codec: emit-then-parse is the identity for arbitrary valid `Repr`s (v2 and
//! v3, IPv4 and IPv6, both checksum modes), and no input makes parsing panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use vip_core::election::Version;
use vip_core::{Interval, Priority};
use vip_vrrp::wire::{
    AddressFamily, AddressList, Auth, ChecksumMode, Packet, Repr, RxContext, TxContext, VridSet,
};

/// A valid advert with its send context.
#[derive(Debug, Clone)]
struct Case {
    repr: Repr,
    tx: TxContext,
}

fn v4() -> impl Strategy<Value = IpAddr> {
    any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a)))
}

fn v6() -> impl Strategy<Value = IpAddr> {
    any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a)))
}

fn mode() -> impl Strategy<Value = ChecksumMode> {
    prop_oneof![
        Just(ChecksumMode::PseudoHeader),
        Just(ChecksumMode::MessageOnly)
    ]
}

/// Up to 20 addresses, so both inline storage and the heap spill are covered.
fn case() -> impl Strategy<Value = Case> {
    let v2 = (
        any::<u8>(),
        any::<u8>(),
        1u32..=255,
        prop::collection::vec(v4(), 0..=20),
        prop_oneof![Just(Auth::None), any::<[u8; 8]>().prop_map(Auth::Simple)],
        (v4(), v4(), mode()),
    )
        .prop_map(|(vrid, prio, secs, addrs, auth, (src, dst, mode))| Case {
            repr: Repr {
                version: Version::V2,
                vrid,
                priority: Priority::new(prio),
                max_advert_interval: Interval::from_secs(secs),
                addresses: AddressList::new(AddressFamily::Ipv4, &addrs).unwrap(),
                auth,
            },
            tx: TxContext::new(src, dst).with_checksum(mode),
        });
    let v3 = (
        any::<u8>(),
        any::<u8>(),
        1u32..=4095,
        prop_oneof![
            (prop::collection::vec(v4(), 0..=20), v4(), v4()),
            (prop::collection::vec(v6(), 0..=6), v6(), v6()),
        ],
        mode(),
    )
        .prop_map(|(vrid, prio, centis, (addrs, src, dst), mode)| Case {
            repr: Repr {
                version: Version::V3,
                vrid,
                priority: Priority::new(prio),
                max_advert_interval: Interval::from_centis(centis),
                addresses: AddressList::new(AddressFamily::of(src), &addrs).unwrap(),
                auth: Auth::None,
            },
            tx: TxContext::new(src, dst).with_checksum(mode),
        });
    prop_oneof![v2, v3]
}

fn rx_for(case: &Case) -> RxContext {
    RxContext::new(case.repr.version, VridSet::single(case.repr.vrid))
        .with_auth(case.repr.auth)
        .packet(case.tx.src, case.tx.dst, 255)
}

fn emit(case: &Case) -> Vec<u8> {
    let mut out = vec![0u8; case.repr.buffer_len()];
    case.repr
        .emit(&mut Packet::new_unchecked(&mut out[..]), &case.tx)
        .unwrap();
    out
}

#[test]
fn fuzz_body_reaches_the_success_path() {
    // A keepalived v3 frame behind a context prefix: v3, IPv4, any VRID, no auth, TTL 255, and
    // "fix the checksum up" (the body's own addresses differ from the capture's).
    let frame = &support::vrrp_frames("keepalived-v3-n1.pcap")[0];
    let mut input = vec![32u8, 0, 0, 0];
    input.extend_from_slice(&frame.vrrp);
    assert!(support::fuzz_body::run(&input));
    input[0] = 32 | 64; // message-only fix-up: also accepted for v3 over IPv4
    assert!(support::fuzz_body::run(&input));
    input[0] = 32 | 2; // the same frame against a v2 configuration
    assert!(!support::fuzz_body::run(&input));
    let frame = &support::vrrp_frames("keepalived-v2-n1.pcap")[0];
    let mut input = vec![2 | 8 | 32, 0, 0, b'1'];
    input.extend_from_slice(&frame.vrrp);
    assert!(
        !support::fuzz_body::run(&input),
        "password 11111111 is not 1111"
    );
}

proptest! {
    #[test]
    fn emit_then_parse_is_identity(case in case()) {
        let bytes = emit(&case);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(Repr::parse(&packet, &rx_for(&case)), Ok(case.repr.clone()));
        // The checksum verifies in the form that was asked for (when the two v3/IPv4 forms
        // coincide, which happens for one pseudo-header sum in 65535, either answer is right).
        let form = packet.checksum_form(case.tx.src, case.tx.dst);
        let expected = match (case.repr.version, case.repr.addresses.family()) {
            (Version::V2, _) => ChecksumMode::MessageOnly,
            (Version::V3, AddressFamily::Ipv6) => ChecksumMode::PseudoHeader,
            (Version::V3, AddressFamily::Ipv4) => case.tx.checksum,
        };
        prop_assert!(form == Some(expected) || form.is_some() && expected == ChecksumMode::PseudoHeader);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..96)) {
        let _ = support::fuzz_body::run(&data);
    }

    #[test]
    fn mutated_valid_packets_never_panic(case in case(), at in any::<prop::sample::Index>(), byte in any::<u8>(), flags in any::<u8>()) {
        // Near-valid input reaches the deep checks that random bytes rarely pass.
        let mut bytes = emit(&case);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if flags & 4 == 4 {
            // Fix the checksum up, so the mutation meets the checks after it.
            Packet::new_unchecked(&mut bytes[..]).fill_checksum(case.tx.src, case.tx.dst, case.tx.checksum);
        }
        if flags & 8 == 8 {
            bytes.truncate(usize::from(flags >> 4) * 4);
        }
        let mut ctx = rx_for(&case);
        if flags & 1 == 1 {
            ctx.ttl = flags;
        }
        if flags & 2 == 2 {
            ctx.vrids = VridSet::all();
        }
        let _ = support::fuzz_body::check(&bytes, &ctx);
    }
}
