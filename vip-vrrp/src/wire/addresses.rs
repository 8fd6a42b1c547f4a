//! [`AddressList`]: the addresses of an advertisement, kept inline without allocation for the
//! usual handful of VIPs.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::slice::ChunksExact;

use vip_core::Vip;

use super::WireError;

/// The IP family of a VRRP instance: every address in an advert, and the IP header around it,
/// are of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4: 4-byte addresses.
    Ipv4,
    /// IPv6: 16-byte addresses.
    Ipv6,
}

impl AddressFamily {
    /// The family of `addr`.
    pub const fn of(addr: IpAddr) -> AddressFamily {
        match addr {
            IpAddr::V4(_) => AddressFamily::Ipv4,
            IpAddr::V6(_) => AddressFamily::Ipv6,
        }
    }

    /// The size of one address on the wire.
    pub const fn addr_len(self) -> usize {
        match self {
            AddressFamily::Ipv4 => 4,
            AddressFamily::Ipv6 => 16,
        }
    }
}

#[derive(Clone)]
enum Storage {
    Inline([u8; AddressList::INLINE_BYTES]),
    Heap(Vec<u8>),
}

/// The addresses of an advertisement, all of one family, in wire order.
///
/// Stored as network-order bytes: inline up to [`AddressList::INLINE_BYTES`] bytes (16 IPv4 or
/// 4 IPv6 addresses), on the heap beyond. Parsing and emitting are then plain copies. At most
/// 255 addresses (the width of the count field).
#[derive(Clone)]
pub struct AddressList {
    family: AddressFamily,
    count: u8,
    storage: Storage,
}

impl AddressList {
    /// Bytes kept inline before spilling to the heap.
    pub const INLINE_BYTES: usize = 64;
    /// The most addresses one advert can carry.
    pub const MAX_COUNT: usize = 255;

    /// An empty list of `family`.
    pub const fn empty(family: AddressFamily) -> AddressList {
        AddressList {
            family,
            count: 0,
            storage: Storage::Inline([0; Self::INLINE_BYTES]),
        }
    }

    /// A list from wire bytes: `bytes.len()` must be a multiple of the family's address size,
    /// for at most 255 addresses.
    ///
    /// # Errors
    /// [`WireError::AddressCountMismatch`] if the length is not a whole number of addresses;
    /// [`WireError::TooManyAddresses`] beyond 255.
    pub fn from_bytes(family: AddressFamily, bytes: &[u8]) -> Result<AddressList, WireError> {
        let alen = family.addr_len();
        if !bytes.len().is_multiple_of(alen) {
            return Err(WireError::AddressCountMismatch);
        }
        let count = u8::try_from(bytes.len() / alen).map_err(|_| WireError::TooManyAddresses)?;
        let storage = if bytes.len() <= Self::INLINE_BYTES {
            let mut inline = [0u8; Self::INLINE_BYTES];
            inline[..bytes.len()].copy_from_slice(bytes);
            Storage::Inline(inline)
        } else {
            Storage::Heap(bytes.to_vec())
        };
        Ok(AddressList {
            family,
            count,
            storage,
        })
    }

    /// A list of `family` from addresses.
    ///
    /// # Errors
    /// [`WireError::FamilyMismatch`] if an address is of the other family;
    /// [`WireError::TooManyAddresses`] beyond 255.
    pub fn new(family: AddressFamily, addrs: &[IpAddr]) -> Result<AddressList, WireError> {
        let mut list = AddressList::empty(family);
        for &addr in addrs {
            list.push(addr)?;
        }
        Ok(list)
    }

    /// A list of the addresses of `vips` (all of `family`).
    ///
    /// # Errors
    /// As [`AddressList::new`].
    pub fn from_vips(family: AddressFamily, vips: &[Vip]) -> Result<AddressList, WireError> {
        let mut list = AddressList::empty(family);
        for vip in vips {
            list.push(vip.addr)?;
        }
        Ok(list)
    }

