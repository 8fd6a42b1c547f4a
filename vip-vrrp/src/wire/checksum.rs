//! The Internet checksum (RFC 1071) over a VRRP message, with or without an IP pseudo-header.

use std::net::IpAddr;

use super::repr::VRRP_PROTOCOL;

/// Adds `data` to a running one's-complement sum. Summing big-endian 32-bit words into a 64-bit
/// accumulator and folding later gives the same result as summing 16-bit words (RFC 1071
/// section 2), with fewer steps. An odd trailing byte is padded with a zero on the right.
#[inline]
pub(crate) fn sum_bytes(mut acc: u64, data: &[u8]) -> u64 {
    // Eight bytes per step, as two 32-bit words; VRRP messages are a few such steps long.
    let (pairs, rest) = data.as_chunks::<8>();
    for p in pairs {
        let v = u64::from_be_bytes(*p);
        acc += (v >> 32) + (v & 0xffff_ffff);
    }
    let (words, rest) = rest.as_chunks::<4>();
    if let Some(w) = words.first() {
        acc += u64::from(u32::from_be_bytes(*w));
    }
    let tail = match *rest {
        [a] => [a, 0, 0, 0],
        [a, b] => [a, b, 0, 0],
        [a, b, c] => [a, b, c, 0],
        _ => [0; 4],
    };
    acc + u64::from(u32::from_be_bytes(tail))
}

/// Folds a running sum to 16 bits (end-around carry).
#[inline]
pub(crate) fn fold(acc: u64) -> u16 {
    // Branch-free: after these four steps any u64 is at most 0xffff (2^33, 0x2ffff, 0x10001,
    // then 0xffff).
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    u16::try_from(acc).unwrap_or(0xffff)
}

/// The one's-complement sum of the IPv4 or IPv6 pseudo-header for a VRRP message of `len`
/// bytes. Mixed families (which callers reject earlier) sum both addresses as given.
#[inline]
pub(crate) fn pseudo_header_sum(src: IpAddr, dst: IpAddr, len: usize) -> u64 {
    let addrs = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => u64::from(s.to_bits()) + u64::from(d.to_bits()),
        (s, d) => addr_sum(s) + addr_sum(d),
    };
    // Both pseudo-header forms end with the protocol and the upper-layer length; the zero
    // padding between them does not change the sum.
    addrs + u64::from(VRRP_PROTOCOL) + len as u64
}

/// The one's-complement contribution of an address (as 32-bit words).
#[inline]
fn addr_sum(addr: IpAddr) -> u64 {
    match addr {
        IpAddr::V4(a) => u64::from(a.to_bits()),
        IpAddr::V6(a) => {
            let b = a.to_bits();
            let (hi, lo) = ((b >> 64) as u64, b as u64);
            (hi >> 32) + (hi & 0xffff_ffff) + (lo >> 32) + (lo & 0xffff_ffff)
        }
    }
}

/// The checksum field value for a message whose running sum (with a zero checksum field) is
/// `acc`.
#[inline]
pub(crate) fn finish(acc: u64) -> u16 {
    !fold(acc)
}

/// True if a running sum over a message including its checksum field verifies.
#[inline]
pub(crate) fn verifies(acc: u64) -> bool {
    // Folding keeps the value modulo 0xffff (0x10000 = 1 mod 0xffff) and never turns a non-zero
    // sum into 0, so the folded sum is 0xffff exactly when the sum is a non-zero multiple of
    // 0xffff. One multiply instead of the folding steps.
    acc != 0 && acc.is_multiple_of(0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: plain 16-bit summation as in RFC 1071.
    fn reference(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for c in data.chunks(2) {
            let hi = u32::from(c[0]) << 8;
            let lo = c.get(1).map_or(0, |&b| u32::from(b));
            acc += hi | lo;
        }
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        !(acc as u16)
    }

    #[test]
    fn matches_16_bit_reference() {
        let data: Vec<u8> = (0u16..61).map(|i| (i * 37 + 11) as u8).collect();
        for n in 0..data.len() {
            assert_eq!(
                finish(sum_bytes(0, &data[..n])),
                reference(&data[..n]),
                "len {n}"
            );
        }
    }

    #[test]
    fn fold_matches_the_end_around_carry_loop() {
        let looped = |mut acc: u64| {
            while acc > 0xffff {
                acc = (acc & 0xffff) + (acc >> 16);
            }
            acc as u16
        };
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for v in [
            0,
            0xffff,
            0x1_0000,
            0x1_ffff,
            0xffff_ffff,
            u64::MAX,
            u64::MAX - 1,
        ] {
            assert_eq!(fold(v), looped(v), "{v:#x}");
        }
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for v in [x, x >> 20, x >> 40] {
                assert_eq!(fold(v), looped(v), "{v:#x}");
            }
        }
    }

    #[test]
    fn verifies_agrees_with_folding() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for v in [
            0u64,
            0xffff,
            0x1_fffe,
            0xfffe,
            0x1_0000,
            u64::MAX,
            0xffff * 0xffff,
        ] {
            assert_eq!(verifies(v), fold(v) == 0xffff, "{v:#x}");
        }
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = x >> 24;
            let on = v - v % 0xffff;
            for v in [v, on, on + 1] {
                assert_eq!(verifies(v), fold(v) == 0xffff, "{v:#x}");
            }
        }
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum_bytes(0, &data)), 0xddf2);
    }
}
