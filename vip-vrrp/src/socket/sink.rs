//! The transport as vip-core's runtime edge: [`AdvertSink`] for sending, [`Transport::forward`]
//! for receiving.

use async_trait::async_trait;
use vip_core::Priority;
use vip_core::runtime::{AdvertSink, HandleError, InstanceHandle};

use super::{DropReason, Transport, TransportError};

#[async_trait]
impl AdvertSink for Transport {
    /// Sends our advert at `priority` to the group or to every peer ([`Transport::send`]).
    async fn send_advert(&self, priority: Priority) -> Result<(), vip_core::Error> {
        self.send(priority).await.map_err(Into::into)
    }
}

impl Transport {
    /// Receives adverts for ever and passes each to the instance behind `handle`. A full
    /// advert queue (a flood) drops the advert and counts it as [`DropReason::QueueFull`].
    /// Returns `Ok(())` when the instance has stopped.
    ///
    /// # Errors
    /// As [`Transport::recv`]: only when the socket itself is broken.
    pub async fn forward(&self, handle: &InstanceHandle) -> Result<(), TransportError> {
        loop {
            let received = self.recv().await?;
            match handle.advert(received.advert) {
                Ok(()) => {}
                Err(HandleError::Busy) => self.stats.count_drop(DropReason::QueueFull),
                Err(HandleError::Stopped) => return Ok(()),
            }
        }
    }
}
