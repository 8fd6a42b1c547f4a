//! The desired kernel state: what the pools want, independent of how it is written. This is
//! the seam between the sans-IO pools and a kernel backend ([`KernelRules`]): nftables here,
//! IPVS elsewhere.

use std::net::{IpAddr, SocketAddr};

use crate::{LbError, Protocol, Scheduler};

/// One destination of a service with its weight (above 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Where connections go.
    pub addr: SocketAddr,
    /// Its share (wrr, sh, dh); rr ignores it.
    pub weight: u32,
}

/// The rules of one active service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRules {
    /// The service's name.
    pub name: String,
    /// Its VIP.
    pub vip: IpAddr,
    /// Its port.
    pub port: u16,
    /// Its protocol.
    pub protocol: Protocol,
    /// Its scheduler.
    pub scheduler: Scheduler,
    /// Where new connections go; empty: no rule (they reach the balancer itself, which
    /// refuses them unless something listens on the VIP's port).
    pub targets: Vec<Target>,
}

/// The most slots a service's dispatch map has; weights are reduced (by their greatest common
/// divisor, then in proportion) to fit.
pub const MAX_SLOTS: u32 = 256;

impl ServiceRules {
    /// The dispatch slots: slot `k` sends to `targets[slots()[k]]`. rr: one slot per target;
    /// wrr, sh and dh: slots in proportion to the weights, spread evenly (smooth weighted
    /// round robin), at most [`MAX_SLOTS`].
    pub fn slots(&self) -> Vec<usize> {
        let weights: Vec<u32> = match self.scheduler {
            Scheduler::Rr => self.targets.iter().map(|_| 1).collect(),
            _ => reduce(self.targets.iter().map(|t| t.weight.max(1)).collect()),
        };
        smooth_order(&weights)
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Weights divided by their gcd, then scaled down (each at least 1) so the sum fits MAX_SLOTS.
fn reduce(weights: Vec<u32>) -> Vec<u32> {
    let g = weights.iter().copied().fold(0, gcd).max(1);
    let w: Vec<u32> = weights.iter().map(|w| w / g).collect();
    let sum: u64 = w.iter().map(|&x| u64::from(x)).sum();
    if sum <= u64::from(MAX_SLOTS) {
        return w;
    }
    let budget = u64::from(MAX_SLOTS).saturating_sub(w.len() as u64).max(1);
    w.iter()
        .map(|&x| 1 + u32::try_from(u64::from(x) * budget / sum).unwrap_or(0))
        .collect()
}

/// Indices repeated by weight, interleaved by smooth weighted round robin.
fn smooth_order(weights: &[u32]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for _ in 0..total {
        for (c, &w) in current.iter_mut().zip(weights) {
            *c += i64::from(w);
        }
        let Some((best, _)) = current
            .iter()
            .enumerate()
            .max_by_key(|&(i, c)| (*c, std::cmp::Reverse(i)))
        else {
            break;
        };
        current[best] -= total;
        out.push(best);
    }
    out
}

/// The whole desired state: the rules of every active service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    /// One entry per active service.
    pub services: Vec<ServiceRules>,
}

/// Connection counts of one destination, as the kernel's connection tracking has them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnCounts {
    /// TCP connections in ESTABLISHED (ipvsadm's ActiveConn).
    pub active: u64,
    /// All other tracked connections to it (other TCP states, UDP flows): ipvsadm's InActConn.
    pub inactive: u64,
}

/// A kernel backend for the rules: writes a whole [`RuleSet`] at once, removes everything of
/// its own, and counts connections. The nftables backend is [`crate::NftRules`]; an IPVS
/// backend would implement the same trait (see `docs/load-balancing.md`).
pub trait KernelRules: Send {
    /// Makes the kernel match `rules` in one atomic step, replacing whatever of its own was
    /// there before (also a stale state left by a crashed run).
    fn apply(&mut self, rules: &RuleSet) -> Result<(), LbError>;
    /// Removes everything of its own from the kernel (no error if nothing is there).
    fn remove(&mut self) -> Result<(), LbError>;
    /// Connection counts per destination of the service `vip:port/protocol`.
    fn connections(
        &mut self,
        vip: SocketAddr,
        protocol: Protocol,
    ) -> Result<std::collections::HashMap<SocketAddr, ConnCounts>, LbError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(scheduler: Scheduler, weights: &[u32]) -> ServiceRules {
        ServiceRules {
            name: "s".into(),
            vip: "198.51.100.10".parse().unwrap(),
            port: 80,
            protocol: Protocol::Tcp,
            scheduler,
            targets: weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| Target {
                    addr: format!("203.0.113.{}:80", i + 2).parse().unwrap(),
                    weight,
                })
                .collect(),
        }
    }

    #[test]
    fn slots_follow_scheduler_and_weights() {
        assert_eq!(rules(Scheduler::Rr, &[5, 1, 1]).slots(), vec![0, 1, 2]);
        assert_eq!(rules(Scheduler::Wrr, &[100, 100]).slots(), vec![0, 1]);
        assert_eq!(rules(Scheduler::Wrr, &[3, 1]).slots(), vec![0, 0, 1, 0]);
        assert_eq!(rules(Scheduler::Sh, &[2, 1]).slots().len(), 3);
        assert!(rules(Scheduler::Wrr, &[]).slots().is_empty());
        let big = rules(Scheduler::Wrr, &[1000, 999, 1]).slots();
        assert!(big.len() <= MAX_SLOTS as usize + 3, "{}", big.len());
        assert!(big.contains(&2));
    }
}
