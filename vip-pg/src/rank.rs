//! The split-brain rule: which of two nodes that both report Primary holds the VIP.
//!
//! **The recorded-primary rule.** Between nodes that both report Primary, the VIP goes to
//!
//! 1. the node whose *own* repmgr metadata records it as the active primary
//!    (a node promoted behind repmgr's back, with `pg_ctl promote` or `pg_promote()`, is not
//!    recorded and loses, even on a higher timeline: the cluster manager and every standby
//!    following it still point at the recorded primary);
//! 2. then the node on the higher timeline (a `repmgr standby promote` done while the old
//!    primary was cut off records the new node in *its* metadata and moves it to a new
//!    timeline; the old primary still records itself, on the old timeline, and loses);
//! 3. then the node with the higher primary IP address (the RFC 9568 tie-break of equal
//!    priorities), which is what decides when both are recorded on the same timeline (two
//!    standbys promoted in separate partitions) or when timelines saturate (see below).
//!
//! **How it is enforced.** VRRP adverts are the only channel between vip nodes, so the rule is
//! folded into the priority a role-gated instance advertises ([`vip_core::RoleReport::priority`]):
//! [`Rank::priority`] maps the rank monotonically into 1..=254. Recorded nodes use 128..=254,
//! unrecorded ones 1..=127, and inside each band the timeline adds one step per timeline. The
//! VRRP election then elects the rule's winner by itself: a master hearing a higher priority
//! steps down (RFC 9568 section 6.4.3) and removes the VIP, a backup with a higher rank preempts
//! (through vip's fence-first claim), and a loser that is frozen is fenced by the winner. The
//! configured priority is not advertised while the rank is known.
//!
//! **Ties and limits.** Equal ranks (same band, same timeline step) give equal priorities, and
//! VRRP's address tie-break decides: deterministic, but not "better". Timelines from 126 on
//! (`Rank::TIMELINE_STEPS - 1`) all map to the top step of their band, so two nodes on
//! timelines 126 and 127 tie and the address decides; a cluster that far along can reset its timeline
//! history with a fresh base backup. A node whose timeline is unknown counts as timeline 0. A
//! [`crate::PostgresProbe`] has no metadata: its nodes are never "recorded" and compare by
//! timeline, then address.

use std::cmp::Ordering;

use vip_core::Priority;

/// A Primary node's standing under the recorded-primary rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rank {
    /// The node's own repmgr metadata records it as the active primary.
    pub recorded: bool,
    /// The node's current timeline (`None`: unknown, ranks as 0).
    pub timeline: Option<u32>,
}

impl Rank {
    /// How many timelines the priority tells apart inside a band (0..=126; higher saturate).
    pub const TIMELINE_STEPS: u32 = 127;
    /// Lowest priority of the recorded band.
    const RECORDED_BASE: u8 = 128;
    /// Lowest priority of the unrecorded band.
    const UNRECORDED_BASE: u8 = 1;

    /// A rank.
    pub fn new(recorded: bool, timeline: Option<u32>) -> Self {
        Rank { recorded, timeline }
    }

    /// The timeline step inside a band: 0..=126.
    fn step(&self) -> u8 {
        let t = self
            .timeline
            .unwrap_or(0)
            .min(Self::TIMELINE_STEPS.saturating_sub(1));
        u8::try_from(t).unwrap_or(u8::MAX / 2)
    }

    /// The VRRP priority that carries this rank: 128..=254 when recorded, 1..=127 otherwise,
    /// plus the (saturating) timeline step. Monotone in the rule's order: a better rank never
    /// gets a lower priority, and ranks that differ below the saturation point get different
    /// priorities.
    pub fn priority(&self) -> Priority {
        let base = if self.recorded {
            Self::RECORDED_BASE
        } else {
            Self::UNRECORDED_BASE
        };
        Priority::new(base.saturating_add(self.step()).min(254))
    }

