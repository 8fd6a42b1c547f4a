//! Why a VRRP packet was rejected (or could not be emitted).

/// A rejected packet, one variant per check of RFC 9568 section 7.1 (RFC 3768 section 7.1 for
/// v2), plus the emit-side errors. Each variant has a stable label ([`WireError::as_str`]) for
/// metrics counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum WireError {
    /// The buffer is shorter than the fixed VRRP header (8 bytes; 16 for v2, whose
    /// authentication data is always present).
    #[error("truncated VRRP packet")]
    Truncated,
    /// The version field is not the configured version, or the version does not exist on this
    /// address family (v2 over IPv6).
    #[error("bad VRRP version")]
    BadVersion,
    /// The type field is not 1 (ADVERTISEMENT).
    #[error("bad VRRP type (not an advertisement)")]
    BadType,
    /// The IPv4 TTL or IPv6 hop limit is not 255 (the packet was routed).
    #[error("TTL / hop limit is not 255")]
    BadTtl,
    /// The packet length does not match the header, `count_addrs` addresses of the IP family
    /// and (v2) the authentication data.
    #[error("address count does not match the packet length")]
    AddressCountMismatch,
    /// The checksum does not verify (in any accepted form).
    #[error("bad VRRP checksum")]
    BadChecksum,
    /// The VRID is not configured on this interface.
    #[error("VRID not configured")]
    UnknownVrid,
    /// The advertisement interval is zero.
    #[error("zero advertisement interval")]
    ZeroInterval,
    /// v2: the authentication type or the simple-text password differs from the configured one.
    #[error("authentication mismatch")]
    AuthMismatch,
    /// The IP source and destination, the addresses or the context are of different families.
    #[error("address family mismatch")]
    FamilyMismatch,
    /// Emit: the interval cannot be carried (v2: not whole seconds or over 255 s; v3: over
    /// 4095 cs).
    #[error("interval not representable in this VRRP version")]
    IntervalNotRepresentable,
    /// Emit: more than 255 addresses.
    #[error("too many addresses (at most 255)")]
    TooManyAddresses,
    /// Emit: v3 carries no authentication, but one was given.
    #[error("authentication is not allowed in VRRPv3")]
    AuthNotAllowed,
    /// Emit: the output buffer is shorter than [`crate::wire::Repr::buffer_len`].
    #[error("buffer too short for the VRRP packet")]
    BufferTooShort,
}

impl WireError {
    /// Every variant, in declaration order (handy for pre-registering metrics).
    pub const ALL: [WireError; 14] = [
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
        WireError::IntervalNotRepresentable,
        WireError::TooManyAddresses,
        WireError::AuthNotAllowed,
        WireError::BufferTooShort,
    ];

    /// A stable snake_case label, for metrics counters and structured logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            WireError::Truncated => "truncated",
            WireError::BadVersion => "bad_version",
            WireError::BadType => "bad_type",
            WireError::BadTtl => "bad_ttl",
            WireError::AddressCountMismatch => "address_count_mismatch",
            WireError::BadChecksum => "bad_checksum",
            WireError::UnknownVrid => "unknown_vrid",
            WireError::ZeroInterval => "zero_interval",
            WireError::AuthMismatch => "auth_mismatch",
            WireError::FamilyMismatch => "family_mismatch",
            WireError::IntervalNotRepresentable => "interval_not_representable",
            WireError::TooManyAddresses => "too_many_addresses",
            WireError::AuthNotAllowed => "auth_not_allowed",
            WireError::BufferTooShort => "buffer_too_short",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct() {
        let mut labels: Vec<_> = WireError::ALL.iter().map(|e| e.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), WireError::ALL.len());
    }
}
