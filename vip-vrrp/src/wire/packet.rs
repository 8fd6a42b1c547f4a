//! [`Packet`]: a length-checked view over the bytes of a VRRP message.
//!
//! ```text
//! VRRPv3 (RFC 9568 section 5.1)             VRRPv2 (RFC 3768 section 5.1)
//!  0: Version(4) | Type(4)                   0: Version(4) | Type(4)
//!  1: Virtual Rtr ID                         1: Virtual Rtr ID
//!  2: Priority                               2: Priority
//!  3: Count IPvX Addr                        3: Count IP Addrs
//!  4: Rsvd(4) | Max Adver Int(12), 2 bytes   4: Auth Type
//!                                            5: Adver Int (seconds)
//!  6: Checksum (2 bytes)                     6: Checksum (2 bytes)
//!  8: IPvX addresses                         8: IPv4 addresses (4 x count)
//!                                            8 + 4 x count: Authentication Data (8 bytes)
//! ```

use std::net::IpAddr;

use super::checksum;
use super::{AddressFamily, ChecksumMode, WireError};

/// Byte offsets and sizes of the VRRP header fields.
pub mod field {
    use std::ops::Range;

    /// Version (high nibble) and type (low nibble).
    pub const VER_TYPE: usize = 0;
    /// Virtual router id.
    pub const VRID: usize = 1;
    /// Priority.
    pub const PRIORITY: usize = 2;
    /// Number of addresses.
    pub const COUNT_ADDRS: usize = 3;
    /// v2: authentication type.
    pub const AUTH_TYPE: usize = 4;
    /// v2: advertisement interval in seconds.
    pub const ADVER_INT: usize = 5;
    /// v3: 4 reserved bits and the 12-bit Max Advertise Interval in centiseconds.
    pub const MAX_ADVER_INT: Range<usize> = 4..6;
    /// The checksum.
    pub const CHECKSUM: Range<usize> = 6..8;
    /// Length of the fixed header; the addresses start here.
    pub const HEADER_LEN: usize = 8;
    /// v2: length of the authentication data that follows the addresses.
    pub const AUTH_DATA_LEN: usize = 8;
    /// The smallest possible v2 message (no addresses).
    pub const V2_MIN_LEN: usize = HEADER_LEN + AUTH_DATA_LEN;
}

