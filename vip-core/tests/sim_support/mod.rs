//! Shared scenario generation and checking for the simulator property tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use vip_core::election::{CheckSpec, CheckStatus, ElectionConfig, FencePolicy};
use vip_core::reconcile::{RECONCILE_RETRIES, retry_wait};
use vip_core::sim::{Fault, NodeSpec, Sim, SimConfig, TimedFault, format_schedule};
use vip_core::{Interval, Priority, Role, Timestamp, Vip};

/// Advertisement interval of every node: 10 cs = 100 ms.
pub const ADVERT: Interval = Interval::from_centis(10);
/// The in-use probe's time bound.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(50);
/// Role probe period.
pub const ROLE_INTERVAL: Duration = Duration::from_millis(200);
/// Role probe timeout; the simulated probe always answers at its timeout (worst case).
pub const ROLE_TIMEOUT: Duration = Duration::from_millis(50);
/// Kernel address operation latency.
pub const ADDRESS_LATENCY: Duration = Duration::from_millis(1);
/// Fencing time.
pub const FENCE_TIME: Duration = Duration::from_millis(200);
/// Base LAN delay and jitter.
pub const NET_DELAY: Duration = Duration::from_micros(200);
/// Base LAN jitter.
pub const NET_JITTER: Duration = Duration::from_micros(300);
/// Claim hold: at least the LAN's worst one-way delay (0.5 ms base + 20 ms delay faults), so
/// that simultaneous claimants hear each other before adding.
pub const CLAIM_HOLD: Duration = Duration::from_millis(25);
/// Largest claim back-off.
pub const BACKOFF_MAX: Duration = Duration::from_millis(1000);
/// Faults start after this (the cluster has converged by then).
pub const FAULTS_FROM_MS: u64 = 1_500;
/// Faults start before this.
pub const FAULTS_UNTIL_MS: u64 = 15_000;
/// How long the settled state is watched.
pub const OBSERVE: Duration = Duration::from_secs(2);

/// Check 0 has weight 0 (fault), check 1 weight -60 (priority drop).
pub const CHECKS: [i32; 2] = [0, -60];

/// One fault episode: it starts, lasts, and (except role changes) ends.
#[derive(Clone, PartialEq, Eq)]
pub struct Episode {
    pub start_ms: u64,
    pub len_ms: u64,
    pub kind: Kind,
}

/// What an episode does. Node numbers are taken modulo the node count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Loss {
        from: usize,
        to: usize,
        percent: u8,
    },
    LossAll {
        percent: u8,
    },
    Delay {
        extra_ms: u64,
        jitter_ms: u64,
    },
    Partition {
        groups: Vec<u8>,
    },
    Pause {
        node: usize,
    },
    Crash {
        node: usize,
    },
    Role {
        node: usize,
        role: u8,
    },
    Check {
        node: usize,
        index: usize,
    },
    Link {
        node: usize,
    },
    FencerBroken,
    /// The node's address operations fail while the episode lasts.
    AddressErrors {
        node: usize,
    },
    /// The node's address operations take `extra_ms` longer while the episode lasts.
    SlowAddress {
        node: usize,
        extra_ms: u64,
    },
    /// The node's daemon crashes; when it restarts its reconcile fails `attempts` times.
    BadReconcile {
        node: usize,
        attempts: u32,
    },
}

/// An episode of `kind` from `start_ms`, lasting `len_ms`.
pub fn ep(start_ms: u64, len_ms: u64, kind: Kind) -> Episode {
    Episode {
        start_ms,
        len_ms,
        kind,
    }
}

impl fmt::Debug for Episode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}ms+{}ms {:?}", self.start_ms, self.len_ms, self.kind)
    }
}

