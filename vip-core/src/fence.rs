//! The [`Fencer`] trait: making sure another node no longer holds the VIPs.

use async_trait::async_trait;

use crate::{FencingToken, MacAddr, PeerId, Vip};

/// What to fence: the peer believed to hold the VIPs, and the VIPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceRequest {
    /// The last known holder, if the election knows it.
    pub peer: Option<PeerId>,
    /// The link-layer address that answered the in-use probe, if any. This is the host that
    /// actually holds the VIP now, which may differ from `peer` (for example a node that crashed
    /// holding it after another became master): a fencer should act on it when it is set.
    pub holder_mac: Option<MacAddr>,
    /// The ownership arbiter's fencing token of the holder to fence, when the claim found the
    /// grant held elsewhere ([`crate::ArbiterError::HeldElsewhere`]). A fencer that reports
    /// [`FenceOutcome::Fenced`] for a request with a token vouches that the holder of that
    /// token no longer holds the VIPs: the claimant then revokes that holder's grant.
    pub token: Option<FencingToken>,
    /// The VIPs that must be released by the peer.
    pub vips: Vec<Vip>,
}

/// How a fencing attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FenceOutcome {
    /// The fencer reports the peer no longer holds the VIPs.
    Fenced,
    /// Fencing failed; the VIPs may still be held.
    Failed {
        /// Why.
        reason: String,
    },
}

impl FenceOutcome {
    /// True for [`FenceOutcome::Fenced`].
    pub fn is_fenced(&self) -> bool {
        matches!(self, FenceOutcome::Fenced)
    }
}

/// Makes sure a given peer no longer holds the given VIPs (power off, remove the address over
/// SSH, block it at a switch, ...). The runtime bounds every call by a timeout and treats a
/// timeout as [`FenceOutcome::Failed`].
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Fencer: Send + Sync {
    /// Fences the peer described by `request`.
    async fn fence(&self, request: &FenceRequest) -> FenceOutcome;
}
