//! Property tests of one machine under random input sequences: the safety rules of the claim
//! (add only after a Free answer to the newest probe), state/holding consistency, role gating,
//! fault, event chaining and timer progress; with an ownership arbiter, adds only under a
//! live grant, a master always wakes by its grant's deadline, and a release runs remove ->
//! release -> priority 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::Duration;

use proptest::prelude::*;

use crate::{
    ArbiterError, Error, FenceOutcome, FencingToken, InUse, Interval, PeerId, Priority, Role,
    Timestamp, Vip,
};

use super::{
    Action, AddressOp, Advert, ArbiterGrant, ArbiterStanding, CheckSpec, CheckStatus, Election,
    ElectionConfig, EventKind, FencePolicy, Input, State, StopMode,
};

#[derive(Debug, Clone)]
enum Step {
    Timer,
    Advert {
        peer: u8,
        priority: u8,
        interval: u32,
        mismatch: bool,
    },
    Probe {
        answer: u8,
        stale: bool,
    },
    Fence {
        ok: bool,
    },
    Role {
        primary: bool,
    },
    Check {
        index: usize,
        failing: bool,
    },
    Link {
        up: bool,
    },
    Removed,
    AddError {
        transient: bool,
    },
    Stop {
        keep: bool,
    },
    Start,
    /// The arbiter answers the newest acquire: 0 granted, 1 held elsewhere, 2 unavailable.
    Acquired {
        answer: u8,
        ttl_ms: u16,
    },
    /// The arbiter publishes a renewal (or a loss).
    Standing {
        held: bool,
        ttl_ms: u16,
    },
    Revoked {
        ok: bool,
    },
}

fn step() -> impl Strategy<Value = (u16, Step)> {
    let s = prop_oneof![
        6 => Just(Step::Timer),
        4 => (0u8..3, prop_oneof![Just(0u8), 1u8..=254, Just(255u8)], prop_oneof![Just(100u32), Just(35u32)], any::<bool>())
            .prop_map(|(peer, priority, interval, m)| Step::Advert { peer, priority, interval, mismatch: m && peer == 0 }),
        4 => (0u8..3, any::<bool>()).prop_map(|(answer, stale)| Step::Probe { answer, stale }),
        2 => any::<bool>().prop_map(|ok| Step::Fence { ok }),
        1 => any::<bool>().prop_map(|primary| Step::Role { primary }),
        1 => (0usize..2, any::<bool>()).prop_map(|(index, failing)| Step::Check { index, failing }),
        1 => any::<bool>().prop_map(|up| Step::Link { up }),
        1 => Just(Step::Removed),
        1 => any::<bool>().prop_map(|transient| Step::AddError { transient }),
        1 => any::<bool>().prop_map(|keep| Step::Stop { keep }),
        1 => Just(Step::Start),
        3 => (0u8..3, 0u16..3000).prop_map(|(answer, ttl_ms)| Step::Acquired { answer, ttl_ms }),
        2 => (any::<bool>(), 0u16..3000).prop_map(|(held, ttl_ms)| Step::Standing { held, ttl_ms }),
        1 => any::<bool>().prop_map(|ok| Step::Revoked { ok }),
    ];
    (0u16..1500, s)
}

fn config() -> impl Strategy<Value = ElectionConfig> {
    (
        prop_oneof![Just(50u8), Just(100), Just(150), Just(255)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(0u64), Just(2000)],
        prop_oneof![Just(100u32), Just(20), Just(1)],
    )
        .prop_map(
            |(priority, fencing, always, gated, preempt, delay, interval)| {
                let local: IpAddr = "198.51.100.10".parse().unwrap();
                let mut c = ElectionConfig::new(
                    1,
                    local,
                    vec![Vip::host("198.51.100.100".parse().unwrap(), "eth0")],
                );
                c.priority = Priority::new(priority);
                c.fencing = fencing;
                c.fence_policy = if always {
                    FencePolicy::Always
                } else {
                    FencePolicy::IfInUse
                };
                c.role_gated = gated;
                c.preempt = preempt;
                c.preempt_delay = Duration::from_millis(delay);
                c.advert_interval = Interval::from_centis(interval);
                c.checks = vec![CheckSpec { weight: -30 }, CheckSpec { weight: 0 }];
                c
            },
        )
}

const PEERS: [&str; 3] = ["198.51.100.5", "198.51.100.20", "198.51.100.10"];

