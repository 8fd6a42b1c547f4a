//! The transport as vip-core's runtime edge: [`AdvertSink`] for sending, [`AdvertSource`] (or
//! [`Transport::forward`] from a task of its own) for receiving.

use std::task::{Context, Poll};

use async_trait::async_trait;
use vip_core::Priority;
use vip_core::election::Advert;
use vip_core::runtime::{AdvertSink, AdvertSource, HandleError, InstanceHandle};

use super::{DropReason, Transport, TransportError};

#[async_trait]
impl AdvertSink for Transport {
    /// Sends our advert at `priority` to the group or to every peer ([`Transport::send`]).
    async fn send_advert(&self, priority: Priority) -> Result<(), vip_core::Error> {
        self.send(priority).await.map_err(Into::into)
    }

    /// Sends a master's repeated advert in place ([`Transport::try_send`]).
    fn try_send_advert(&self, priority: Priority) -> Option<Result<(), vip_core::Error>> {
        self.try_send(priority).map(|sent| sent.map_err(Into::into))
    }
}

impl AdvertSource for Transport {
    /// The next valid advert ([`Transport::poll_recv`]), polled by the instance task.
    fn poll_advert(&self, cx: &mut Context<'_>) -> Poll<Result<Advert, vip_core::Error>> {
        self.poll_recv(cx)
            .map(|got| got.map(|r| r.advert).map_err(Into::into))
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
                Err(HandleError::Busy) => self.stats().count_drop(DropReason::QueueFull),
                Err(HandleError::Stopped) => return Ok(()),
            }
        }
    }
}