    /// Appends an address.
    ///
    /// # Errors
    /// [`WireError::FamilyMismatch`] for an address of the other family;
    /// [`WireError::TooManyAddresses`] when the list already holds 255.
    pub fn push(&mut self, addr: IpAddr) -> Result<(), WireError> {
        if AddressFamily::of(addr) != self.family {
            return Err(WireError::FamilyMismatch);
        }
        if usize::from(self.count) >= Self::MAX_COUNT {
            return Err(WireError::TooManyAddresses);
        }
        let octets4;
        let octets6;
        let bytes: &[u8] = match addr {
            IpAddr::V4(a) => {
                octets4 = a.octets();
                &octets4
            }
            IpAddr::V6(a) => {
                octets6 = a.octets();
                &octets6
            }
        };
        let used = self.byte_len();
        let new_len = used + bytes.len();
        match &mut self.storage {
            Storage::Inline(inline) if new_len <= Self::INLINE_BYTES => {
                inline[used..new_len].copy_from_slice(bytes);
            }
            Storage::Inline(inline) => {
                let mut heap = Vec::with_capacity(new_len * 2);
                heap.extend_from_slice(&inline[..used]);
                heap.extend_from_slice(bytes);
                self.storage = Storage::Heap(heap);
            }
            Storage::Heap(heap) => heap.extend_from_slice(bytes),
        }
        self.count += 1;
        Ok(())
    }

    /// The family of every address in the list.
    pub const fn family(&self) -> AddressFamily {
        self.family
    }

    /// The number of addresses.
    pub const fn len(&self) -> usize {
        self.count as usize
    }

    /// True if the list holds no address.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// True if the addresses live on the heap (more than [`AddressList::INLINE_BYTES`] bytes).
    pub const fn spilled(&self) -> bool {
        matches!(self.storage, Storage::Heap(_))
    }

    /// The addresses as wire bytes (network order, back to back).
    pub fn as_bytes(&self) -> &[u8] {
        let len = self.byte_len();
        match &self.storage {
            Storage::Inline(inline) => &inline[..len],
            Storage::Heap(heap) => heap.get(..len).unwrap_or(heap),
        }
    }

    /// The address at `index`.
    pub fn get(&self, index: usize) -> Option<IpAddr> {
        let alen = self.family.addr_len();
        let start = index.checked_mul(alen)?;
        let bytes = self.as_bytes().get(start..start.checked_add(alen)?)?;
        Some(decode(self.family, bytes))
    }

    /// The addresses in wire order.
    pub fn iter(&self) -> Addresses<'_> {
        Addresses {
            family: self.family,
            chunks: self.as_bytes().chunks_exact(self.family.addr_len()),
        }
    }

    /// True if `addr` is in the list.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.iter().any(|a| a == addr)
    }

    /// True if the list holds the same addresses as `configured`, in any order (as multisets:
    /// duplicates must match in number). RFC 9568 section 7.1 lets a receiver compare the
    /// advert's addresses with its own; keepalived drops adverts that differ, so a mismatch is
    /// worth reporting loudly.
    pub fn matches(&self, configured: &[IpAddr]) -> bool {
        self.matches_by(configured.len(), |addr| {
            configured.iter().filter(|&&c| c == addr).count()
        })
    }

    /// As [`AddressList::matches`], against the addresses of `vips`.
    pub fn matches_vips(&self, vips: &[Vip]) -> bool {
        self.matches_by(vips.len(), |addr| {
            vips.iter().filter(|v| v.addr == addr).count()
        })
    }

    fn matches_by(
        &self,
        configured_len: usize,
        count_in_configured: impl Fn(IpAddr) -> usize,
    ) -> bool {
        if configured_len != self.len() {
            return false;
        }
        // Equal lengths, and every received address occurs as often on both sides: the
        // multisets are equal. Quadratic, which is fine for the handful of VIPs an advert holds.
        self.iter().all(|addr| {
            let here = self.iter().filter(|&a| a == addr).count();
            here == count_in_configured(addr)
        })
    }

    fn byte_len(&self) -> usize {
        usize::from(self.count) * self.family.addr_len()
    }
}

