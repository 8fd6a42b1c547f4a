//! Configuration of one election instance.

use std::net::IpAddr;
use std::time::Duration;

use crate::{Interval, Priority, Vip};

/// The VRRP version an instance speaks. It changes timer arithmetic (RFC 3768 vs RFC 9568).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Version {
    /// VRRPv2 (RFC 3768): whole-second intervals, no learning of the master's interval.
    V2,
    /// VRRPv3 (RFC 9568): centisecond intervals, Master_Adver_Interval learned from the master.
    #[default]
    V3,
}

/// A tracked check's effect on the election (keepalived semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckSpec {
    /// Weight. Positive: added to the priority while the check passes. Negative: added while it
    /// fails. Zero: a failing check puts the instance in Fault.
    pub weight: i32,
}

/// When a claiming node runs the Fencer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FencePolicy {
    /// Fence only when the in-use probe finds the VIP answering elsewhere. A hard failure (the
    /// master is gone) then fails over at the protocol bound, with no fencing delay. A partition
    /// that also blocks the probe can give two holders.
    #[default]
    IfInUse,
    /// Also fence the last known master whenever it went silent (Master_Down_Timer expiry),
    /// whatever the probe says (STONITH style). Safe under partitions; failover takes the fence
    /// time on top of the protocol bound. A master that released with priority 0 is not fenced.
    Always,
}

/// Everything the election machine needs to know about its instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionConfig {
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// VRRP version.
    pub version: Version,
    /// Base priority (before tracked-check weights).
    pub priority: Priority,
    /// This router's Advertisement_Interval.
    pub advert_interval: Interval,
    /// Preempt_Mode: whether a higher-priority backup takes over from a lower-priority master.
    pub preempt: bool,
    /// How long a backup waits, after starting, before it may preempt.
    pub preempt_delay: Duration,
    /// The primary address adverts are sent from; breaks priority ties.
    pub local_addr: IpAddr,
    /// The VIPs this instance protects.
    pub vips: Vec<Vip>,
    /// Whether a RoleProbe gates eligibility. When true the instance is eligible only after the
    /// probe has said Primary, and until it says anything else.
    pub role_gated: bool,
    /// Tracked checks, by index; results arrive as [`crate::election::Input::Check`].
    pub checks: Vec<CheckSpec>,
    /// Whether a Fencer is available. Without one, a VIP found in use is never added.
    pub fencing: bool,
    /// Whether an ownership arbiter gates the VIPs ([`crate::OwnershipArbiter`]): a claim adds
    /// them only under a grant, a master keeps them only until the grant's deadline. Without
    /// one (the default) the machine behaves as plain vip.
    pub arbiter: bool,
    /// When to fence (only meaningful with `fencing`).
    pub fence_policy: FencePolicy,
    /// The in-use probe's time bound. The machine starts a master-down claim (claiming advert
    /// and probe) this long before the master-down timer expires, but at most one
    /// Master_Adver_Interval, so that the probe's answer is ready when the timer fires. When
    /// that caps it (fast intervals), the probe alone starts earlier, half an interval after
    /// the first missed advert at the soonest, and waits only until the timer expires
    /// (Master_Down_Interval minus 1.5 Master_Adver_Interval, if that is shorter than this
    /// bound).
    pub in_use_probe_timeout: Duration,
    /// How long a claimant's claiming advert must have been on the wire before it adds the
    /// VIPs, so that a competing claimant's advert sent at the same moment is heard first.
    /// The machine already starts a master-down claim (advert and in-use probe) up to
    /// `in_use_probe_timeout` (at most one Master_Adver_Interval) before the
    /// Master_Down_Timer expires and holds the claim for that lead, so a hold up to that lead
    /// costs nothing: the VIPs are still added when the timer expires (3 x advert + skew).
    /// A longer hold (for a LAN whose one-way delay can exceed the lead) delays every
    /// takeover by the difference. Zero (the default) relies on the lead alone.
    pub claim_hold: Duration,
    /// First back-off after a failed claim (VIP still in use after fencing).
    pub claim_backoff_initial: Duration,
    /// Largest back-off between claim attempts.
    pub claim_backoff_max: Duration,
    /// VRRP without an arbiter: give a master's VIPs this kernel valid lifetime, refreshed
    /// with each advert it sends, so that a wedged or stopped daemon loses them in the kernel
    /// (see `lifetime.rs`). `None` (the default): permanent addresses. Ignored with an arbiter,
    /// whose deadline sets the lifetime.
    pub vip_lifetime: Option<Duration>,
}

impl ElectionConfig {
    /// A config with RFC defaults: priority 100, 1 s adverts, preempt on, no delay, no checks, no
    /// role gating, no fencer, no arbiter, a 50 ms in-use probe, no claim hold beyond the claim lead and
    /// 200 ms..5 s claim back-off, permanent VIPs.
    pub fn new(vrid: u8, local_addr: IpAddr, vips: Vec<Vip>) -> Self {
        ElectionConfig {
            vrid,
            version: Version::V3,
            priority: Priority::DEFAULT,
            advert_interval: Interval::DEFAULT_ADVERT,
            preempt: true,
            preempt_delay: Duration::ZERO,
            local_addr,
            vips,
            role_gated: false,
            checks: Vec::new(),
            fencing: false,
            arbiter: false,
            fence_policy: FencePolicy::IfInUse,
            in_use_probe_timeout: Duration::from_millis(50),
            claim_hold: Duration::ZERO,
            claim_backoff_initial: Duration::from_millis(200),
            claim_backoff_max: Duration::from_secs(5),
            vip_lifetime: None,
        }
    }
}
