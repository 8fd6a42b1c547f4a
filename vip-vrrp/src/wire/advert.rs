//! Bridges between a [`Repr`] and the election machine's types.

use std::net::IpAddr;

use vip_core::election::{Advert, Version};
use vip_core::{Interval, PeerId, Priority, Vip};

use super::{AddressFamily, AddressList, Auth, Repr, WireError};

impl Repr {
    /// True if the advert carries the same addresses as `vips`, in any order. keepalived drops
    /// adverts whose list differs from its own, so a mismatch deserves a loud log and a metric.
    pub fn addresses_match(&self, vips: &[Vip]) -> bool {
        self.addresses.matches_vips(vips)
    }

    /// The election machine's view of this (validated) advert received from `src`, the IP
    /// source address, with `address_mismatch` set by comparing against our `vips`.
    pub fn to_advert(&self, src: IpAddr, vips: &[Vip]) -> Advert {
        Advert {
            from: PeerId(src),
            priority: self.priority,
            max_advert_interval: self.max_advert_interval,
            address_mismatch: !self.addresses_match(vips),
        }
    }

    /// The advert an instance sends: its `vips` (all of `family`) at `priority`.
    ///
    /// # Errors
    /// [`WireError::FamilyMismatch`] if a VIP is of the other family;
    /// [`WireError::TooManyAddresses`] beyond 255 VIPs.
    pub fn for_vips(
        version: Version,
        vrid: u8,
        priority: Priority,
        max_advert_interval: Interval,
        family: AddressFamily,
        vips: &[Vip],
        auth: Auth,
    ) -> Result<Repr, WireError> {
        Ok(Repr {
            version,
            vrid,
            priority,
            max_advert_interval,
            addresses: AddressList::from_vips(family, vips)?,
            auth,
        })
    }
}
