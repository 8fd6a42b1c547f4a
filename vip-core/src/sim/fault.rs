//! Faults the simulator injects on a schedule.

use std::fmt;
use std::time::Duration;

use crate::election::{CheckStatus, Switchover};
use crate::{Role, Timestamp};

/// One fault (or the end of one). Nodes are numbered from 0 in the order of
/// [`super::SimConfig::nodes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Loss probability, in percent, of packets from `from` to `to` (adverts and probes).
    Loss {
        /// Sending node.
        from: usize,
        /// Receiving node.
        to: usize,
        /// Probability in percent; 100 is a burst that drops everything, 0 heals.
        percent: u8,
    },
    /// Loss probability, in percent, on every link.
    LossAll {
        /// Probability in percent; 0 heals.
        percent: u8,
    },
    /// Extra one-way delay and jitter on every link, on top of the configured base.
    Delay {
        /// Extra fixed delay.
        extra: Duration,
        /// Extra uniform jitter (0..=jitter).
        jitter: Duration,
    },
    /// Split the LAN: `groups[i]` is node i's group; only nodes of one group reach each other.
    Partition(Vec<u8>),
    /// Every node reaches every other again.
    Heal,
    /// SIGSTOP the node's daemon: it gets no input until [`Fault::Resume`].
    Pause(usize),
    /// SIGCONT: the daemon gets everything it missed, late, with all overdue timers.
    Resume(usize),
    /// The daemon dies; its VIPs stay on the interface and its kernel still answers ARP.
    Crash(usize),
    /// The crashed daemon starts again: it removes its own stale VIPs, then starts afresh.
    Restart(usize),
    /// The node's database role changes (the role probe sees it at its next run).
    SetRole(usize, Role),
    /// A tracked check of the node changes status.
    Check {
        /// The node.
        node: usize,
        /// Index of the check.
        index: usize,
        /// New status.
        status: CheckStatus,
    },
    /// The node's interface goes down (`false`) or up (`true`).
    Link(usize, bool),
    /// Whether the node's kernel refuses address operations (add, remove, announce) from now
    /// on: each fails with an error after the address latency and changes nothing.
    AddressErrors {
        /// The node.
        node: usize,
        /// True: they fail; false: they work again.
        fail: bool,
    },
    /// Extra latency of the node's address operations from now on (zero: back to normal).
    SlowAddress {
        /// The node.
        node: usize,
        /// Added to [`super::SimConfig::address_latency`].
        extra: Duration,
    },
    /// The node's next restart cannot remove its stale VIPs at the first `attempts` tries
    /// (the runtime's reconcile on start retries before it starts the election).
    ReconcileFails {
        /// The node.
        node: usize,
        /// Failed tries.
        attempts: u32,
    },
    /// Whether fencing succeeds from now on.
    FencerWorks(bool),
    /// Whether the arbiter has quorum (false: members lost; nothing is answered and no lease
    /// expires until it returns).
    ArbiterQuorum(bool),
    /// Whether requests from `node` reach the arbiter (`to`) and its answers reach the node
    /// (`from`): a partition between a node and the service, or one-way loss.
    ArbiterLink {
        /// The node.
        node: usize,
        /// Node to service.
        to: bool,
        /// Service to node.
        from: bool,
    },
    /// An operator turns maintenance on or off on the node (`vipctl maintenance`).
    Maintenance(usize, bool),
    /// An operator asks the node for a planned switchover (`vipctl switchover`).
    Switchover(usize, Switchover),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Loss { from, to, percent } => write!(f, "loss n{from}->n{to} {percent}%"),
            Fault::LossAll { percent } => write!(f, "loss all links {percent}%"),
            Fault::Delay { extra, jitter } => write!(f, "delay +{extra:?} jitter {jitter:?}"),
            Fault::Partition(groups) => {
                f.write_str("partition")?;
                for (i, g) in groups.iter().enumerate() {
                    write!(f, " n{i}:{g}")?;
                }
                Ok(())
            }
            Fault::Heal => f.write_str("heal partition"),
            Fault::Pause(n) => write!(f, "pause n{n}"),
            Fault::Resume(n) => write!(f, "resume n{n}"),
            Fault::Crash(n) => write!(f, "crash n{n}"),
            Fault::Restart(n) => write!(f, "restart n{n}"),
            Fault::SetRole(n, role) => write!(f, "role n{n} = {role}"),
            Fault::Check {
                node,
                index,
                status,
            } => write!(f, "check n{node}#{index} {status:?}"),
            Fault::Link(n, up) => write!(f, "link n{n} {}", if *up { "up" } else { "down" }),
            Fault::AddressErrors { node, fail } => write!(
                f,
                "address operations n{node} {}",
                if *fail { "fail" } else { "work" }
            ),
            Fault::SlowAddress { node, extra } => {
                write!(f, "address operations n{node} +{extra:?}")
            }
            Fault::ReconcileFails { node, attempts } => {
                write!(
                    f,
                    "reconcile n{node} fails {attempts} times at the next restart"
                )
            }
            Fault::FencerWorks(ok) => write!(f, "fencer {}", if *ok { "works" } else { "fails" }),
            Fault::ArbiterQuorum(ok) => {
                write!(
                    f,
                    "arbiter {}",
                    if *ok { "has quorum" } else { "lost quorum" }
                )
            }
            Fault::ArbiterLink { node, to, from } => {
                write!(f, "arbiter link n{node}: to {to}, from {from}")
            }
            Fault::Maintenance(n, on) => {
                write!(f, "maintenance n{n} {}", if *on { "on" } else { "off" })
            }
            Fault::Switchover(n, s) => write!(f, "switchover n{n} {s:?}"),
        }
    }
}

/// A fault at a virtual instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedFault {
    /// When it happens.
    pub at: Timestamp,
    /// What happens.
    pub fault: Fault,
}

impl fmt::Display for TimedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>12} {}", self.at.to_string(), self.fault)
    }
}

/// A readable multi-line listing of a schedule.
pub fn format_schedule(schedule: &[TimedFault]) -> String {
    let mut out = String::new();
    for tf in schedule {
        out.push_str(&tf.to_string());
        out.push('\n');
    }
    out
}
