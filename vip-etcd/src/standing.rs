//! Publishes an arbiter's [`Standing`] with a generation number, for
//! [`vip_core::OwnershipArbiter::watch`].

use tokio::sync::watch;
use vip_core::{FencingToken, Standing};

/// The current generation and standing; generations start at 1 with [`Standing::NotHeld`].
#[derive(Debug)]
pub struct Publisher {
    tx: watch::Sender<(u64, Standing)>,
}

impl Default for Publisher {
    fn default() -> Self {
        Publisher {
            tx: watch::Sender::new((1, Standing::NotHeld)),
        }
    }
}

impl Publisher {
    /// Publishes a new standing under the next generation.
    pub fn publish(&self, standing: Standing) {
        self.tx.send_modify(|(g, s)| {
            *g += 1;
            *s = standing;
        });
    }

    /// Publishes `Lost` only if the grant with `token` is still the one held; returns whether
    /// it did (a loss is reported once, and never for an older holding).
    pub fn lose(&self, token: FencingToken, reason: String) -> bool {
        self.tx.send_if_modified(|(g, s)| match s {
            Standing::Held(grant) if grant.token == token => {
                *g += 1;
                *s = Standing::Lost { reason };
                true
            }
            _ => false,
        })
    }

    /// Publishes a renewed grant only while the holding with the same token is current.
    pub fn renew(&self, grant: vip_core::Grant) -> bool {
        self.tx.send_if_modified(|(g, s)| match s {
            Standing::Held(old) if old.token == grant.token && grant.deadline > old.deadline => {
                *g += 1;
                *s = Standing::Held(grant);
                true
            }
            _ => false,
        })
    }

    /// The current standing.
    pub fn current(&self) -> Standing {
        self.tx.borrow().1.clone()
    }

    /// Waits for a generation above `seen` (returns at once if there is one).
    pub async fn watch(&self, seen: u64) -> (u64, Standing) {
        let mut rx = self.tx.subscribe();
        match rx.wait_for(|(g, _)| *g > seen).await {
            Ok(v) => v.clone(),
            // The sender lives as long as `self`: unreachable, but answer sanely.
            Err(_) => self.tx.borrow().clone(),
        }
    }
}
