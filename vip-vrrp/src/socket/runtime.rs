//! Glue to vip-core's runtime (feature `runtime`): the transport is an instance's
//! [`AdvertSink`], and [`Transport::feed`] passes what it receives to the instance.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use vip_core::Priority;
use vip_core::runtime::{AdvertSink, HandleError, InstanceHandle};

use super::{Received, Transport, TransportError};

#[async_trait]
impl AdvertSink for Transport {
    async fn send_advert(&self, priority: Priority) -> Result<(), vip_core::Error> {
        self.send(priority).await.map_err(vip_core::Error::from)
    }
}

/// How long between two warnings about a full advert queue.
const BUSY_WARN_EVERY: Duration = Duration::from_secs(1);

impl Transport {
    /// Receives adverts and passes each valid one to `handle` (with the address mismatch the
    /// codec computed against our VIPs), until the instance stops (`Ok`) or the socket breaks
    /// (`Err`). Malformed packets never reach the instance: they are dropped and counted in
    /// [`Transport::stats`]. When the instance's advert queue is full (a flood of valid
    /// adverts) the advert is dropped and a warning logged at most once a second.
    ///
    /// `on_advert` sees every advert passed on (for metrics or a status board); use `|_| {}`
    /// when not needed.
    ///
    /// # Errors
    /// As [`Transport::recv`]: only a broken socket.
    pub async fn feed(
        &self,
        handle: &InstanceHandle,
        mut on_advert: impl FnMut(&Received) + Send,
    ) -> Result<(), TransportError> {
        let mut busy: u64 = 0;
        let mut warned: Option<Instant> = None;
        loop {
            let received = self.recv().await?;
            match handle.advert(received.advert) {
                Ok(()) => on_advert(&received),
                Err(HandleError::Stopped) => return Ok(()),
                Err(HandleError::Busy) => {
                    busy = busy.saturating_add(1);
                    if warned.is_none_or(|t| t.elapsed() >= BUSY_WARN_EVERY) {
                        warned = Some(Instant::now());
                        tracing::warn!(
                            instance = handle.name(),
                            dropped = busy,
                            "advert queue full (flood of valid adverts); adverts dropped"
                        );
                    }
                }
            }
        }
    }
}
