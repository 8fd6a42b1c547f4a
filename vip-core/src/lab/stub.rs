//! [`NoAddresses`]: an address manager for tests that need an election instance but no kernel
//! addressing.

use std::time::Duration;

use async_trait::async_trait;

use crate::{AddressManager, Error, InUse, Vip};

/// Adds, removes and announces nothing, lists nothing, and always finds the VIPs free: for
/// tests and benchmarks that measure the election or the VRRP transport, not addressing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAddresses;

#[async_trait]
impl AddressManager for NoAddresses {
    async fn add(&self, _: &[Vip]) -> Result<(), Error> {
        Ok(())
    }
    async fn remove(&self, _: &[Vip]) -> Result<(), Error> {
        Ok(())
    }
    async fn list(&self, _: &str) -> Result<Vec<Vip>, Error> {
        Ok(Vec::new())
    }
    async fn announce(&self, _: &[Vip]) -> Result<(), Error> {
        Ok(())
    }
    async fn probe_in_use(&self, _: &[Vip], _: Duration) -> Result<InUse, Error> {
        Ok(InUse::Free)
    }
}
