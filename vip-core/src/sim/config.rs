//! Configuration of a simulated cluster.

use std::time::Duration;

use crate::election::ElectionConfig;
use crate::{MacAddr, Role};

/// One simulated node.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Its election instance's configuration (`local_addr` identifies the node on the LAN).
    pub election: ElectionConfig,
    /// Its database role at boot (what the role probe reports until a [`super::Fault::SetRole`]).
    pub role: Role,
    /// Its link-layer address (what answers an in-use probe).
    pub mac: MacAddr,
}

/// Timings of the simulated LAN, kernel and backends.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The nodes, numbered from 0.
    pub nodes: Vec<NodeSpec>,
    /// Seed for delays, losses and the machines' own seeds.
    pub seed: u64,
    /// Base one-way packet delay.
    pub net_delay: Duration,
    /// Base jitter added to each packet (uniform 0..=jitter).
    pub net_jitter: Duration,
    /// Time for the kernel to add, remove or announce addresses and report back.
    pub address_latency: Duration,
    /// Time for the fencer to act on its target and report.
    pub fence_time: Duration,
    /// What the fencer does to its target.
    pub fence_kind: FenceKind,
    /// How long a fenced (powered-off) node stays down before it boots again.
    pub fence_restart_after: Duration,
    /// How often each node's role probe runs.
    pub role_probe_interval: Duration,
    /// How long a role probe takes to answer (at most its timeout).
    pub role_probe_latency: Duration,
    /// Number of in-use probe packets (RFC 5227 sends 3); a probe misses a holder only when
    /// every one of them (or its reply) is lost.
    pub in_use_probe_packets: u8,
    /// Each node boots at a seeded random instant in `0..=boot_spread` (zero: all at once).
    pub boot_spread: Duration,
    /// Record a readable trace (costs time; switch on to explain a failure).
    pub trace: bool,
    /// An ownership arbiter (a lease service) for the nodes whose `election.arbiter` is set;
    /// `None`: they are told it is unavailable.
    pub arbiter: Option<ArbiterSpec>,
}

/// What a successful fence does to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FenceKind {
    /// Power the target off (interface cleared, daemon gone); it boots again after
    /// [`SimConfig::fence_restart_after`].
    Stonith,
    /// Only remove the target's VIPs (`ip addr del` over ssh): a daemon that still runs hears
    /// a removal by someone else, and a master that cannot see its rival claims again.
    AddressOnly,
}

/// A simulated ownership arbiter: one linearizable lease service (an etcd cluster as its
/// clients see it) with its own clock rate, reached over links of its own.
///
/// - Acquire creates a lease for the caller when none is live (a new, larger fencing token),
///   renews the caller's own, or answers "held elsewhere" with the holder's token. It takes
///   two round trips in vip-etcd (a lease grant, then a transaction naming the new lease), so
///   an acquire from a node whose answers are lost changes nothing.
/// - A lease lives `ttl` on the service's clock from the last request that created or
///   renewed it: `ttl * 1000 / rate_permille` of true time.
/// - The client (inside the node's daemon: a paused or dead daemon sends nothing) renews every
///   `ttl / 3` and computes the deadline the way vip-etcd does: the send time of the request
///   the service acknowledged, plus `ttl * (1000 - drift_permille) / 1000`, minus `margin`.
/// - A call not answered within `call_timeout` is reported unavailable. Release and
///   revoke end the lease at the service.
/// - Members lost ([`super::Fault::ArbiterQuorum`]): requests go unanswered and no lease
///   expires; when quorum returns every live lease gets a full `ttl` again (etcd renews all
///   leases on a leader change).
#[derive(Debug, Clone)]
pub struct ArbiterSpec {
    /// Lease TTL, on the service's clock.
    pub ttl: Duration,
    /// The service's clock rate, in thousandths of true time (1000: exact; 1050: 5% fast).
    pub rate_permille: u32,
    /// The clients' allowance for clock drift, in thousandths of the TTL.
    pub drift_permille: u32,
    /// Removal margin the clients subtract from each deadline.
    pub margin: Duration,
    /// One-way latency between a node and the service.
    pub latency: Duration,
    /// How long a client waits for an answer.
    pub call_timeout: Duration,
}

impl ArbiterSpec {
    /// A service with lease TTL `ttl`, an exact clock, 5% drift allowance, 100 ms margin,
    /// 1 ms latency and a 300 ms call timeout.
    pub fn new(ttl: Duration) -> Self {
        ArbiterSpec {
            ttl,
            rate_permille: 1000,
            drift_permille: 50,
            margin: Duration::from_millis(100),
            latency: Duration::from_millis(1),
            call_timeout: Duration::from_millis(300),
        }
    }
}

impl SimConfig {
    /// A LAN with the given nodes and fast, realistic defaults: 0.2 ms delay, 0.3 ms jitter,
    /// 1 ms address operations, 200 ms fencing, boot 1 s after fencing, a role probe every
    /// 200 ms answering in 20 ms, no arbiter.
    pub fn new(nodes: Vec<NodeSpec>, seed: u64) -> Self {
        SimConfig {
            nodes,
            seed,
            net_delay: Duration::from_micros(200),
            net_jitter: Duration::from_micros(300),
            address_latency: Duration::from_millis(1),
            fence_time: Duration::from_millis(200),
            fence_kind: FenceKind::Stonith,
            fence_restart_after: Duration::from_secs(1),
            role_probe_interval: Duration::from_millis(200),
            role_probe_latency: Duration::from_millis(20),
            in_use_probe_packets: 3,
            boot_spread: Duration::ZERO,
            trace: false,
            arbiter: None,
        }
    }
}
