//! The kernel lifetime of a VRRP-only master's VIPs (`ElectionConfig::vip_lifetime`).
//!
//! With an arbiter the grant's deadline sets the VIPs' kernel lifetime (`arbiter.rs`). Without
//! one, a master may still ask for a lifetime: each advert it sends (the Adver_Timer, so the
//! refresh stops when the daemon is stopped or wedged) is followed by an
//! [`Action::SetLifetime`] to `now + vip_lifetime`, queued after the advert so that the
//! advert never waits for it. A daemon that stops running loses its VIPs in the kernel within
//! the lifetime (whole seconds, rounded down), and a backup's in-use probe then finds them
//! free. The costs: such a master is never handed to the steady loop (the refresh needs the
//! machine at each advert), one address operation per advert, and any stall longer than the
//! lifetime (the VIPs go although the daemon would have come back) is an outage until the
//! backups have taken over.

use crate::Timestamp;

use super::Action;
use super::machine::Election;

impl Election {
    /// Master without an arbiter, with `vip_lifetime`: the VIPs live until `now + lifetime`.
    pub(super) fn refresh_lifetime(&mut self, now: Timestamp) {
        if self.config.arbiter || !self.holding {
            return;
        }
        if let Some(lifetime) = self.config.vip_lifetime {
            self.push(Action::SetLifetime {
                vips: self.config.vips.clone(),
                until: now + lifetime,
            });
        }
    }

    /// Whether a master's VIPs carry a lifetime that its adverts refresh (not steady then).
    pub(super) fn refreshes_lifetime(&self) -> bool {
        !self.config.arbiter && self.config.vip_lifetime.is_some()
    }
}
