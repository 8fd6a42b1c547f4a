//! [`Repr`]: a validated VRRP advertisement, parsed from and emitted to a [`Packet`].

use vip_core::election::Version;
use vip_core::{Interval, Priority};

use super::checksum;
use super::packet::field;
use super::{
    AddressFamily, AddressList, Auth, ChecksumMode, Packet, RxContext, TxContext, WireError,
};

/// The IP protocol number of VRRP.
pub const VRRP_PROTOCOL: u8 = 112;
/// The TTL / hop limit VRRP packets are sent with and must arrive with.
pub const VRRP_TTL: u8 = 255;
/// The only VRRP message type: ADVERTISEMENT.
pub const VRRP_TYPE_ADVERTISEMENT: u8 = 1;

/// A validated VRRP advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr {
    /// VRRP version (2: RFC 3768, 3: RFC 9568).
    pub version: Version,
    /// Virtual router id.
    pub vrid: u8,
    /// Priority (0: the master releases).
    pub priority: Priority,
    /// Max Advertise Interval in centiseconds. v2 carries whole seconds (1..=255 s), v3
    /// 1..=4095 cs.
    pub max_advert_interval: Interval,
    /// The virtual addresses, all of the IP family the packet travels in.
    pub addresses: AddressList,
    /// v2 authentication; always [`Auth::None`] for v3.
    pub auth: Auth,
}

const fn version_code(version: Version) -> u8 {
    match version {
        Version::V2 => 2,
        Version::V3 => 3,
    }
}

impl Repr {
    /// Parses and validates a received packet (RFC 9568 section 7.1, RFC 3768 section 7.1).
    ///
    /// Checks, in order: length of the fixed header, IP family of source and destination, TTL,
    /// version, type, length against the address count, checksum, VRID, interval, and (v2)
    /// authentication. v3 over IPv4 accepts both checksum forms. Never panics, never allocates
    /// for up to [`AddressList::INLINE`] addresses.
    ///
    /// # Errors
    /// The [`WireError`] of the first failed check.
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
        ctx: &RxContext,
    ) -> Result<Repr, WireError> {
        packet.check_len()?;
        let data = packet.as_bytes();
        let Some(&[ver_type, vrid, priority, count, b4, b5, _, _]) = data.first_chunk::<8>() else {
            return Err(WireError::Truncated);
        };
        let family = AddressFamily::of(ctx.src);
        if AddressFamily::of(ctx.dst) != family {
            return Err(WireError::FamilyMismatch);
        }
        if ctx.ttl != VRRP_TTL {
            return Err(WireError::BadTtl);
        }
        let version = match ver_type >> 4 {
            2 if family == AddressFamily::Ipv4 => Version::V2,
            3 => Version::V3,
            _ => return Err(WireError::BadVersion),
        };
        if version != ctx.version {
            return Err(WireError::BadVersion);
        }
        if ver_type & 0x0f != VRRP_TYPE_ADVERTISEMENT {
            return Err(WireError::BadType);
        }
        let addr_len = usize::from(count) * family.addr_len();
        let trailer = if version == Version::V2 {
            field::AUTH_DATA_LEN
        } else {
            0
        };
        if data.len() != field::HEADER_LEN + addr_len + trailer {
            return Err(WireError::AddressCountMismatch);
        }
        if !checksum_verifies(data, version, family, ctx) {
            return Err(WireError::BadChecksum);
        }
        if !ctx.vrids.contains(vrid) {
            return Err(WireError::UnknownVrid);
        }
        let (max_advert_interval, auth) = match version {
            Version::V2 => {
                let auth_data = data
                    .get(field::HEADER_LEN + addr_len..)
                    .and_then(|d| d.first_chunk::<8>())
                    .copied()
                    .unwrap_or_default();
                (
                    Interval::from_secs(u32::from(b5)),
                    Auth::from_wire(b4, auth_data)?,
                )
            }
            Version::V3 => {
                let centis = u16::from_be_bytes([b4, b5]) & 0x0fff;
                (Interval::from_centis(u32::from(centis)), Auth::None)
            }
        };
        if max_advert_interval.is_zero() {
            return Err(WireError::ZeroInterval);
        }
        if version == Version::V2 && !auth_matches(&auth, &ctx.auth) {
            return Err(WireError::AuthMismatch);
        }
        let addresses = data
            .get(field::HEADER_LEN..field::HEADER_LEN + addr_len)
            .unwrap_or(&[]);
        // Built in place and filled afterwards: fewer copies of the inline address slots.
        let mut repr = Repr {
            version,
            vrid,
            priority: Priority::new(priority),
            max_advert_interval,
            addresses: AddressList::empty(family),
            auth,
        };
        repr.addresses.fill_from_wire(addresses, count);
        Ok(repr)
    }

    /// The length of the emitted message in bytes.
    pub fn buffer_len(&self) -> usize {
        let trailer = if self.version == Version::V2 {
            field::AUTH_DATA_LEN
        } else {
            0
        };
        field::HEADER_LEN + self.addresses.wire_len() + trailer
    }

    /// Writes this advert into the first [`Repr::buffer_len`] bytes of `packet`, checksum
    /// included. Send exactly those bytes.
    ///
    /// # Errors
    /// - [`WireError::FamilyMismatch`]: the addresses, source and destination are not all of
    ///   one family;
    /// - [`WireError::BadVersion`]: v2 over IPv6;
    /// - [`WireError::ZeroInterval`], [`WireError::IntervalNotRepresentable`]: v2 needs whole
    ///   seconds in 1..=255, v3 1..=4095 cs;
    /// - [`WireError::AuthNotAllowed`]: v3 with authentication;
    /// - [`WireError::BufferTooShort`]: the buffer is shorter than [`Repr::buffer_len`].
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut Packet<&mut T>,
        ctx: &TxContext,
    ) -> Result<(), WireError> {
        let family = self.addresses.family();
        if AddressFamily::of(ctx.src) != family || AddressFamily::of(ctx.dst) != family {
            return Err(WireError::FamilyMismatch);
        }
        let count = u8::try_from(self.addresses.len()).map_err(|_| WireError::TooManyAddresses)?;
        let interval = self.wire_interval()?;
        let len = self.buffer_len();
        let Some(buffer) = packet.buffer_mut().get_mut(..len) else {
            return Err(WireError::BufferTooShort);
        };
        // One straight-line pass: header, addresses, (v2) auth data, then the checksum over
        // the bytes just written.
        let [hi, lo] = interval.to_be_bytes();
        let (b4, b5) = match self.version {
            Version::V2 => (self.auth.type_code(), lo),
            Version::V3 => (hi & 0x0f, lo),
        };
        let ver_type = (version_code(self.version) << 4) | VRRP_TYPE_ADVERTISEMENT;
        let header = [
            ver_type,
            self.vrid,
            self.priority.get(),
            count,
            b4,
            b5,
            0,
            0,
        ];
        let (head, rest) = buffer.split_at_mut(field::HEADER_LEN.min(len));
        let Some(head) = head.first_chunk_mut::<{ field::HEADER_LEN }>() else {
            return Err(WireError::BufferTooShort);
        };
        *head = header;
        let written = self
            .addresses
            .write_wire(rest)
            .ok_or(WireError::BufferTooShort)?;
        if self.version == Version::V2 {
            let auth = rest
                .get_mut(written..)
                .and_then(|r| r.first_chunk_mut::<{ field::AUTH_DATA_LEN }>())
                .ok_or(WireError::BufferTooShort)?;
            *auth = self.auth.data();
        }
        let mut sum = checksum::sum_bytes(0, buffer);
        let pseudo = match (self.version, family) {
            (Version::V2, _) => false,
            (Version::V3, AddressFamily::Ipv6) => true,
            (Version::V3, AddressFamily::Ipv4) => ctx.checksum == ChecksumMode::PseudoHeader,
        };
        if pseudo {
            sum += checksum::pseudo_header_sum(ctx.src, ctx.dst, len);
        }
        if let Some(c) = buffer.get_mut(field::CHECKSUM) {
            c.copy_from_slice(&checksum::finish(sum).to_be_bytes());
        }
        Ok(())
    }
}

