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
    /// Time for the fencer to power off its target and report.
    pub fence_time: Duration,
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
}

impl SimConfig {
    /// A LAN with the given nodes and fast, realistic defaults: 0.2 ms delay, 0.3 ms jitter,
    /// 1 ms address operations, 200 ms fencing, boot 1 s after fencing, a role probe every
    /// 200 ms answering in 20 ms.
    pub fn new(nodes: Vec<NodeSpec>, seed: u64) -> Self {
        SimConfig {
            nodes,
            seed,
            net_delay: Duration::from_micros(200),
            net_jitter: Duration::from_micros(300),
            address_latency: Duration::from_millis(1),
            fence_time: Duration::from_millis(200),
            fence_restart_after: Duration::from_secs(1),
            role_probe_interval: Duration::from_millis(200),
            role_probe_latency: Duration::from_millis(20),
            in_use_probe_packets: 3,
            boot_spread: Duration::ZERO,
            trace: false,
        }
    }
}
