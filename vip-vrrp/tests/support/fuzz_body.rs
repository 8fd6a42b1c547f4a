//! The body of the `parse` fuzz target, shared with the `wire_props` property tests so that it
//! runs on stable too. The first four bytes choose the receive context (and whether to fix the
//! checksum up so that deeper checks are reached); the rest is the packet.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vip_core::election::Version;
use vip_vrrp::wire::{Auth, ChecksumMode, Packet, Repr, RxContext, TxContext, VridSet};

/// Parses `data` under a context derived from its first bytes; whatever parses must re-emit
/// and re-parse to the same `Repr`. Panics only on a codec bug; returns whether it parsed.
pub fn run(data: &[u8]) -> bool {
    let Some((&[flags, ttl, vrid, auth_byte], packet)) = data.split_first_chunk::<4>() else {
        return false;
    };
    let (src, dst) = if flags & 1 == 0 {
        (
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
            IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
        )
    } else {
        (
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
        )
    };
    let version = if flags & 2 == 0 {
        Version::V3
    } else {
        Version::V2
    };
    let vrids = if flags & 4 == 0 {
        VridSet::all()
    } else {
        VridSet::single(vrid)
    };
    let auth = if flags & 8 == 0 {
        Auth::None
    } else {
        Auth::Simple([auth_byte; 8])
    };
    let ttl = if flags & 16 == 0 { 255 } else { ttl };
    let ctx = RxContext::new(version, vrids)
        .with_auth(auth)
        .packet(src, dst, ttl);
    if flags & 32 == 0 || packet.len() < 8 {
        check(packet, &ctx)
    } else {
        // Fix the checksum up first, so that the input reaches the checks after it.
        let mut fixed = packet.to_vec();
        let mode = if flags & 64 == 0 {
            ChecksumMode::PseudoHeader
        } else {
            ChecksumMode::MessageOnly
        };
        Packet::new_unchecked(&mut fixed[..]).fill_checksum(src, dst, mode);
        check(&fixed, &ctx)
    }
}

/// Parses `packet` under `ctx` through both constructors; whatever parses must re-emit to a
/// packet of the same length that parses back to the same `Repr`. Returns whether it parsed.
pub fn check(packet: &[u8], ctx: &RxContext) -> bool {
    let (src, dst) = (ctx.src, ctx.dst);
    // Unchecked view: parse must check lengths itself.
    let unchecked = Repr::parse(&Packet::new_unchecked(packet), ctx);
    let checked = Packet::new_checked(packet);
    if let Ok(p) = &checked {
        // Every accessor is in bounds on a checked packet.
        let _ = (
            p.version(),
            p.kind(),
            p.vrid(),
            p.priority(),
            p.count_addrs(),
        );
        let _ = (
            p.auth_type(),
            p.adver_int(),
            p.max_advert_interval(),
            p.reserved(),
        );
        let _ = (p.checksum(), p.addresses().len(), p.checksum_form(src, dst));
        if p.version() == 2 {
            let _ = p.auth_data();
        }
        assert_eq!(Repr::parse(p, ctx), unchecked);
    } else {
        assert!(unchecked.is_err());
    }
    let Ok(repr) = unchecked else { return false };
    let _ = format!("{repr:?}");
    let form = Packet::new_unchecked(packet)
        .checksum_form(src, dst)
        .unwrap();
    let mut out = vec![0u8; repr.buffer_len()];
    assert_eq!(out.len(), packet.len());
    repr.emit(
        &mut Packet::new_unchecked(&mut out[..]),
        &TxContext::new(src, dst).with_checksum(form),
    )
    .unwrap();
    assert_eq!(
        Repr::parse(&Packet::new_unchecked(&out[..]), ctx).unwrap(),
        repr
    );
    true
}
