//! [`Repr`]: a validated VRRP advertisement, parsed from and emitted to a [`Packet`].

use vip_core::election::Version;
use vip_core::{Interval, Priority};

use super::packet::field;
use super::{AddressFamily, AddressList, Auth, Packet, RxContext, TxContext, WireError};

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
    /// for up to [`AddressList::INLINE_BYTES`] bytes of addresses.
    ///
    /// # Errors
    /// The [`WireError`] of the first failed check.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
        ctx: &RxContext,
    ) -> Result<Repr, WireError> {
        packet.check_len()?;
        let family = AddressFamily::of(ctx.src);
        if AddressFamily::of(ctx.dst) != family {
            return Err(WireError::FamilyMismatch);
        }
        if ctx.ttl != VRRP_TTL {
            return Err(WireError::BadTtl);
        }
        let version = match packet.version() {
            2 if family == AddressFamily::Ipv4 => Version::V2,
            3 => Version::V3,
            _ => return Err(WireError::BadVersion),
        };
        if version != ctx.version {
            return Err(WireError::BadVersion);
        }
        if packet.kind() != VRRP_TYPE_ADVERTISEMENT {
            return Err(WireError::BadType);
        }
        let count = usize::from(packet.count_addrs());
        let trailer = if version == Version::V2 {
            field::AUTH_DATA_LEN
        } else {
            0
        };
        let expected = field::HEADER_LEN + count * family.addr_len() + trailer;
        if packet.as_bytes().len() != expected {
            return Err(WireError::AddressCountMismatch);
        }
        if packet.checksum_form(ctx.src, ctx.dst).is_none() {
            return Err(WireError::BadChecksum);
        }
        if !ctx.vrids.contains(packet.vrid()) {
            return Err(WireError::UnknownVrid);
        }
        let (max_advert_interval, auth) = match version {
            Version::V2 => {
                let auth = Auth::from_wire(packet.auth_type(), packet.auth_data())?;
                (Interval::from_secs(u32::from(packet.adver_int())), auth)
            }
            Version::V3 => (
                Interval::from_centis(u32::from(packet.max_advert_interval())),
                Auth::None,
            ),
        };
        if max_advert_interval.is_zero() {
            return Err(WireError::ZeroInterval);
        }
        if version == Version::V2 && !auth_matches(&auth, &ctx.auth) {
            return Err(WireError::AuthMismatch);
        }
        Ok(Repr {
            version,
            vrid: packet.vrid(),
            priority: Priority::new(packet.priority()),
            max_advert_interval,
            addresses: AddressList::from_bytes(family, packet.addresses())?,
            auth,
        })
    }

    /// The length of the emitted message in bytes.
    pub fn buffer_len(&self) -> usize {
        let trailer = if self.version == Version::V2 {
            field::AUTH_DATA_LEN
        } else {
            0
        };
        field::HEADER_LEN + self.addresses.as_bytes().len() + trailer
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
        let mut out = Packet::new_unchecked(buffer);
        // len >= HEADER_LEN (+ AUTH_DATA_LEN for v2), so every setter below is in bounds.
        out.set_version_and_kind(version_code(self.version), VRRP_TYPE_ADVERTISEMENT);
        out.set_vrid(self.vrid);
        out.set_priority(self.priority.get());
        out.set_count_addrs(count);
        match self.version {
            Version::V2 => {
                out.set_auth_type(self.auth.type_code());
                out.set_adver_int(u8::try_from(interval).unwrap_or(u8::MAX));
                out.set_auth_data(self.auth.data());
            }
            Version::V3 => out.set_max_advert_interval(interval),
        }
        out.addresses_mut()
            .copy_from_slice(self.addresses.as_bytes());
        out.fill_checksum(ctx.src, ctx.dst, ctx.checksum);
        Ok(())
    }
}

impl Repr {
    /// Validates the version-specific fields for emission and returns the raw interval field:
    /// seconds for v2, centiseconds for v3.
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

/// v2 authentication check (RFC 3768 section 7.1): the type must be the configured one, and a
/// simple-text password must match byte for byte. Type 0 ignores the data.
fn auth_matches(received: &Auth, configured: &Auth) -> bool {
    match (received, configured) {
        (Auth::None, Auth::None) => true,
        (Auth::Simple(a), Auth::Simple(b)) => a == b,
        _ => false,
    }
}
