//! [`AddressList`]: the addresses of an advertisement, kept inline without allocation for the
//! usual handful of VIPs.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// One address per 16-byte, 16-aligned slot: the octets in memory order, an IPv4 address in
/// the first four bytes and zeros after. Each address is written with one full-width store, so
/// moving a list right after parsing it does not stall on store forwarding (byte-wise copies
/// into a packed array did, and cost more than the rest of parsing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(16))]
struct Slot([u8; 16]);

impl Slot {
    const ZERO: Slot = Slot([0; 16]);

    #[inline(always)]
    fn from_v4(octets: [u8; 4]) -> Slot {
        let [a, b, c, d] = octets;
        Slot([a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    #[inline(always)]
    fn from_wire(family: AddressFamily, bytes: &[u8]) -> Slot {
        match family {
            AddressFamily::Ipv4 => {
                Slot::from_v4(bytes.first_chunk::<4>().copied().unwrap_or_default())
            }
            AddressFamily::Ipv6 => Slot(bytes.first_chunk::<16>().copied().unwrap_or_default()),
        }
    }

    fn from_addr(addr: IpAddr) -> Slot {
        match addr {
            IpAddr::V4(a) => Slot::from_v4(a.octets()),
            IpAddr::V6(a) => Slot(a.octets()),
        }
    }

    fn to_addr(self, family: AddressFamily) -> IpAddr {
        match family {
            AddressFamily::Ipv4 => {
                let [a, b, c, d, ..] = self.0;
                IpAddr::V4(Ipv4Addr::new(a, b, c, d))
            }
            AddressFamily::Ipv6 => IpAddr::V6(Ipv6Addr::from(self.0)),
        }
    }
}

/// The addresses of an advertisement, all of one family, in wire order.
///
/// Up to [`AddressList::INLINE`] addresses (either family) live inline, so parsing a typical
/// advert never allocates; beyond that the list spills to the heap. At most 255 addresses (the
/// width of the count field).
#[derive(Clone)]
pub struct AddressList {
    inline: [Slot; AddressList::INLINE],
    /// Every address when there are more than `INLINE`, else empty (no allocation).
    heap: Vec<Slot>,
    family: AddressFamily,
    count: u8,
}

impl AddressList {
    /// Addresses kept inline before spilling to the heap.
    pub const INLINE: usize = 4;
    /// The most addresses one advert can carry.
    pub const MAX_COUNT: usize = 255;

    /// An empty list of `family`.
    pub const fn empty(family: AddressFamily) -> AddressList {
        AddressList {
            inline: [Slot::ZERO; Self::INLINE],
            heap: Vec::new(),
            family,
            count: 0,
        }
    }

    /// A list from wire bytes: `bytes.len()` must be a multiple of the family's address size,
    /// for at most 255 addresses.
    ///
    /// # Errors
    /// [`WireError::AddressCountMismatch`] if the length is not a whole number of addresses;
    /// [`WireError::TooManyAddresses`] beyond 255.
    #[inline]
    pub fn from_bytes(family: AddressFamily, bytes: &[u8]) -> Result<AddressList, WireError> {
        let alen = family.addr_len();
        if !bytes.len().is_multiple_of(alen) {
            return Err(WireError::AddressCountMismatch);
        }
        let count = u8::try_from(bytes.len() / alen).map_err(|_| WireError::TooManyAddresses)?;
        let mut list = AddressList::empty(family);
        list.fill_from_wire(bytes, count);
        Ok(list)
    }

    /// Fills an empty list with exactly `count` wire addresses (the caller has checked the
    /// length).
    #[inline(always)]
    pub(crate) fn fill_from_wire(&mut self, bytes: &[u8], count: u8) {
        let family = self.family;
        self.count = count;
        if usize::from(count) <= Self::INLINE {
            match family {
                AddressFamily::Ipv4 => {
                    let (words, _) = bytes.as_chunks::<4>();
                    for (slot, w) in self.inline.iter_mut().zip(words) {
                        *slot = Slot::from_v4(*w);
                    }
                }
                AddressFamily::Ipv6 => {
                    let (words, _) = bytes.as_chunks::<16>();
                    for (slot, w) in self.inline.iter_mut().zip(words) {
                        *slot = Slot(*w);
                    }
                }
            }
        } else {
            let chunks = bytes.chunks_exact(family.addr_len());
            self.heap = chunks.map(|c| Slot::from_wire(family, c)).collect();
        }
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
        if self.len() >= Self::MAX_COUNT {
            return Err(WireError::TooManyAddresses);
        }
        let slot = Slot::from_addr(addr);
        let used = self.len();
        if let Some(free) = self.inline.get_mut(used) {
            *free = slot;
        } else {
            if self.heap.is_empty() {
                self.heap.reserve(used * 2);
                self.heap.extend_from_slice(&self.inline);
            }
            self.heap.push(slot);
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

    /// True if the addresses live on the heap (more than [`AddressList::INLINE`] of them).
    pub const fn spilled(&self) -> bool {
        !self.heap.is_empty()
    }

    /// The number of bytes the addresses take on the wire.
    pub const fn wire_len(&self) -> usize {
        self.len() * self.family.addr_len()
    }

    /// Writes the addresses in wire format (network order, back to back) to the start of
    /// `out`; returns the number of bytes written, or `None` if `out` is shorter than
    /// [`AddressList::wire_len`] (nothing is written then).
    #[inline]
    pub fn write_wire(&self, out: &mut [u8]) -> Option<usize> {
        let len = self.wire_len();
        let out = out.get_mut(..len)?;
        // Fixed-size copies per family: no memcpy call per address.
        match self.family {
            AddressFamily::Ipv4 => {
                let mut at = 0;
                for slot in self.slots() {
                    let dst = out.get_mut(at..).and_then(|o| o.first_chunk_mut::<4>());
                    if let (Some(d), Some(s)) = (dst, slot.0.first_chunk::<4>()) {
                        *d = *s;
                    }
                    at += 4;
                }
            }
            AddressFamily::Ipv6 => {
                let mut at = 0;
                for slot in self.slots() {
                    if let Some(d) = out.get_mut(at..).and_then(|o| o.first_chunk_mut::<16>()) {
                        *d = slot.0;
                    }
                    at += 16;
                }
            }
        }
        Some(len)
    }

    /// The addresses in wire format, as a new vector.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = vec![0; self.wire_len()];
        let _ = self.write_wire(&mut out);
        out
    }

    /// The address at `index`.
    pub fn get(&self, index: usize) -> Option<IpAddr> {
        self.slots().get(index).map(|s| s.to_addr(self.family))
    }

    /// The addresses in wire order.
    pub fn iter(&self) -> Addresses<'_> {
        Addresses {
            family: self.family,
            slots: self.slots().iter(),
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

    fn slots(&self) -> &[Slot] {
        if self.heap.is_empty() {
            self.inline.get(..self.len()).unwrap_or(&self.inline)
        } else {
            &self.heap
        }
    }
}

/// Iterator over the addresses of an [`AddressList`].
#[derive(Debug, Clone)]
pub struct Addresses<'a> {
    family: AddressFamily,
    slots: std::slice::Iter<'a, Slot>,
}

impl Iterator for Addresses<'_> {
    type Item = IpAddr;

    fn next(&mut self) -> Option<IpAddr> {
        self.slots.next().map(|s| s.to_addr(self.family))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
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
        self.family == other.family && self.slots() == other.slots()
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
        IpAddr::from([198, 51, 100, last])
    }

    #[test]
    fn spills_beyond_inline_and_stays_equal() {
        let addrs: Vec<IpAddr> = (1..=40).map(v4).collect();
        let list = AddressList::new(AddressFamily::Ipv4, &addrs).unwrap();
        assert!(list.spilled());
        assert_eq!(list.iter().collect::<Vec<_>>(), addrs);
        let wire = list.to_wire();
        assert_eq!(wire.len(), 160);
        assert_eq!(&wire[..8], &[198, 51, 100, 1, 198, 51, 100, 2]);
        let again = AddressList::from_bytes(AddressFamily::Ipv4, &wire).unwrap();
        assert_eq!(again, list);
        assert!(again.spilled());
        let small = AddressList::new(AddressFamily::Ipv4, &addrs[..4]).unwrap();
        assert!(!small.spilled());
        assert_eq!(small.get(3), Some(v4(4)));
        assert_eq!(small.get(4), None);
        let mut short = [0u8; 15];
        assert_eq!(small.write_wire(&mut short), None);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let list6 = AddressList::new(AddressFamily::Ipv6, &[v6, v6]).unwrap();
        assert_eq!(
            list6.to_wire()[..16],
            "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets()
        );
        assert_eq!(
            AddressList::from_bytes(AddressFamily::Ipv6, &list6.to_wire()),
            Ok(list6)
        );
    }

    #[test]
    fn rejects_mixed_families_and_overflow() {
        let mixed = [v4(1), "2001:db8::1".parse().unwrap()];
        assert_eq!(
            AddressList::try_from(&mixed[..]),
            Err(WireError::FamilyMismatch)
        );
        let many: Vec<IpAddr> = (0..=255u16)
            .map(|i| IpAddr::from([203, 0, 113, i as u8]))
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
