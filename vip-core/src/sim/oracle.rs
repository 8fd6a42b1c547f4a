//! The oracle: who holds the VIP at every virtual instant.
//!
//! A node *holds* the VIP while one of its VIPs is on its interface and its link is up (an
//! address on a downed link answers nobody). The oracle sees every change, so it knows the
//! holder set at every instant, every overlap (two or more holders), and how long a node kept a
//! VIP while its database was not primary.

use std::time::Duration;

use crate::{Role, Timestamp};

/// An interval during which two or more nodes held the VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// When the second holder appeared.
    pub start: Timestamp,
    /// When the holders dropped back to at most one (the end of the run if they never did).
    pub end: Timestamp,
    /// Every node that held the VIP at some point during the overlap.
    pub nodes: Vec<usize>,
}

impl Overlap {
    /// How long it lasted.
    pub fn duration(&self) -> Duration {
        self.end.saturating_since(self.start)
    }
}

/// The longest time a node held the VIP while its role was not primary and its daemon was
/// running (so it could have released).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHold {
    /// The node.
    pub node: usize,
    /// When the clock started: the latest of "holds", "role not primary", "daemon running".
    pub from: Timestamp,
    /// How long it held.
    pub held: Duration,
}

#[derive(Debug, Clone)]
struct NodeView {
    holding: bool,
    holding_since: Timestamp,
    running: bool,
    running_since: Timestamp,
    role: Role,
    nonprimary_since: Timestamp,
    gated: bool,
}

/// Records the holder set over virtual time.
#[derive(Debug, Clone)]
pub struct Oracle {
    nodes: Vec<NodeView>,
    timeline: Vec<(Timestamp, Vec<usize>)>,
    overlaps: Vec<Overlap>,
    open_overlap: Option<Overlap>,
    roles: Vec<Vec<(Timestamp, Role)>>,
    worst_role_hold: Option<RoleHold>,
    finished_at: Option<Timestamp>,
}

impl Oracle {
    /// An oracle for nodes with these boot roles; `gated[i]` says whether node i is bound to a
    /// role probe (only those are held to the role bound).
    pub fn new(roles: Vec<Role>, gated: Vec<bool>) -> Self {
        let nodes = roles
            .iter()
            .zip(gated.iter())
            .map(|(role, &gated)| NodeView {
                holding: false,
                holding_since: Timestamp::ZERO,
                running: false,
                running_since: Timestamp::ZERO,
                role: role.clone(),
                nonprimary_since: Timestamp::ZERO,
                gated,
            })
            .collect();
        let history = roles
            .into_iter()
            .map(|r| vec![(Timestamp::ZERO, r)])
            .collect();
        Oracle {
            nodes,
            timeline: vec![(Timestamp::ZERO, Vec::new())],
            overlaps: Vec::new(),
            open_overlap: None,
            roles: history,
            worst_role_hold: None,
            finished_at: None,
        }
    }

    /// The current holders.
    pub fn holders(&self) -> &[usize] {
        self.timeline
            .last()
            .map(|(_, h)| h.as_slice())
            .unwrap_or(&[])
    }

    /// Every change of the holder set: (instant, holders from then on).
    pub fn timeline(&self) -> &[(Timestamp, Vec<usize>)] {
        &self.timeline
    }

    /// The holders at instant `at` (after every change at `at` itself).
    pub fn holders_at(&self, at: Timestamp) -> &[usize] {
        let idx = self.timeline.partition_point(|(t, _)| *t <= at);
        idx.checked_sub(1)
            .and_then(|i| self.timeline.get(i))
            .map(|(_, h)| h.as_slice())
            .unwrap_or(&[])
    }

    /// Every overlap, closed ones first, then the open one (ending now) if any.
    pub fn overlaps(&self) -> Vec<Overlap> {
        let mut all = self.overlaps.clone();
        if let (Some(open), Some(end)) = (&self.open_overlap, self.finished_at) {
            let mut o = open.clone();
            o.end = end;
            all.push(o);
        }
        all
    }

    /// The longest overlap.
    pub fn worst_overlap(&self) -> Option<Overlap> {
        self.overlaps().into_iter().max_by_key(Overlap::duration)
    }

    /// Per node, every role it had and since when.
    pub fn role_history(&self) -> &[Vec<(Timestamp, Role)>] {
        &self.roles
    }

    /// The longest time a role-gated node held the VIP while not primary with its daemon
    /// running.
    pub fn worst_role_hold(&self) -> Option<&RoleHold> {
        self.worst_role_hold.as_ref()
    }