/// A view over a VRRP message in a buffer.
///
/// Accessors read fixed offsets. [`Packet::new_checked`] guarantees that every accessor is in
/// bounds; on a buffer made with [`Packet::new_unchecked`] that `check_len` would reject, the
/// accessors panic (as in smoltcp). [`crate::wire::Repr::parse`] checks the length itself, so
/// parsing never panics whichever constructor was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking its length.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and checks that every accessor is in bounds ([`Packet::check_len`]).
    ///
    /// # Errors
    /// See [`Packet::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed header and, for v2, the addresses announced by
    /// `count_addrs` plus the authentication data.
    ///
    /// # Errors
    /// [`WireError::Truncated`] if the buffer is shorter than the fixed header (16 bytes for
    /// v2); [`WireError::AddressCountMismatch`] if a v2 buffer is shorter than its address
    /// count says.
    #[inline]
    pub fn check_len(&self) -> Result<(), WireError> {
        let data = self.buffer.as_ref();
        let Some(&ver_type) = data.first() else {
            return Err(WireError::Truncated);
        };
        if data.len() < field::HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if ver_type >> 4 == 2 {
            if data.len() < field::V2_MIN_LEN {
                return Err(WireError::Truncated);
            }
            if data.len() < self.v2_auth_offset() + field::AUTH_DATA_LEN {
                return Err(WireError::AddressCountMismatch);
            }
        }
        Ok(())
    }

    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole underlying buffer.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The version field (2 or 3 for valid packets).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The type field (1 = ADVERTISEMENT).
    #[inline]
    pub fn kind(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// The virtual router id.
    #[inline]
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    /// The raw priority.
    #[inline]
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// The number of addresses.
    #[inline]
    pub fn count_addrs(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT_ADDRS]
    }

    /// v2: the authentication type (0 none, 1 simple text, 2 IP AH).
    #[inline]
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// v2: the raw advertisement interval in seconds.
    #[inline]
    pub fn adver_int(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT]
    }

    /// v3: the 4 reserved bits before the interval (sent as zero, ignored on receipt).
    #[inline]
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::MAX_ADVER_INT.start] >> 4
    }

    /// v3: the raw 12-bit Max Advertise Interval in centiseconds.
    #[inline]
    pub fn max_advert_interval(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([
            d[field::MAX_ADVER_INT.start],
            d[field::MAX_ADVER_INT.start + 1],
        ]) & 0x0fff
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[field::CHECKSUM.start], d[field::CHECKSUM.start + 1]])
    }

    /// The address bytes, in network order: `4 x count_addrs` bytes for v2, everything after
    /// the header for v3 (whose address size depends on the IP family).
    #[inline]
    pub fn addresses(&self) -> &[u8] {
        let d = self.buffer.as_ref();
        if self.version() == 2 {
            &d[field::HEADER_LEN..self.v2_auth_offset()]
        } else {
            &d[field::HEADER_LEN..]
        }
    }

    /// v2: the 8 authentication data bytes that follow the addresses.
    #[inline]
    pub fn auth_data(&self) -> [u8; 8] {
        let at = self.v2_auth_offset();
        let mut out = [0u8; 8];
        out.copy_from_slice(&self.buffer.as_ref()[at..at + field::AUTH_DATA_LEN]);
        out
    }

    /// The checksum form that verifies for this message between `src` and `dst`, if any.
    ///
    /// The message is the whole buffer. v2 accepts only [`ChecksumMode::MessageOnly`], v3 over
    /// IPv6 only [`ChecksumMode::PseudoHeader`], v3 over IPv4 either (message-only is tried
    /// first, as RFC 9568 section 5.2.8 specifies it).
    #[inline]
    pub fn checksum_form(&self, src: IpAddr, dst: IpAddr) -> Option<ChecksumMode> {
        let data = self.buffer.as_ref();
        let sum = checksum::sum_bytes(0, data);
        let family = AddressFamily::of(src);
        let allows_message_only = self.version() == 2 || family == AddressFamily::Ipv4;
        let allows_pseudo = self.version() != 2;
        if allows_message_only && checksum::verifies(sum) {
            return Some(ChecksumMode::MessageOnly);
        }
        if allows_pseudo
            && checksum::verifies(sum + checksum::pseudo_header_sum(src, dst, data.len()))
        {
            return Some(ChecksumMode::PseudoHeader);
        }
        None
    }

    #[inline]
    fn v2_auth_offset(&self) -> usize {
        field::HEADER_LEN + 4 * usize::from(self.count_addrs())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// The whole underlying buffer, mutable.
    #[inline]
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the version and the type fields.
    #[inline]
    pub fn set_version_and_kind(&mut self, version: u8, kind: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (kind & 0x0f);
    }

    /// Sets the version field, keeping the type.
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        let kind = self.kind();
        self.set_version_and_kind(version, kind);
    }

    /// Sets the type field, keeping the version.
    #[inline]
    pub fn set_kind(&mut self, kind: u8) {
        let version = self.version();
        self.set_version_and_kind(version, kind);
    }

    /// Sets the virtual router id.
    #[inline]
    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    /// Sets the priority.
    #[inline]
    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    /// Sets the number of addresses.
    #[inline]
    pub fn set_count_addrs(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT_ADDRS] = count;
    }

    /// v2: sets the authentication type.
    #[inline]
    pub fn set_auth_type(&mut self, auth_type: u8) {
        self.buffer.as_mut()[field::AUTH_TYPE] = auth_type;
    }

    /// v2: sets the advertisement interval in seconds.
    #[inline]
    pub fn set_adver_int(&mut self, secs: u8) {
        self.buffer.as_mut()[field::ADVER_INT] = secs;
    }

    /// v3: sets the Max Advertise Interval (low 12 bits of `centis`) and zeroes the reserved
    /// bits.
    #[inline]
    pub fn set_max_advert_interval(&mut self, centis: u16) {
        let bytes = (centis & 0x0fff).to_be_bytes();
        self.buffer.as_mut()[field::MAX_ADVER_INT].copy_from_slice(&bytes);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// The address bytes, mutable (see [`Packet::addresses`]); set `count_addrs` first for v2.
    #[inline]
    pub fn addresses_mut(&mut self) -> &mut [u8] {
        let end = if self.version() == 2 {
            self.v2_auth_offset()
        } else {
            self.buffer.as_ref().len()
        };
        &mut self.buffer.as_mut()[field::HEADER_LEN..end]
    }

    /// v2: writes the 8 authentication data bytes after the addresses (set `count_addrs`
    /// first).
    #[inline]
    pub fn set_auth_data(&mut self, data: [u8; 8]) {
        let at = self.v2_auth_offset();
        self.buffer.as_mut()[at..at + field::AUTH_DATA_LEN].copy_from_slice(&data);
    }

    /// Computes and writes the checksum over the whole buffer. `mode` matters only for v3
    /// over IPv4; v2 always uses the message only and v3 over IPv6 the pseudo-header.
    #[inline]
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let sum = checksum::sum_bytes(0, data);
        let use_pseudo = match (self.version(), AddressFamily::of(src)) {
            (2, _) => false,
            (_, AddressFamily::Ipv6) => true,
            (_, AddressFamily::Ipv4) => mode == ChecksumMode::PseudoHeader,
        };
        let sum = if use_pseudo {
            sum + checksum::pseudo_header_sum(src, dst, data.len())
        } else {
            sum
        };
        self.set_checksum(checksum::finish(sum));
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_len_classifies_short_buffers() {
        assert_eq!(
            Packet::new_checked(&[][..]).err(),
            Some(WireError::Truncated)
        );
        assert_eq!(
            Packet::new_checked(&[0x31u8; 7][..]).err(),
            Some(WireError::Truncated)
        );
        assert!(Packet::new_checked(&[0x31u8, 1, 1, 9, 0, 1, 0, 0][..]).is_ok());
        // v2 needs the 8 auth bytes even without addresses.
        assert_eq!(
            Packet::new_checked(&[0x21u8; 15][..]).err(),
            Some(WireError::Truncated)
        );
        let mut v2 = [0u8; 16];
        v2[0] = 0x21;
        v2[3] = 1; // one address announced, none present
        assert_eq!(
            Packet::new_checked(&v2[..]).err(),
            Some(WireError::AddressCountMismatch)
        );
    }

    #[test]
    fn setters_round_trip() {
        let mut buf = [0u8; 20];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version_and_kind(2, 1);
        p.set_vrid(51);
        p.set_priority(101);
        p.set_count_addrs(1);
        p.set_auth_type(1);
        p.set_adver_int(1);
        p.addresses_mut().copy_from_slice(&[10, 77, 0, 100]);
        p.set_auth_data(*b"1111\0\0\0\0");
        let src = IpAddr::from([10, 77, 0, 11]);
        let dst = IpAddr::from([224, 0, 0, 18]);
        p.fill_checksum(src, dst, ChecksumMode::PseudoHeader);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(
            (p.version(), p.kind(), p.vrid(), p.priority()),
            (2, 1, 51, 101)
        );
        assert_eq!((p.count_addrs(), p.auth_type(), p.adver_int()), (1, 1, 1));
        assert_eq!(p.addresses(), &[10, 77, 0, 100]);
        assert_eq!(&p.auth_data(), b"1111\0\0\0\0");
        assert_eq!(p.checksum_form(src, dst), Some(ChecksumMode::MessageOnly));
    }
}