impl Repr {
    /// Validates the version-specific fields for emission and returns the raw interval field:
    /// seconds for v2, centiseconds for v3.
    #[inline]
    fn wire_interval(&self) -> Result<u16, WireError> {
        let centis = self.max_advert_interval.as_centis();
        if centis == 0 {
            return Err(WireError::ZeroInterval);
        }
        match self.version {
            Version::V2 => {
                if self.addresses.family() != AddressFamily::Ipv4 {
                    return Err(WireError::BadVersion);
                }
                self.max_advert_interval
                    .as_whole_secs()
                    .filter(|&s| s <= u32::from(u8::MAX))
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or(WireError::IntervalNotRepresentable)
            }
            Version::V3 => {
                if self.auth != Auth::None {
                    return Err(WireError::AuthNotAllowed);
                }
                u16::try_from(centis)
                    .ok()
                    .filter(|&c| c <= 0x0fff)
                    .ok_or(WireError::IntervalNotRepresentable)
            }
        }
    }
}

/// Whether the checksum of `data` verifies in a form accepted for `version` over `family`
/// (the same rule as [`Packet::checksum_form`], with the message summed once).
#[inline]
fn checksum_verifies(
    data: &[u8],
    version: Version,
    family: AddressFamily,
    ctx: &RxContext,
) -> bool {
    let sum = checksum::sum_bytes(0, data);
    let with_pseudo =
        || checksum::verifies(sum + checksum::pseudo_header_sum(ctx.src, ctx.dst, data.len()));
    match (version, family) {
        (Version::V2, _) => checksum::verifies(sum),
        (Version::V3, AddressFamily::Ipv6) => with_pseudo(),
        (Version::V3, AddressFamily::Ipv4) => checksum::verifies(sum) || with_pseudo(),
    }
}

/// v2 authentication check (RFC 3768 section 7.1): the type must be the configured one, and a
/// simple-text password must match byte for byte. Type 0 ignores the data.
fn auth_matches(received: &Auth, configured: &Auth) -> bool {
    match (received, configured) {
        (Auth::None, Auth::None) => true,
        (Auth::Simple(a), Auth::Simple(b)) => a == b,
        _ => false,
    }
}