#[derive(Default)]
struct Model {
    holding: bool,
    last_probe: Option<u64>,
    last_fence: Option<u64>,
    /// The answer fed for the newest probe: Some(true) = Free.
    newest_answer_free: Option<bool>,
    primary: bool,
    kept: bool,
    last_acquire: Option<u64>,
    last_revoke: Option<u64>,
    /// The deadline of the grant answered to the newest acquire (None: no grant in hand).
    granted_until: Option<Timestamp>,
}

fn run(config: ElectionConfig, steps: Vec<(u16, Step)>) -> Result<(), TestCaseError> {
    let gated = config.role_gated;
    let arbiter = config.arbiter;
    let mut e = Election::new(config, 9);
    let mut m = Model::default();
    let mut now = Timestamp::ZERO;
    let mut state = e.state();
    e.handle(now, Input::Start);
    for (dt, s) in std::iter::once((0, Step::Timer)).chain(steps) {
        let mut fired_at = None;
        let input = match s {
            Step::Timer => match e.poll_timeout() {
                Some(t) => {
                    now = now.max(t);
                    fired_at = Some(now);
                    Input::Timer
                }
                None => continue,
            },
            other => {
                now = now + Duration::from_millis(u64::from(dt));
                match other {
                    Step::Timer => unreachable!(),
                    Step::Advert {
                        peer,
                        priority,
                        interval,
                        mismatch,
                    } => Input::Advert(Advert {
                        from: PeerId(PEERS[usize::from(peer)].parse().unwrap()),
                        priority: Priority::new(priority),
                        max_advert_interval: Interval::from_centis(interval),
                        address_mismatch: mismatch,
                    }),
                    Step::Probe { answer, stale } => {
                        let Some(id) = m.last_probe else { continue };
                        let id = if stale { id.wrapping_sub(1) } else { id };
                        let result = match answer {
                            0 => Ok(InUse::Free),
                            1 => Ok(InUse::Held {
                                vip: e.config().vips[0].clone(),
                                holder: Some([2, 0, 0, 0, 0, 1]),
                            }),
                            _ => Err(Error::timeout("probe", Duration::from_millis(50))),
                        };
                        if !stale && m.newest_answer_free.is_none() {
                            m.newest_answer_free = Some(answer == 0);
                        }
                        Input::InUse { probe: id, result }
                    }
                    Step::Fence { ok } => {
                        let Some(id) = m.last_fence else { continue };
                        let outcome = if ok {
                            FenceOutcome::Fenced
                        } else {
                            FenceOutcome::Failed {
                                reason: "no".into(),
                            }
                        };
                        Input::Fenced { fence: id, outcome }
                    }
                    Step::Role { primary } => {
                        m.primary = primary;
                        Input::Role(if primary {
                            Role::Primary
                        } else {
                            Role::Standby
                        })
                    }
                    Step::Check { index, failing } => Input::Check {
                        index,
                        status: if failing {
                            CheckStatus::Failing
                        } else {
                            CheckStatus::Passing
                        },
                    },
                    Step::Link { up } => Input::Link(up),
                    Step::Removed => Input::VipRemovedExternally,
                    Step::AddError { transient } => Input::Address {
                        op: AddressOp::Add,
                        result: Err(if transient {
                            Error::timeout("add", Duration::from_millis(10))
                        } else {
                            Error::InterfaceNotFound {
                                interface: "eth0".into(),
                            }
                        }),
                    },
                    Step::Stop { keep } => {
                        m.kept = if e.state() == State::Initialize {
                            keep && m.kept
                        } else {
                            keep && e.holds_vips()
                        };
                        Input::Stop(if keep {
                            StopMode::Keep
                        } else {
                            StopMode::Release
                        })
                    }
                    Step::Start => Input::Start,
                    Step::Acquired { answer, ttl_ms } => {
                        let Some(id) = m.last_acquire else { continue };
                        let deadline = now + Duration::from_millis(u64::from(ttl_ms));
                        let result = match answer {
                            0 => {
                                m.granted_until = Some(deadline);
                                Ok(ArbiterGrant {
                                    token: FencingToken(id),
                                    deadline,
                                })
                            }
                            1 => Err(ArbiterError::HeldElsewhere {
                                holder: "other".into(),
                                token: Some(FencingToken(1)),
                            }),
                            _ => Err(ArbiterError::Unavailable {
                                backend: "test".into(),
                                reason: "down".into(),
                                hint: "none".into(),
                            }),
                        };
                        Input::Acquired { id, result }
                    }
                    Step::Standing { held, ttl_ms } => {
                        let standing = match e.grant() {
                            Some(g) if held => ArbiterStanding::Held(ArbiterGrant {
                                token: g.token,
                                deadline: now + Duration::from_millis(u64::from(ttl_ms)),
                            }),
                            _ => ArbiterStanding::Lost {
                                reason: "gone".into(),
                            },
                        };
                        Input::Standing(standing)
                    }
                    Step::Revoked { ok } => {
                        let Some(id) = m.last_revoke else { continue };
                        let result = if ok {
                            Ok(())
                        } else {
                            Err(ArbiterError::Unavailable {
                                backend: "test".into(),
                                reason: "down".into(),
                                hint: "none".into(),
                            })
                        };
                        Input::Revoked { id, result }
                    }
                }
            }
        };
        let label = (input.clone(), now);
        e.handle(now, input);
        let mut removed_at = None;
        let mut release_at = None;
        let mut given_back_at = None;
        let mut i = 0;
        while let Some(a) = e.poll_action() {
            match a {
                Action::ProbeInUse { id, .. } => {
                    m.last_probe = Some(id);
                    m.newest_answer_free = None;
                }
                Action::Fence { id, .. } => m.last_fence = Some(id),
                Action::Acquire { id } => {
                    m.last_acquire = Some(id);
                    m.granted_until = None;
                }
                Action::RevokeFenced { id, .. } => m.last_revoke = Some(id),
                Action::ReleaseArbiter => given_back_at = Some(i),
                Action::AddVips(_) => {
                    if arbiter {
                        prop_assert!(
                            m.granted_until.is_some_and(|d| d > now),
                            "added without a live grant: {:?}",
                            label
                        );
                    }
                    prop_assert_eq!(
                        m.newest_answer_free,
                        Some(true),
                        "added without a Free answer to the newest probe: {:?}",
                        label
                    );
                    m.holding = true;
                    m.kept = false;
                }
                Action::RemoveVips(_) => {
                    m.holding = false;
                    removed_at = Some(i);
                }
                Action::SendAdvert { priority } if priority.is_release() => release_at = Some(i),
                Action::Event(ev) => {
                    if let EventKind::Transition { from, to } = ev.kind {
                        prop_assert_eq!(from, state, "event chain: {:?}", label);
                        state = to;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if let (Some(r), Some(s)) = (removed_at, release_at) {
            prop_assert!(
                r < s,
                "RemoveVips must precede the priority-0 advert: {:?}",
                label
            );
        }
        if let (Some(r), Some(g)) = (removed_at, given_back_at) {
            prop_assert!(r < g, "remove before release: {:?}", label);
        }
        if let (Some(g), Some(s)) = (given_back_at, release_at) {
            prop_assert!(g < s, "release before priority 0: {:?}", label);
        }
        if arbiter && e.state() == State::Master {
            let grant = e.grant();
            prop_assert!(grant.is_some(), "master without a grant: {:?}", label);
            if let (Some(g), Some(next)) = (grant, e.poll_timeout()) {
                prop_assert!(next <= g.deadline, "sleeps past the deadline: {:?}", label);
            }
        }
        prop_assert_eq!(
            state,
            e.state(),
            "every state change is an event: {:?}",
            label
        );
        prop_assert_eq!(e.holds_vips(), m.holding, "holding: {:?}", label);
        match e.state() {
            State::Master => prop_assert!(m.holding, "master without VIPs: {:?}", label),
            State::Initialize if m.kept => {}
            _ => prop_assert!(!m.holding, "holding in {}: {:?}", e.state(), label),
        }
        if gated && !m.primary {
            prop_assert!(
                !matches!(e.state(), State::Master | State::Claiming),
                "ineligible node claims: {:?}",
                label
            );
        }
        if let (Some(t), Some(next)) = (fired_at, e.poll_timeout()) {
            prop_assert!(next > t, "timer does not progress: {:?} -> {}", label, next);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { max_shrink_iters: 2000, ..ProptestConfig::default() })]
    #[test]
    fn machine_invariants(
        mut config in config(),
        arbiter in any::<bool>(),
        steps in prop::collection::vec(step(), 0..40),
    ) {
        config.arbiter = arbiter;
        run(config, steps)?;
    }
}
