//! How vip marks the addresses it adds, so that it can tell them from an administrator's.
//!
//! - Kernels 6.0 and later keep `IFA_PROTO` (the "address protocol", a free `u8` that the kernel
//!   stores and reports back, like a route's protocol). vip sets it to [`VIP_IFA_PROTO`] (0x76,
//!   ASCII `v`). `ip -d addr show` prints it as `proto 0x76`.
//! - Older kernels (4.18 to 5.19) silently drop `IFA_PROTO`. There vip sets `IFA_RT_PRIORITY`
//!   (the metric of the address's prefix route) to [`VIP_IFA_RT_PRIORITY`] instead, a value no
//!   one picks by accident. It only changes the metric of a prefix route, and a VIP added with
//!   `noprefixroute`, or a host VIP (/32), has none that matters.
//!
//! [`Tag::detect`] picks the scheme from the running kernel's release.

use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage, AddressProtocol};

/// The `IFA_PROTO` value vip sets on the addresses it adds (ASCII `v`).
pub const VIP_IFA_PROTO: u8 = 0x76;

/// The `IFA_RT_PRIORITY` value vip sets on kernels without `IFA_PROTO` (ASCII `vip` in the
/// upper three bytes).
pub const VIP_IFA_RT_PRIORITY: u32 = 0x7669_7000;

/// The mark vip puts on its addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// `IFA_PROTO` with this value (kernel 6.0 and later).
    Proto(u8),
    /// `IFA_RT_PRIORITY` with this value (kernels before 6.0).
    RoutePriority(u32),
}

impl Tag {
    /// The scheme that suits the running kernel: [`Tag::Proto`] with [`VIP_IFA_PROTO`] on 6.0
    /// and later (or when the release cannot be read), [`Tag::RoutePriority`] with
    /// [`VIP_IFA_RT_PRIORITY`] before.
    pub fn detect() -> Tag {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        Tag::for_release(&release)
    }

    /// The scheme for a kernel release string such as `6.1.0-13-amd64`.
    pub fn for_release(release: &str) -> Tag {
        let mut parts = release.trim().split(['.', '-']);
        let major = parts.next().and_then(|p| p.parse::<u32>().ok());
        match major {
            Some(m) if m < 6 => Tag::RoutePriority(VIP_IFA_RT_PRIORITY),
            _ => Tag::Proto(VIP_IFA_PROTO),
        }
    }

    /// The netlink attribute that carries the tag.
    pub(crate) fn attribute(self) -> AddressAttribute {
        match self {
            Tag::Proto(p) => AddressAttribute::Protocol(AddressProtocol::from(p)),
            Tag::RoutePriority(m) => AddressAttribute::RoutePriority(m),
        }
    }

    /// True if the kernel's address message carries this tag.
    pub(crate) fn matches(self, msg: &AddressMessage) -> bool {
        msg.attributes.iter().any(|a| match (self, a) {
            (Tag::Proto(p), AddressAttribute::Protocol(q)) => u8::from(*q) == p,
            (Tag::RoutePriority(m), AddressAttribute::RoutePriority(n)) => *n == m,
            _ => false,
        })
    }
}

impl Default for Tag {
    fn default() -> Self {
        Tag::detect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_picks_scheme() {
        assert_eq!(Tag::for_release("6.18.44-fc"), Tag::Proto(VIP_IFA_PROTO));
        assert_eq!(Tag::for_release("6.0.0"), Tag::Proto(VIP_IFA_PROTO));
        assert_eq!(
            Tag::for_release("5.15.0-91-generic"),
            Tag::RoutePriority(VIP_IFA_RT_PRIORITY)
        );
        assert_eq!(Tag::for_release("garbage"), Tag::Proto(VIP_IFA_PROTO));
    }

    #[test]
    fn tag_matches_its_attribute() {
        for tag in [
            Tag::Proto(VIP_IFA_PROTO),
            Tag::RoutePriority(VIP_IFA_RT_PRIORITY),
        ] {
            let mut msg = AddressMessage::default();
            assert!(!tag.matches(&msg));
            msg.attributes.push(tag.attribute());
            assert!(tag.matches(&msg));
        }
        let mut msg = AddressMessage::default();
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::from(3)));
        assert!(!Tag::Proto(VIP_IFA_PROTO).matches(&msg));
    }
}