    /// Node `node` starts or stops holding the VIP.
    pub fn set_holding(&mut self, now: Timestamp, node: usize, holding: bool) {
        let Some(v) = self.nodes.get(node) else {
            return;
        };
        if v.holding == holding {
            return;
        }
        self.close_role_hold(now, node);
        if let Some(v) = self.nodes.get_mut(node) {
            v.holding = holding;
            v.holding_since = now;
        }
        self.record_holders(now);
    }

    /// Node `node`'s daemon starts running, or stops (paused, crashed, powered off).
    pub fn set_running(&mut self, now: Timestamp, node: usize, running: bool) {
        let Some(v) = self.nodes.get(node) else {
            return;
        };
        if v.running == running {
            return;
        }
        self.close_role_hold(now, node);
        if let Some(v) = self.nodes.get_mut(node) {
            v.running = running;
            v.running_since = now;
        }
    }

    /// Node `node`'s database role changes.
    pub fn set_role(&mut self, now: Timestamp, node: usize, role: Role) {
        let Some(v) = self.nodes.get(node) else {
            return;
        };
        if v.role == role {
            return;
        }
        let was_primary = v.role.is_primary();
        if was_primary != role.is_primary() {
            self.close_role_hold(now, node);
        }
        if let Some(v) = self.nodes.get_mut(node) {
            if was_primary && !role.is_primary() {
                v.nonprimary_since = now;
            }
            v.role = role.clone();
        }
        if let Some(h) = self.roles.get_mut(node) {
            h.push((now, role));
        }
    }

    /// Ends the recording at `now`: open intervals are measured up to `now`.
    pub fn finish(&mut self, now: Timestamp) {
        for node in 0..self.nodes.len() {
            self.close_role_hold(now, node);
        }
        self.finished_at = Some(now);
    }

    fn close_role_hold(&mut self, now: Timestamp, node: usize) {
        let Some(v) = self.nodes.get(node) else {
            return;
        };
        if !(v.gated && v.holding && v.running && !v.role.is_primary()) {
            return;
        }
        let from = v.holding_since.max(v.running_since).max(v.nonprimary_since);
        let held = now.saturating_since(from);
        if self.worst_role_hold.as_ref().is_none_or(|w| held > w.held) {
            self.worst_role_hold = Some(RoleHold { node, from, held });
        }
    }

    fn record_holders(&mut self, now: Timestamp) {
        let holders: Vec<usize> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, v)| v.holding)
            .map(|(i, _)| i)
            .collect();
        if holders.len() >= 2 {
            match &mut self.open_overlap {
                Some(o) => {
                    for h in &holders {
                        if !o.nodes.contains(h) {
                            o.nodes.push(*h);
                        }
                    }
                }
                None => {
                    self.open_overlap = Some(Overlap {
                        start: now,
                        end: now,
                        nodes: holders.clone(),
                    })
                }
            }
        } else if let Some(mut o) = self.open_overlap.take() {
            o.end = now;
            self.overlaps.push(o);
        }
        match self.timeline.last_mut() {
            Some((t, h)) if *t == now => *h = holders,
            _ => self.timeline.push((now, holders)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Timestamp {
        Timestamp::from_millis(v)
    }

    #[test]
    fn overlaps_and_timeline() {
        let mut o = Oracle::new(vec![Role::Primary, Role::Standby], vec![false, false]);
        o.set_holding(ms(10), 0, true);
        o.set_holding(ms(20), 1, true);
        o.set_holding(ms(25), 0, false);
        o.set_holding(ms(40), 0, true);
        o.finish(ms(50));
        assert_eq!(o.holders(), &[0, 1]);
        assert_eq!(o.holders_at(ms(22)), &[0, 1]);
        assert_eq!(o.holders_at(ms(30)), &[1]);
        assert_eq!(o.holders_at(ms(5)), &[] as &[usize]);
        let all = o.overlaps();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].duration(), Duration::from_millis(5));
        assert_eq!(all[1].duration(), Duration::from_millis(10));
        assert_eq!(o.worst_overlap().map(|w| w.start), Some(ms(40)));
    }

    #[test]
    fn role_hold_counts_only_running_non_primary_time() {
        let mut o = Oracle::new(vec![Role::Primary], vec![true]);
        o.set_running(ms(0), 0, true);
        o.set_holding(ms(5), 0, true);
        o.set_role(ms(100), 0, Role::Standby);
        o.set_running(ms(110), 0, false); // paused: 10 ms so far
        o.set_running(ms(500), 0, true);
        o.set_holding(ms(530), 0, false); // 30 ms after resume
        o.finish(ms(600));
        let w = o.worst_role_hold().unwrap();
        assert_eq!(w.held, Duration::from_millis(30));
        assert_eq!(w.from, ms(500));
        assert_eq!(o.role_history()[0].len(), 2);
    }
}