/// The fault classes a property draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classes {
    /// Everything.
    All,
    /// Everything except partitions and packet loss (the in-use probe sees every holder).
    NoNetworkSplit,
    /// Everything except partial or one-way packet loss: network splits are whole partitions
    /// or total symmetric loss bursts.
    WholeSplits,
    /// Only partial packet loss (per link, so also one-way).
    PartialLoss,
    /// Only pauses.
    Pause,
    /// Only partitions.
    Partition,
    /// Only crashes.
    Crash,
    /// Partitions and crashes (a daemon may restart inside a partition).
    PartitionAndCrash,
    /// The no-split kinds plus the kernel's address faults: operations failing or slow, and a
    /// restart whose reconcile fails.
    AddressFaults,
}

/// A whole test case: the cluster and its fault schedule.
#[derive(Clone, PartialEq, Eq)]
pub struct Scenario {
    pub seed: u64,
    pub priorities: Vec<u8>,
    pub preempt: bool,
    pub role_gated: bool,
    pub fencing: bool,
    pub policy: FencePolicy,
    pub episodes: Vec<Episode>,
    /// How long a fenced node stays powered off.
    pub fence_reboot: Duration,
    /// Nodes boot at seeded instants within this spread.
    pub boot_spread: Duration,
    /// The machines' claim hold.
    pub claim_hold: Duration,
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Scenario {{ seed: {}, priorities: {:?}, preempt: {}, role_gated: {}, fencing: {}, policy: {:?}, fence_reboot: {:?}, boot_spread: {:?}, claim_hold: {:?} }}",
            self.seed,
            self.priorities,
            self.preempt,
            self.role_gated,
            self.fencing,
            self.policy,
            self.fence_reboot,
            self.boot_spread,
            self.claim_hold
        )?;
        write!(f, "schedule:\n{}", format_schedule(&self.schedule()))
    }
}

fn role_of(code: u8) -> Role {
    match code % 3 {
        0 => Role::Primary,
        1 => Role::Standby,
        _ => Role::unknown("probe timed out"),
    }
}

impl Scenario {
    pub fn n(&self) -> usize {
        self.priorities.len()
    }

    /// The episodes as a time-ordered fault schedule.
    pub fn schedule(&self) -> Vec<TimedFault> {
        let n = self.n();
        let mut out = Vec::new();
        let mut push = |ms: u64, fault: Fault| {
            out.push(TimedFault {
                at: Timestamp::from_millis(ms),
                fault,
            });
        };
        for e in &self.episodes {
            let (a, b) = (e.start_ms, e.start_ms + e.len_ms);
            match &e.kind {
                Kind::Loss { from, to, percent } => {
                    let (from, to) = (from % n, to % n);
                    push(
                        a,
                        Fault::Loss {
                            from,
                            to,
                            percent: *percent,
                        },
                    );
                    push(
                        b,
                        Fault::Loss {
                            from,
                            to,
                            percent: 0,
                        },
                    );
                }
                Kind::LossAll { percent } => {
                    push(a, Fault::LossAll { percent: *percent });
                    push(b, Fault::LossAll { percent: 0 });
                }
                Kind::Delay {
                    extra_ms,
                    jitter_ms,
                } => {
                    let extra = Duration::from_millis(*extra_ms);
                    let jitter = Duration::from_millis(*jitter_ms);
                    push(a, Fault::Delay { extra, jitter });
                    push(
                        b,
                        Fault::Delay {
                            extra: Duration::ZERO,
                            jitter: Duration::ZERO,
                        },
                    );
                }
                Kind::Partition { groups } => {
                    push(
                        a,
                        Fault::Partition(groups.iter().take(n).copied().collect()),
                    );
                    push(b, Fault::Heal);
                }
                Kind::Pause { node } => {
                    push(a, Fault::Pause(node % n));
                    push(b, Fault::Resume(node % n));
                }
                Kind::Crash { node } => {
                    push(a, Fault::Crash(node % n));
                    push(b, Fault::Restart(node % n));
                }
                Kind::Role { node, role } => push(a, Fault::SetRole(node % n, role_of(*role))),
                Kind::Check { node, index } => {
                    let (node, index) = (node % n, index % CHECKS.len());
                    push(
                        a,
                        Fault::Check {
                            node,
                            index,
                            status: CheckStatus::Failing,
                        },
                    );
                    push(
                        b,
                        Fault::Check {
                            node,
                            index,
                            status: CheckStatus::Passing,
                        },
                    );
                }
                Kind::Link { node } => {
                    push(a, Fault::Link(node % n, false));
                    push(b, Fault::Link(node % n, true));
                }
                Kind::FencerBroken => {
                    push(a, Fault::FencerWorks(false));
                    push(b, Fault::FencerWorks(true));
                }
                Kind::AddressErrors { node } => {
                    let node = node % n;
                    push(a, Fault::AddressErrors { node, fail: true });
                    push(b, Fault::AddressErrors { node, fail: false });
                }
                Kind::SlowAddress { node, extra_ms } => {
                    let node = node % n;
                    let extra = Duration::from_millis(*extra_ms);
                    push(a, Fault::SlowAddress { node, extra });
                    push(
                        b,
                        Fault::SlowAddress {
                            node,
                            extra: Duration::ZERO,
                        },
                    );
                }
                Kind::BadReconcile { node, attempts } => {
                    let node = node % n;
                    push(a, Fault::Crash(node));
                    push(
                        a,
                        Fault::ReconcileFails {
                            node,
                            attempts: *attempts,
                        },
                    );
                    push(b, Fault::Restart(node));
                }
            }
        }
        // Stable: equal instants keep episode order.
        out.sort_by_key(|tf| tf.at);
        out
    }