    /// The rule's order on ranks alone (recorded first, then timeline); `Equal` leaves it to the
    /// address tie-break.
    pub fn rule_cmp(&self, other: &Rank) -> Ordering {
        self.recorded
            .cmp(&other.recorded)
            .then(self.timeline.unwrap_or(0).cmp(&other.timeline.unwrap_or(0)))
    }
}

/// Who wins between two Primary nodes under the rule, including the address tie-break: `true`
/// when `(a, a_addr)` holds the VIP rather than `(b, b_addr)`. This is exactly what the VRRP
/// election decides from the advertised priorities ([`Rank::priority`]) and addresses, so tests
/// can name the expected holder.
pub fn wins(a: &Rank, a_addr: std::net::IpAddr, b: &Rank, b_addr: std::net::IpAddr) -> bool {
    match a.priority().cmp(&b.priority()) {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => a_addr > b_addr,
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([198, 51, 100, last])
    }

    #[test]
    fn bands_and_steps() {
        assert_eq!(Rank::new(true, Some(1)).priority().get(), 129);
        assert_eq!(Rank::new(true, Some(2)).priority().get(), 130);
        assert_eq!(Rank::new(false, Some(2)).priority().get(), 3);
        assert_eq!(Rank::new(false, None).priority().get(), 1);
        assert_eq!(Rank::new(true, None).priority().get(), 128);
        assert_eq!(Rank::new(true, Some(126)).priority().get(), 254);
        assert_eq!(Rank::new(true, Some(u32::MAX)).priority().get(), 254);
        assert_eq!(Rank::new(false, Some(u32::MAX)).priority().get(), 127);
    }

    #[test]
    fn recorded_beats_a_higher_unrecorded_timeline() {
        // pg_promote behind repmgr's back: the standby moves to timeline 2, unrecorded.
        let old = Rank::new(true, Some(1));
        let rogue = Rank::new(false, Some(2));
        assert!(wins(&old, ip(1), &rogue, ip(2)));
        assert!(!wins(&rogue, ip(2), &old, ip(1)));
    }

    #[test]
    fn higher_timeline_wins_between_recorded_nodes() {
        // repmgr standby promote while the old primary was cut off: both record themselves.
        let old = Rank::new(true, Some(1));
        let new = Rank::new(true, Some(2));
        assert!(wins(&new, ip(1), &old, ip(2)));
    }

    #[test]
    fn equal_ranks_fall_to_the_higher_address() {
        let a = Rank::new(true, Some(3));
        assert!(wins(&a, ip(2), &a, ip(1)));
        assert!(!wins(&a, ip(1), &a, ip(2)));
        // Saturated timelines tie too.
        let (x, y) = (Rank::new(true, Some(500)), Rank::new(true, Some(501)));
        assert_eq!(x.priority(), y.priority());
        assert!(wins(&x, ip(9), &y, ip(8)));
    }

    #[test]
    fn priority_is_monotone_in_the_rule_order() {
        // Exhaustive over both bands and timelines around the saturation point.
        let mut ranks = Vec::new();
        for recorded in [false, true] {
            ranks.push(Rank::new(recorded, None));
            for t in (0..140).chain([1000, u32::MAX]) {
                ranks.push(Rank::new(recorded, Some(t)));
            }
        }
        for a in &ranks {
            for b in &ranks {
                let (pa, pb) = (a.priority(), b.priority());
                assert!((1..=254).contains(&pa.get()));
                match a.rule_cmp(b) {
                    Ordering::Greater => {
                        assert!(pa >= pb, "{a:?} {b:?}");
                        let below = |r: &Rank| r.timeline.unwrap_or(0) < Rank::TIMELINE_STEPS - 1;
                        if a.recorded != b.recorded || (below(a) && below(b)) {
                            assert!(pa > pb, "{a:?} {b:?} must be told apart");
                        }
                    }
                    Ordering::Equal => assert_eq!(pa, pb),
                    Ordering::Less => assert!(pa <= pb),
                }
            }
        }
    }
}