fn decode(family: AddressFamily, bytes: &[u8]) -> IpAddr {
    match family {
        AddressFamily::Ipv4 => {
            let mut o = [0u8; 4];
            o.copy_from_slice(bytes);
            IpAddr::V4(Ipv4Addr::from(o))
        }
        AddressFamily::Ipv6 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(bytes);
            IpAddr::V6(Ipv6Addr::from(o))
        }
    }
}

/// Iterator over the addresses of an [`AddressList`].
#[derive(Debug, Clone)]
pub struct Addresses<'a> {
    family: AddressFamily,
    chunks: ChunksExact<'a, u8>,
}

impl Iterator for Addresses<'_> {
    type Item = IpAddr;

    fn next(&mut self) -> Option<IpAddr> {
        self.chunks.next().map(|c| decode(self.family, c))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for Addresses<'_> {}

impl<'a> IntoIterator for &'a AddressList {
    type Item = IpAddr;
    type IntoIter = Addresses<'a>;

    fn into_iter(self) -> Addresses<'a> {
        self.iter()
    }
}

impl PartialEq for AddressList {
    fn eq(&self, other: &AddressList) -> bool {
        self.family == other.family && self.as_bytes() == other.as_bytes()
    }
}

impl Eq for AddressList {}

impl fmt::Debug for AddressList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl TryFrom<&[IpAddr]> for AddressList {
    type Error = WireError;

    /// A list whose family is that of the first address.
    ///
    /// # Errors
    /// [`WireError::FamilyMismatch`] if empty (the family is unknown) or mixed.
    fn try_from(addrs: &[IpAddr]) -> Result<AddressList, WireError> {
        let first = addrs.first().ok_or(WireError::FamilyMismatch)?;
        AddressList::new(AddressFamily::of(*first), addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn spills_beyond_inline_and_stays_equal() {
        let addrs: Vec<IpAddr> = (1..=40).map(v4).collect();
        let list = AddressList::new(AddressFamily::Ipv4, &addrs).unwrap();
        assert!(list.spilled());
        assert_eq!(list.iter().collect::<Vec<_>>(), addrs);
        let again = AddressList::from_bytes(AddressFamily::Ipv4, list.as_bytes()).unwrap();
        assert_eq!(again, list);
        let small = AddressList::new(AddressFamily::Ipv4, &addrs[..16]).unwrap();
        assert!(!small.spilled());
        assert_eq!(small.get(15), Some(v4(16)));
        assert_eq!(small.get(16), None);
    }

    #[test]
    fn rejects_mixed_families_and_overflow() {
        let mixed = [v4(1), "2001:db8::1".parse().unwrap()];
        assert_eq!(
            AddressList::try_from(&mixed[..]),
            Err(WireError::FamilyMismatch)
        );
        let many: Vec<IpAddr> = (0..=255u16)
            .map(|i| IpAddr::from([198, 51, 100, i as u8]))
            .collect();
        assert_eq!(
            AddressList::new(AddressFamily::Ipv4, &many),
            Err(WireError::TooManyAddresses)
        );
        assert!(AddressList::new(AddressFamily::Ipv4, &many[..255]).is_ok());
    }

    #[test]
    fn matches_is_order_insensitive_multiset_equality() {
        let list = AddressList::new(AddressFamily::Ipv4, &[v4(1), v4(2), v4(2)]).unwrap();
        assert!(list.matches(&[v4(2), v4(1), v4(2)]));
        assert!(!list.matches(&[v4(1), v4(1), v4(2)]));
        assert!(!list.matches(&[v4(1), v4(2)]));
        assert!(!list.matches(&[v4(1), v4(2), v4(3)]));
    }
}