    /// True if a node (re)joins the election while a partition or packet loss is in force,
    /// or within the liveness bound before one starts: a daemon restart, its link coming up,
    /// its fault check clearing, or its role becoming primary. A node that joins and probes
    /// while the holder is cut off has heard no master since it joined, so with
    /// FencePolicy::Always it has nobody to fence.
    pub fn joins_inside_network_split(&self) -> bool {
        let splits: Vec<(u64, u64)> = self
            .episodes
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    Kind::Partition { .. } | Kind::Loss { .. } | Kind::LossAll { .. }
                )
            })
            .map(|e| {
                (
                    e.start_ms
                        .saturating_sub(self.liveness_bound().as_millis() as u64),
                    e.start_ms + e.len_ms,
                )
            })
            .collect();
        self.episodes.iter().any(|e| {
            let joins_at = match e.kind {
                Kind::Crash { .. }
                | Kind::BadReconcile { .. }
                | Kind::Link { .. }
                | Kind::Check { index: 0, .. } => e.start_ms + e.len_ms,
                Kind::Role { role: 0, .. } => e.start_ms,
                _ => return false,
            };
            splits.iter().any(|&(a, b)| (a..=b).contains(&joins_at))
        })
    }

    /// True if a node's link goes down or up while its daemon is paused or dead: the
    /// stopped daemon cannot react, so the VIP is hidden from the in-use probe while the link
    /// is down and answers again when it comes back (a partition of one node).
    pub fn link_flaps_while_stopped(&self) -> bool {
        let n = self.n();
        let stopped: Vec<(usize, u64, u64)> = self
            .episodes
            .iter()
            .filter_map(|e| match e.kind {
                Kind::Pause { node } | Kind::Crash { node } | Kind::BadReconcile { node, .. } => {
                    Some((node % n, e.start_ms, e.start_ms + e.len_ms))
                }
                _ => None,
            })
            .collect();
        self.episodes.iter().any(|e| match e.kind {
            Kind::Link { node } => {
                let (a, b) = (e.start_ms, e.start_ms + e.len_ms);
                stopped.iter().any(|&(m, s, t)| {
                    m == node % n && ((s..=t).contains(&a) || (s..=t).contains(&b))
                })
            }
            _ => false,
        })
    }

    /// Whether a node's address operations fail while its link is down. Its VIP then stays in
    /// its kernel, unseen by the others' in-use probes, and comes back into view with the link:
    /// no node can prevent that overlap, which lasts until a removal works again. Its bound is
    /// asserted in `sim_chaos_incidents::a_vip_stuck_behind_a_down_link_overlaps_until_a_removal_works`.
    pub fn removal_fails_while_link_down(&self) -> bool {
        let n = self.n();
        let failing: Vec<(usize, u64, u64)> = self
            .episodes
            .iter()
            .filter_map(|e| match e.kind {
                Kind::AddressErrors { node } => Some((node % n, e.start_ms, e.start_ms + e.len_ms)),
                _ => None,
            })
            .collect();
        self.episodes.iter().any(|e| match e.kind {
            Kind::Link { node } => {
                let (a, b) = (e.start_ms, e.start_ms + e.len_ms);
                failing
                    .iter()
                    .any(|&(m, s, t)| m == node % n && s <= b && a <= t)
            }
            _ => false,
        })
    }

    pub fn has(&self, pred: impl Fn(&Kind) -> bool) -> bool {
        self.episodes.iter().any(|e| pred(&e.kind))
    }

    /// Node i's election config.
    pub fn election(&self, i: usize) -> ElectionConfig {
        let vip = Vip::host(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 100)), "eth0");
        let addr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1 + i as u8));
        let mut c = ElectionConfig::new(51, addr, vec![vip]);
        c.priority = Priority::new(self.priorities[i]);
        c.advert_interval = ADVERT;
        c.preempt = self.preempt;
        c.role_gated = self.role_gated;
        c.checks = CHECKS.iter().map(|&weight| CheckSpec { weight }).collect();
        c.fencing = self.fencing;
        c.fence_policy = self.policy;
        c.in_use_probe_timeout = PROBE_TIMEOUT;
        c.claim_hold = self.claim_hold;
        c.claim_backoff_initial = Duration::from_millis(100);
        c.claim_backoff_max = BACKOFF_MAX;
        c
    }

    pub fn sim_config(&self, trace: bool) -> SimConfig {
        let nodes = (0..self.n())
            .map(|i| NodeSpec {
                election: self.election(i),
                // repmgr-like: node 0 is the primary, the others standbys.
                role: if i == 0 { Role::Primary } else { Role::Standby },
                mac: [2, 0, 0, 0, 0, 1 + i as u8],
            })
            .collect();
        let mut cfg = SimConfig::new(nodes, self.seed);
        cfg.net_delay = NET_DELAY;
        cfg.net_jitter = NET_JITTER;
        cfg.address_latency = ADDRESS_LATENCY;
        cfg.fence_time = FENCE_TIME;
        cfg.fence_restart_after = self.fence_reboot;
        cfg.boot_spread = self.boot_spread;
        cfg.role_probe_interval = ROLE_INTERVAL;
        cfg.role_probe_latency = ROLE_TIMEOUT;
        cfg.trace = trace;
        cfg
    }

    pub fn sim(&self, trace: bool) -> Sim {
        let mut sim = Sim::new(self.sim_config(trace));
        sim.schedule(&self.schedule());
        sim
    }

    /// Whether a claim can fail during the faults: without a fencer a VIP found in use is never
    /// added, and a broken fencer fails.
    pub fn claims_can_fail(&self) -> bool {
        !self.fencing || self.has(|k| matches!(k, Kind::FencerBroken))
    }

    /// Largest extra one-way delay any episode adds.
    pub fn max_extra_delay(&self) -> Duration {
        self.episodes
            .iter()
            .map(|e| match e.kind {
                Kind::Delay {
                    extra_ms,
                    jitter_ms,
                } => Duration::from_millis(extra_ms + jitter_ms),
                _ => Duration::ZERO,
            })
            .max()
            .unwrap_or_default()
    }

    /// Master_Down_Interval of the lowest-priority node (the longest one), RFC 9568 6.1:
    /// 3 x Master_Adver_Interval + (256 - priority) x Master_Adver_Interval / 256.
    pub fn master_down_max(&self) -> Duration {
        let adv = ADVERT.as_centis();
        let p = u32::from(*self.priorities.iter().min().unwrap_or(&1))
            .saturating_sub(60)
            .max(1);
        let skew = (256 - p) * adv / 256;
        Duration::from_millis(u64::from((3 * adv + skew) * 10))
    }

    /// The liveness bound after the last disturbance, with every margin named:
    /// 3 x advert + skew (of the lowest effective priority)
    /// + fence time
    /// + the claim hold
    /// + 2 in-use probe timeouts (probe, re-probe after fencing)
    /// + 2 address latencies (old holder removes, new holder adds)
    /// + 2 worst one-way LAN delays (the last advert, the probe reply)
    /// + with role gating: one role probe interval + timeout (eligibility is learned)
    /// + when a claim can fail (no fencer, or a fencer that failed at some point): the largest
    ///   claim back-off, since the claimer retries on its back-off schedule.
    pub fn liveness_bound(&self) -> Duration {
        let net = NET_DELAY + NET_JITTER;
        let mut b = self.master_down_max()
            + FENCE_TIME
            + self.claim_hold
            + 2 * PROBE_TIMEOUT
            + 2 * ADDRESS_LATENCY
            + 2 * net;
        if self.role_gated {
            b += ROLE_INTERVAL + ROLE_TIMEOUT;
        }
        if self.claims_can_fail() {
            b += BACKOFF_MAX;
        }
        b + self.address_fault_allowance()
    }

    /// What the kernel's address faults add to the liveness bound: failed operations are
    /// retried on the claim's back-off (the largest one); slow ones delay the old holder's
    /// removal and the new one's add; a restart whose reconcile fails starts the election after
    /// its retries (100 ms doubling up to 1 s each).
    pub fn address_fault_allowance(&self) -> Duration {
        let mut b = Duration::ZERO;
        if self.has(|k| matches!(k, Kind::AddressErrors { .. })) {
            b += BACKOFF_MAX;
        }
        let slow = self
            .episodes
            .iter()
            .filter_map(|e| match e.kind {
                Kind::SlowAddress { extra_ms, .. } => Some(extra_ms),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        b += 2 * Duration::from_millis(slow);
        let retries = self
            .episodes
            .iter()
            .filter_map(|e| match e.kind {
                Kind::BadReconcile { attempts, .. } => {
                    Some((0..attempts).map(retry_wait).sum::<Duration>())
                }
                _ => None,
            })
            .max()
            .unwrap_or_default();
        b + retries
    }
}

fn kind_strategy(classes: Classes) -> BoxedStrategy<Kind> {
    let node = 0usize..4;
    let loss = (
        node.clone(),
        node.clone(),
        prop_oneof![Just(100u8), 10u8..90],
    )
        .prop_map(|(from, to, percent)| Kind::Loss { from, to, percent });
    let loss_all = prop_oneof![Just(100u8), 10u8..90].prop_map(|percent| Kind::LossAll { percent });
    // The LAN stays within the in-use probe's bound: one way (base + extra + jitter) stays
    // under half the probe timeout, as the probe assumes.
    let delay = (0u64..=10, 0u64..=10).prop_map(|(extra_ms, jitter_ms)| Kind::Delay {
        extra_ms,
        jitter_ms,
    });
    let partition =
        proptest::collection::vec(0u8..2, 4).prop_map(|groups| Kind::Partition { groups });
    let pause = node.clone().prop_map(|node| Kind::Pause { node });
    let crash = node.clone().prop_map(|node| Kind::Crash { node });
    let role = (node.clone(), 0u8..3).prop_map(|(node, role)| Kind::Role { node, role });
    let check = (node.clone(), 0usize..2).prop_map(|(node, index)| Kind::Check { node, index });
    let link = node.prop_map(|node| Kind::Link { node });
    match classes {
        Classes::All => prop_oneof![
            loss,
            loss_all,
            delay,
            partition,
            pause,
            crash,
            role,
            check,
            link,
            Just(Kind::FencerBroken)
        ]
        .boxed(),
        Classes::WholeSplits => prop_oneof![
            Just(Kind::LossAll { percent: 100 }),
            delay,
            partition,
            pause,
            crash,
            role,
            check,
            link,
            Just(Kind::FencerBroken)
        ]
        .boxed(),
        Classes::PartialLoss => prop_oneof![
            (0usize..4, 0usize..4, 10u8..90).prop_map(|(from, to, percent)| Kind::Loss {
                from,
                to,
                percent
            }),
            (10u8..90).prop_map(|percent| Kind::LossAll { percent }),
        ]
        .boxed(),
        Classes::NoNetworkSplit => prop_oneof![
            delay,
            pause,
            crash,
            role,
            check,
            link,
            Just(Kind::FencerBroken)
        ]
        .boxed(),
        Classes::AddressFaults => {
            let errors = (0usize..4).prop_map(|node| Kind::AddressErrors { node });
            // Up to half an advert interval: a slower add keeps the new master silent long
            // enough for a claimant's in-use probe to find the VIP free (a bounded overlap:
            // sim_chaos_incidents::slow_add_overlaps_a_claimant_until_its_first_advert).
            let slow = (0usize..4, 1u64..=50)
                .prop_map(|(node, extra_ms)| Kind::SlowAddress { node, extra_ms });
            let reconcile = (0usize..4, 1u32..=RECONCILE_RETRIES)
                .prop_map(|(node, attempts)| Kind::BadReconcile { node, attempts });
            prop_oneof![
                errors,
                slow,
                reconcile,
                (0usize..4).prop_map(|node| Kind::Pause { node }),
                (0usize..4).prop_map(|node| Kind::Crash { node }),
                (0usize..4, 0usize..2).prop_map(|(node, index)| Kind::Check { node, index }),
                (0usize..4).prop_map(|node| Kind::Link { node }),
            ]
            .boxed()
        }
        Classes::Pause => pause.boxed(),
        Classes::Partition => partition.boxed(),
        Classes::Crash => crash.boxed(),
        Classes::PartitionAndCrash => {
            let partition2 =
                proptest::collection::vec(0u8..2, 4).prop_map(|groups| Kind::Partition { groups });
            let crash2 = (0usize..4).prop_map(|node| Kind::Crash { node });
            prop_oneof![partition2, crash2].boxed()
        }
    }
}

pub fn episodes(classes: Classes, max: usize) -> impl Strategy<Value = Vec<Episode>> {
    let episode = (
        FAULTS_FROM_MS..FAULTS_UNTIL_MS,
        20u64..4_000,
        kind_strategy(classes),
    )
        .prop_map(|(start_ms, len_ms, kind)| Episode {
            start_ms,
            len_ms,
            kind,
        });
    proptest::collection::vec(episode, 0..=max)
}

/// Scenarios for a property.
pub fn scenarios(
    nodes: std::ops::RangeInclusive<usize>,
    classes: Classes,
    fencing: bool,
    policy: FencePolicy,
    role_gated: impl Strategy<Value = bool>,
) -> impl Strategy<Value = Scenario> {
    (
        any::<u64>(),
        proptest::collection::vec(prop_oneof![Just(100u8), 50u8..=200], nodes),
        any::<bool>(),
        role_gated,
        episodes(classes, 6),
        prop_oneof![Just(0u64), 0u64..50],
    )
        .prop_map(
            move |(seed, priorities, preempt, role_gated, episodes, spread_ms)| Scenario {
                seed,
                priorities,
                preempt,
                role_gated,
                fencing,
                policy,
                episodes,
                fence_reboot: Duration::from_secs(1),
                boot_spread: Duration::from_millis(spread_ms),
                claim_hold: CLAIM_HOLD,
            },
        )
}

/// A property violation, with the instant it is about.
pub struct Violation {
    pub at: Option<Timestamp>,
    pub message: String,
}

impl Violation {
    pub fn new(at: Option<Timestamp>, message: impl Into<String>) -> Self {
        Violation {
            at,
            message: message.into(),
        }
    }
}

/// Runs `check` over `strategy` with PROPTEST_CASES cases. On failure, re-runs the shrunk
/// scenario with the trace on and panics with the schedule and the trace around the violation.
pub fn check_property(
    name: &str,
    strategy: impl Strategy<Value = Scenario>,
    check: impl Fn(&Scenario, bool) -> (Sim, Result<(), Violation>),
) {
    let config = Config {
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |s| match check(&s, false).1 {
        Ok(()) => Ok(()),
        Err(v) => Err(TestCaseError::fail(v.message)),
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(_, scenario)) => {
            let (sim, outcome) = check(&scenario, true);
            let v = outcome
                .err()
                .unwrap_or_else(|| Violation::new(None, "did not fail again?"));
            panic!(
                "property {name} failed: {}\n{scenario:?}\ntrace:\n{}",
                v.message,
                trace_around(&sim, v.at)
            );
        }
        Err(e) => panic!("property {name}: {e}"),
    }
}

/// The trace from 3 s before to 1 s after `at` (or its last 400 lines).
pub fn trace_around(sim: &Sim, at: Option<Timestamp>) -> String {
    let lines = sim.trace();
    let picked: Vec<&String> = match at {
        Some(at) => {
            let from = at.as_micros().saturating_sub(3_000_000);
            let to = at.as_micros() + 1_000_000;
            lines
                .iter()
                .filter(|l| {
                    let t = l
                        .trim_start()
                        .split("ms")
                        .next()
                        .and_then(|v| v.parse::<f64>().ok());
                    t.is_some_and(|ms| {
                        let us = (ms * 1000.0) as u64;
                        us >= from && us <= to
                    })
                })
                .collect()
        }
        None => lines
            .iter()
            .rev()
            .take(400)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
    };
    picked.into_iter().map(|l| format!("{l}\n")).collect()
}

/// The end of the schedule's last episode.
pub fn schedule_end(s: &Scenario) -> Timestamp {
    s.schedule()
        .last()
        .map(|tf| tf.at)
        .unwrap_or(Timestamp::ZERO)
}

/// Runs the scenario until it has been quiet for `quiet` (fenced nodes booted, faults over).
pub fn run_settled(s: &Scenario, trace: bool, quiet: Duration) -> (Sim, Result<(), Violation>) {
    let mut sim = s.sim(trace);
    let end = schedule_end(s);
    if let Err(e) = sim.run_until(end) {
        return (sim, Err(Violation::new(Some(end), e.to_string())));
    }
    let limit = end + Duration::from_secs(60);
    let settled = sim.run_until_quiet(quiet, limit);
    sim.finish();
    let res = match settled {
        Err(e) => Err(Violation::new(Some(sim.now()), e.to_string())),
        Ok(false) => Err(Violation::new(
            Some(sim.last_disturbance()),
            format!(
                "never quiet for {quiet:?} within 60 s after the faults (fences keep rebooting nodes; last at {})",
                sim.last_disturbance()
            ),
        )),
        Ok(true) => Ok(()),
    };
    (sim, res)
}

/// No instant with two holders.
pub fn no_overlap(sim: &Sim) -> Result<(), Violation> {
    match sim.oracle().worst_overlap() {
        Some(o) => Err(Violation::new(
            Some(o.start),
            format!(
                "two holders: nodes {:?} from {} for {:?} ({} overlaps in all)",
                o.nodes,
                o.start,
                o.duration(),
                sim.oracle().overlaps().len()
            ),
        )),
        None => Ok(()),
    }
}
