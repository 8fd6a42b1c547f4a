//! Kernel address lifetimes (`IFA_CACHEINFO`): a VIP with a finite valid lifetime is removed
//! by the kernel itself when it runs out, so a wedged process cannot keep it.

use std::time::Duration;

use rtnetlink::packet_route::address::{AddressAttribute, CacheInfo};
use vip_core::{Error, Vip};

use super::{NetlinkAddressManager, message_addr};
use crate::errno;

/// The kernel's "forever" lifetime.
const INFINITY_LIFE_TIME: u32 = u32::MAX;

/// The lifetime in whole seconds (rounded down, at least 1: 0 would be refused for IPv4 and
/// would mean "already expired"); `None` is forever.
pub(crate) fn lifetime_secs(valid: Option<Duration>) -> u32 {
    match valid {
        None => INFINITY_LIFE_TIME,
        Some(d) => u32::try_from(d.as_secs())
            .unwrap_or(INFINITY_LIFE_TIME - 1)
            .clamp(1, INFINITY_LIFE_TIME - 1),
    }
}

impl NetlinkAddressManager {
    /// Replaces the present, tagged address with the same one carrying the lifetime
    /// (preferred = valid). An address that is absent, or not ours, is an error: the caller
    /// believes it holds it.
    pub(super) async fn set_lifetime_one(
        &self,
        vip: &Vip,
        valid: Option<Duration>,
    ) -> Result<(), Error> {
        let operation = "set valid lifetime";
        let addr = vip.addr.to_string();
        let link = self.resolve(&vip.interface).await?;
        let msgs = self
            .dump(link.index)
            .await
            .map_err(|e| errno::from_netlink(&e, operation, &vip.interface, Some(&addr)))?;
        let present = msgs
            .iter()
            .any(|m| message_addr(m) == Some(vip.addr) && self.config.tag.matches(m));
        if !present {
            return Err(Error::AddressNotAvailable {
                operation: operation.into(),
                address: addr,
                hint: format!(
                    "the VIP is not on {} (removed, or never added by vip)",
                    vip.interface
                ),
            });
        }
        let secs = lifetime_secs(valid);
        let mut req = self
            .handle
            .address()
            .add(link.index, vip.addr, vip.prefix_len)
            .replace();
        let msg = req.message_mut();
        msg.attributes.extend(self.attributes(vip));
        let mut cache = CacheInfo::default();
        cache.ifa_preferred = secs;
        cache.ifa_valid = secs;
        msg.attributes.push(AddressAttribute::CacheInfo(cache));
        req.execute()
            .await
            .map_err(|e| errno::from_netlink(&e, operation, &vip.interface, Some(&addr)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_whole_seconds_rounded_down_and_never_zero() {
        assert_eq!(lifetime_secs(None), u32::MAX);
        assert_eq!(lifetime_secs(Some(Duration::from_millis(2900))), 2);
        assert_eq!(lifetime_secs(Some(Duration::from_millis(300))), 1);
        assert_eq!(
            lifetime_secs(Some(Duration::from_secs(u64::MAX))),
            u32::MAX - 1
        );
    }
}
