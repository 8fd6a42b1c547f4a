//! The Internet checksum (RFC 1071) over a VRRP message, with or without an IP pseudo-header.

use std::net::IpAddr;

use super::repr::VRRP_PROTOCOL;

/// Adds `data` to a running one's-complement sum. Summing big-endian 32-bit words into a 64-bit
/// accumulator and folding later gives the same result as summing 16-bit words (RFC 1071
/// section 2), with fewer steps. An odd trailing byte is padded with a zero on the right.
pub(crate) fn sum_bytes(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut tail = [0u8; 4];
    if let Some(dst) = tail.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    acc + u64::from(u32::from_be_bytes(tail))
}

/// Folds a running sum to 16 bits (end-around carry).
pub(crate) fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves acc <= 0xffff.
    u16::try_from(acc).unwrap_or(0xffff)
}

/// The one's-complement sum of the IPv4 or IPv6 pseudo-header for a VRRP message of `len`
/// bytes. Mixed families (which callers reject earlier) sum both addresses as given.
pub(crate) fn pseudo_header_sum(src: IpAddr, dst: IpAddr, len: usize) -> u64 {
    let mut acc = 0u64;
    for addr in [src, dst] {
        acc = match addr {
            IpAddr::V4(a) => acc + u64::from(a.to_bits()),
            IpAddr::V6(a) => {
                let b = a.to_bits();
                acc + (b as u64 & 0xffff_ffff)
                    + ((b >> 32) as u64 & 0xffff_ffff)
                    + ((b >> 64) as u64 & 0xffff_ffff)
                    + ((b >> 96) as u64 & 0xffff_ffff)
            }
        };
    }
    // Both pseudo-header forms end with the protocol and the upper-layer length; the zero
    // padding between them does not change the sum.
    acc + u64::from(VRRP_PROTOCOL) + len as u64
}

/// The checksum field value for a message whose running sum (with a zero checksum field) is
/// `acc`.
pub(crate) fn finish(acc: u64) -> u16 {
    !fold(acc)
}

/// True if a running sum over a message including its checksum field verifies.
pub(crate) fn verifies(acc: u64) -> bool {
    fold(acc) == 0xffff
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
    fn rfc1071_example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum_bytes(0, &data)), 0xddf2);
    }
}
