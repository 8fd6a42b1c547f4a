//! Every rejection of RFC 9568 section 7.1 (RFC 3768 section 7.1 for v2), and every emit
//! error, produced by a crafted packet. Table-driven: each row starts from a valid advert,
//! changes one thing, refreshes the checksum (unless the checksum is the point), and names the
//! `WireError` it must produce.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::IpAddr;

use vip_core::election::Version;
use vip_core::{Interval, Priority};
use vip_vrrp::wire::{
    AddressFamily, AddressList, Auth, ChecksumMode, Packet, Repr, RxContext, TxContext, VridSet,
    WireError,
};

#[derive(Clone, Copy, Debug)]
enum Base {
    V2,
    V3v4,
    V3v6,
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn endpoints(base: Base) -> (IpAddr, IpAddr) {
    match base {
        Base::V2 | Base::V3v4 => (ip("198.51.100.11"), ip("224.0.0.18")),
        Base::V3v6 => (ip("fe80::11"), ip("ff02::12")),
    }
}

fn repr(base: Base) -> Repr {
    let (src, _) = endpoints(base);
    let (version, interval, auth, addr) = match base {
        Base::V2 => (
            Version::V2,
            Interval::from_secs(1),
            Auth::simple(b"1111").unwrap(),
            "198.51.100.100",
        ),
        Base::V3v4 => (
            Version::V3,
            Interval::from_centis(100),
            Auth::None,
            "198.51.100.100",
        ),
        Base::V3v6 => (
            Version::V3,
            Interval::from_centis(100),
            Auth::None,
            "2001:db8::100",
        ),
    };
    Repr {
        version,
        vrid: 51,
        priority: Priority::new(100),
        max_advert_interval: interval,
        addresses: AddressList::new(AddressFamily::of(src), &[ip(addr)]).unwrap(),
        auth,
    }
}

fn rx(base: Base) -> RxContext {
    let (src, dst) = endpoints(base);
    let r = repr(base);
    RxContext::new(r.version, VridSet::single(51))
        .with_auth(r.auth)
        .packet(src, dst, 255)
}

fn bytes(base: Base) -> Vec<u8> {
    let (src, dst) = endpoints(base);
    let r = repr(base);
    let mut out = vec![0u8; r.buffer_len()];
    r.emit(
        &mut Packet::new_unchecked(&mut out[..]),
        &TxContext::new(src, dst),
    )
    .unwrap();
    out
}

/// Re-computes the checksum in the form the base uses.
fn refill(base: Base, b: &mut [u8]) {
    let (src, dst) = endpoints(base);
    Packet::new_unchecked(b).fill_checksum(src, dst, ChecksumMode::PseudoHeader);
}

struct Row {
    name: &'static str,
    base: Base,
    edit: fn(&mut Vec<u8>),
    ctx: fn(&mut RxContext),
    refill: bool,
    expect: WireError,
}

fn none(_: &mut Vec<u8>) {}
fn same(_: &mut RxContext) {}

fn rows() -> Vec<Row> {
    let row = |name, base, edit, ctx, refill, expect| Row {
        name,
        base,
        edit,
        ctx,
        refill,
        expect,
    };
    vec![
        row(
            "empty buffer",
            Base::V3v4,
            |b| b.clear(),
            same,
            false,
            WireError::Truncated,
        ),
        row(
            "7 bytes",
            Base::V3v4,
            |b| b.truncate(7),
            same,
            false,
            WireError::Truncated,
        ),
        row(
            "v2 without auth data",
            Base::V2,
            |b| b.truncate(15),
            same,
            false,
            WireError::Truncated,
        ),
        row(
            "version 4",
            Base::V3v4,
            |b| b[0] = 0x41,
            same,
            true,
            WireError::BadVersion,
        ),
        row(
            "version 0",
            Base::V3v6,
            |b| b[0] = 0x01,
            same,
            true,
            WireError::BadVersion,
        ),
        row(
            "v2 packet, v3 configured",
            Base::V2,
            none,
            |c| c.version = Version::V3,
            false,
            WireError::BadVersion,
        ),
        row(
            "v3 packet, v2 configured",
            Base::V3v4,
            none,
            |c| c.version = Version::V2,
            false,
            WireError::BadVersion,
        ),
        row(
            "v2 over IPv6",
            Base::V3v6,
            |b| b[0] = 0x21,
            |c| c.version = Version::V2,
            true,
            WireError::BadVersion,
        ),
        row(
            "type 0",
            Base::V3v4,
            |b| b[0] = 0x30,
            same,
            true,
            WireError::BadType,
        ),
        row(
            "type 2",
            Base::V2,
            |b| b[0] = 0x22,
            same,
            true,
            WireError::BadType,
        ),
        row(
            "TTL 254",
            Base::V3v4,
            none,
            |c| c.ttl = 254,
            false,
            WireError::BadTtl,
        ),
        row(
            "hop limit 1",
            Base::V3v6,
            none,
            |c| c.ttl = 1,
            false,
            WireError::BadTtl,
        ),
        row(
            "count 2, one address",
            Base::V3v4,
            |b| b[3] = 2,
            same,
            true,
            WireError::AddressCountMismatch,
        ),
        row(
            "count 0, one address",
            Base::V3v6,
            |b| b[3] = 0,
            same,
            true,
            WireError::AddressCountMismatch,
        ),
        row(
            "trailing bytes",
            Base::V3v4,
            |b| b.extend_from_slice(&[0, 0, 0, 0]),
            same,
            true,
            WireError::AddressCountMismatch,
        ),
        row(
            "IPv4-sized address over IPv6",
            Base::V3v6,
            |b| b.truncate(12),
            same,
            true,
            WireError::AddressCountMismatch,
        ),
        row(
            "v2 count beyond buffer",
            Base::V2,
            |b| b[3] = 3,
            same,
            true,
            WireError::AddressCountMismatch,
        ),
        row(
            "v2 trailing bytes",
            Base::V2,
            |b| b.extend_from_slice(&[0, 0]),
            same,
            true,
            WireError::AddressCountMismatch,
        ),
        row(
            "flipped address bit",
            Base::V3v4,
            |b| b[9] ^= 1,
            same,
            false,
            WireError::BadChecksum,
        ),
        row(
            "flipped checksum",
            Base::V2,
            |b| b[7] ^= 0x80,
            same,
            false,
            WireError::BadChecksum,
        ),
        row(
            "v6 pseudo-header src differs",
            Base::V3v6,
            none,
            |c| c.src = ip("fe80::12"),
            false,
            WireError::BadChecksum,
        ),
        row(
            "v4 pseudo-header dst differs",
            Base::V3v4,
            none,
            |c| c.dst = ip("224.0.0.19"),
            false,
            WireError::BadChecksum,
        ),
        row(
            "VRID 52 not configured",
            Base::V3v4,
            |b| b[1] = 52,
            same,
            true,
            WireError::UnknownVrid,
        ),
        row(
            "no VRID configured",
            Base::V2,
            none,
            |c| c.vrids = VridSet::new(),
            false,
            WireError::UnknownVrid,
        ),
        row(
            "v3 interval 0",
            Base::V3v4,
            |b| {
                b[4] = 0xf0;
                b[5] = 0
            },
            same,
            true,
            WireError::ZeroInterval,
        ),
        row(
            "v2 interval 0",
            Base::V2,
            |b| b[5] = 0,
            same,
            true,
            WireError::ZeroInterval,
        ),
        row(
            "wrong password",
            Base::V2,
            |b| b[12] = b'2',
            same,
            true,
            WireError::AuthMismatch,
        ),
        row(
            "no auth, PASS configured",
            Base::V2,
            |b| b[4] = 0,
            same,
            true,
            WireError::AuthMismatch,
        ),
        row(
            "PASS, none configured",
            Base::V2,
            none,
            |c| c.auth = Auth::None,
            false,
            WireError::AuthMismatch,
        ),
        row(
            "IP AH auth type",
            Base::V2,
            |b| b[4] = 2,
            same,
            true,
            WireError::AuthMismatch,
        ),
        row(
            "IPv4 source, IPv6 destination",
            Base::V3v4,
            none,
            |c| c.dst = ip("ff02::12"),
            false,
            WireError::FamilyMismatch,
        ),
    ]
}

#[test]
fn each_crafted_packet_is_rejected_with_its_error() {
    let mut seen = BTreeSet::new();
    for row in rows() {
        let mut b = bytes(row.base);
        let mut ctx = rx(row.base);
        // The unmodified packet is valid: the row's change is what gets it rejected.
        assert!(
            Repr::parse(&Packet::new_unchecked(&b[..]), &ctx).is_ok(),
            "{}",
            row.name
        );
        (row.edit)(&mut b);
        if row.refill {
            refill(row.base, &mut b);
        }
        (row.ctx)(&mut ctx);
        let got = Repr::parse(&Packet::new_unchecked(&b[..]), &ctx);
        assert_eq!(got, Err(row.expect), "{}", row.name);
        seen.insert(row.expect.as_str());
    }
    for e in [
        WireError::Truncated,
        WireError::BadVersion,
        WireError::BadType,
        WireError::BadTtl,
        WireError::AddressCountMismatch,
        WireError::BadChecksum,
        WireError::UnknownVrid,
        WireError::ZeroInterval,
        WireError::AuthMismatch,
        WireError::FamilyMismatch,
    ] {
        assert!(seen.contains(e.as_str()), "no row produces {e:?}");
    }
}

#[test]
fn reserved_bits_are_ignored_on_receipt() {
    let mut b = bytes(Base::V3v4);
    b[4] |= 0xf0;
    refill(Base::V3v4, &mut b);
    assert_eq!(
        Repr::parse(&Packet::new_unchecked(&b[..]), &rx(Base::V3v4)),
        Ok(repr(Base::V3v4))
    );
}

#[test]
fn v2_no_auth_ignores_auth_data() {
    let mut r = repr(Base::V2);
    r.auth = Auth::None;
    let (src, dst) = endpoints(Base::V2);
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(
        &mut Packet::new_unchecked(&mut b[..]),
        &TxContext::new(src, dst),
    )
    .unwrap();
    assert_eq!(&b[12..], &[0; 8], "type 0 sends zeros");
    b[12] = 0xaa;
    refill(Base::V2, &mut b);
    let ctx = rx(Base::V2).with_auth(Auth::None);
    assert_eq!(Repr::parse(&Packet::new_unchecked(&b[..]), &ctx), Ok(r));
}

#[test]
fn emit_errors() {
    let v4 = endpoints(Base::V3v4);
    let v6 = endpoints(Base::V3v6);
    let tx4 = TxContext::new(v4.0, v4.1);
    let tx6 = TxContext::new(v6.0, v6.1);
    let emit = |r: &Repr, tx: &TxContext, len: usize| {
        let mut buf = vec![0u8; len];
        r.emit(&mut Packet::new_unchecked(&mut buf[..]), tx)
    };
    let with = |base, f: fn(&mut Repr)| {
        let mut r = repr(base);
        f(&mut r);
        r
    };
    let table: Vec<(&str, Repr, TxContext, WireError)> = vec![
        (
            "v4 addresses to IPv6",
            repr(Base::V3v4),
            tx6,
            WireError::FamilyMismatch,
        ),
        (
            "mixed src/dst",
            repr(Base::V3v4),
            TxContext::new(v4.0, v6.1),
            WireError::FamilyMismatch,
        ),
        (
            "v2 over IPv6",
            with(Base::V3v6, |r| r.version = Version::V2),
            tx6,
            WireError::BadVersion,
        ),
        (
            "v2 1.5 s",
            with(Base::V2, |r| {
                r.max_advert_interval = Interval::from_centis(150)
            }),
            tx4,
            WireError::IntervalNotRepresentable,
        ),
        (
            "v2 256 s",
            with(Base::V2, |r| {
                r.max_advert_interval = Interval::from_secs(256)
            }),
            tx4,
            WireError::IntervalNotRepresentable,
        ),
        (
            "v3 4096 cs",
            with(Base::V3v4, |r| {
                r.max_advert_interval = Interval::from_centis(4096)
            }),
            tx4,
            WireError::IntervalNotRepresentable,
        ),
        (
            "zero interval",
            with(Base::V3v6, |r| {
                r.max_advert_interval = Interval::from_centis(0)
            }),
            tx6,
            WireError::ZeroInterval,
        ),
        (
            "v3 with PASS",
            with(Base::V3v4, |r| r.auth = Auth::simple(b"x").unwrap()),
            tx4,
            WireError::AuthNotAllowed,
        ),
    ];
    for (name, r, tx, expect) in table {
        assert_eq!(emit(&r, &tx, 64), Err(expect), "{name}");
    }
    let r = repr(Base::V2);
    assert_eq!(
        emit(&r, &tx4, r.buffer_len() - 1),
        Err(WireError::BufferTooShort)
    );
    assert_eq!(emit(&r, &tx4, 0), Err(WireError::BufferTooShort));
    assert_eq!(emit(&r, &tx4, r.buffer_len()), Ok(()));
    // 4095 cs is the largest v3 interval, 255 s the largest v2 one.
    assert_eq!(
        emit(
            &with(Base::V3v4, |r| r.max_advert_interval = Interval::MAX_V3),
            &tx4,
            64
        ),
        Ok(())
    );
    assert_eq!(
        emit(
            &with(Base::V2, |r| r.max_advert_interval =
                Interval::from_secs(255)),
            &tx4,
            64
        ),
        Ok(())
    );
    // More than 255 addresses cannot even be listed.
    let mut list = AddressList::empty(AddressFamily::Ipv4);
    for i in 0..255u32 {
        list.push(IpAddr::from((0xc633_6400u32 + i).to_be_bytes()))
            .unwrap();
    }
    assert_eq!(
        list.push(ip("203.0.113.255")),
        Err(WireError::TooManyAddresses)
    );
}
