//! The ownership-arbiter seam in the runtime, with a fake arbiter in virtual time: a claim adds
//! only under a grant, the kernel lifetime follows the deadline, a master steps back at the
//! deadline or on loss, a refusal or outage never adds (the refused claimant steps back and
//! asks quietly), a held grant is fenced and revoked,
//! and a release runs remove -> release -> priority-0 advert.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod runtime_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use runtime_support::*;
use tokio::sync::watch;
use vip_core::election::{EventKind, Reason, State, StopMode};
use vip_core::runtime::{InstanceHandle, InstanceSpec, Runtime, Timeouts};
use vip_core::{
    ArbiterError, FenceOutcome, FenceRequest, Fencer, FencingToken, Grant, OwnershipArbiter,
    Standing,
};

/// What the fake arbiter answers to `acquire`.
#[derive(Debug, Clone)]
enum Mode {
    Grant,
    HeldElsewhere(u64),
    Unavailable,
    /// Never answers.
    Hang,
}

/// An arbiter that grants for `ttl` from the call, publishes through a watch channel, and
/// records its calls.
struct FakeArbiter {
    log: Log,
    ttl: Duration,
    mode: Mutex<Mode>,
    next_token: Mutex<u64>,
    held: Mutex<Option<FencingToken>>,
    standing: watch::Sender<(u64, Standing)>,
}

impl FakeArbiter {
    fn new(log: Log, ttl: Duration, mode: Mode) -> Self {
        FakeArbiter {
            log,
            ttl,
            mode: Mutex::new(mode),
            next_token: Mutex::new(10),
            held: Mutex::new(None),
            standing: watch::channel((1, Standing::NotHeld)).0,
        }
    }

    fn publish(&self, standing: Standing) {
        self.standing.send_modify(|(g, s)| {
            *g += 1;
            *s = standing;
        });
    }

    fn grant(&self, token: FencingToken) -> Grant {
        Grant {
            token,
            deadline: tokio::time::Instant::now().into_std() + self.ttl,
        }
    }

    /// A keepalive was acknowledged: a later deadline.
    fn renew(&self) {
        let token = self.held.lock().unwrap().unwrap();
        self.publish(Standing::Held(self.grant(token)));
    }

    fn lose(&self) {
        *self.held.lock().unwrap() = None;
        self.publish(Standing::Lost {
            reason: "lease revoked".into(),
        });
    }
}

#[async_trait]
impl OwnershipArbiter for FakeArbiter {
    fn name(&self) -> &str {
        "fake"
    }

    async fn acquire(&self) -> Result<Grant, ArbiterError> {
        self.log.push("acquire");
        let mode = self.mode.lock().unwrap().clone();
        match mode {
            Mode::Grant => {
                let token = {
                    let mut held = self.held.lock().unwrap();
                    *held.get_or_insert_with(|| {
                        let mut next = self.next_token.lock().unwrap();
                        *next += 1;
                        FencingToken(*next)
                    })
                };
                let grant = self.grant(token);
                self.publish(Standing::Held(grant));
                Ok(grant)
            }
            Mode::HeldElsewhere(t) => Err(ArbiterError::HeldElsewhere {
                holder: "other".into(),
                token: Some(FencingToken(t)),
            }),
            Mode::Unavailable => Err(ArbiterError::Unavailable {
                backend: "fake".into(),
                reason: "no quorum".into(),
                hint: "start the members".into(),
            }),
            Mode::Hang => std::future::pending().await,
        }
    }

    async fn release(&self) -> Result<(), ArbiterError> {
        self.log.push("release");
        *self.held.lock().unwrap() = None;
        self.publish(Standing::NotHeld);
        Ok(())
    }

    async fn revoke_fenced(&self, token: FencingToken) -> Result<(), ArbiterError> {
        self.log.push(format!("revoke {token}"));
        *self.mode.lock().unwrap() = Mode::Grant;
        Ok(())
    }

    async fn watch(&self, seen: u64) -> (u64, Standing) {
        let mut rx = self.standing.subscribe();
        let got = rx.wait_for(|(g, _)| *g > seen).await.unwrap();
        got.clone()
    }
}

/// A fencer that records the token it was asked about and succeeds.
struct TokenFencer {
    log: Log,
}

#[async_trait]
impl Fencer for TokenFencer {
    async fn fence(&self, request: &FenceRequest) -> FenceOutcome {
        self.log.push(format!(
            "fence {}",
            request.token.map(|t| t.to_string()).unwrap_or_default()
        ));
        FenceOutcome::Fenced
    }
}

struct Node {
    _rt: Runtime,
    log: Log,
    arbiter: Arc<FakeArbiter>,
    handle: InstanceHandle,
}

fn node(ttl: Duration, mode: Mode, fencer: bool) -> Node {
    node_with(ttl, mode, fencer, Timeouts::default())
}

fn node_with(ttl: Duration, mode: Mode, fencer: bool, timeouts: Timeouts) -> Node {
    let rt = Runtime::new();
    let log = Log::new(rt.clock());
    let arbiter = Arc::new(FakeArbiter::new(log.clone(), ttl, mode));
    let mut spec = InstanceSpec::new(
        "gated",
        fast_config(7, "198.51.100.1", vec![vip("198.51.100.10", "eth0")]),
        Arc::new(FakeAddresses::new(log.clone())),
        Arc::new(FakeSink { log: log.clone() }),
    )
    .arbiter(arbiter.clone())
    .timeouts(timeouts);
    if fencer {
        spec = spec.fencer(Arc::new(TokenFencer { log: log.clone() }));
    }
    let handle = rt.spawn(spec).unwrap();
    Node {
        _rt: rt,
        log,
        arbiter,
        handle,
    }
}

async fn master(n: &Node) {
    wait_status(&n.handle, Duration::from_secs(2), |s| {
        s.state == State::Master && s.holds_vips
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn claim_adds_only_under_a_grant_with_a_kernel_lifetime() {
    let n = node(Duration::from_secs(2), Mode::Grant, false);
    let mut events = n.handle.events();
    master(&n).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let names = n.log.names();
    let (probe, acquire, add) = (
        n.log.index("probe").unwrap(),
        n.log.index("acquire").unwrap(),
        n.log.index("add").unwrap(),
    );
    assert!(probe < acquire && acquire < add, "{names:?}");
    assert!(n.log.index("lifetime").unwrap() > add, "{names:?}");
    let status = n.handle.status();
    let grant = status.arbiter.expect("the status shows the grant");
    assert_eq!(grant.token, FencingToken(11));
    let left = grant.time_left(n.handle.clock().now());
    assert!(
        left > Duration::ZERO && left <= Duration::from_secs(2),
        "{left:?}"
    );
    let granted = drain(&mut events)
        .into_iter()
        .any(|e| matches!(e.kind, EventKind::Granted { token, .. } if token == FencingToken(11)));
    assert!(granted, "a Granted event carries the token");
    n.handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn renewals_keep_a_master_and_refresh_the_lifetime() {
    let n = node(Duration::from_secs(1), Mode::Grant, false);
    master(&n).await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        n.arbiter.renew();
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(n.handle.status().state, State::Master);
    assert_eq!(n.log.count("remove start"), 0, "{:?}", n.log.names());
    assert!(n.log.count("lifetime") >= 10, "{:?}", n.log.names());
    n.handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn deadline_without_renewal_removes_the_vips_by_it() {
    let n = node(Duration::from_secs(1), Mode::Grant, false);
    let mut events = n.handle.events();
    master(&n).await;
    let deadline = n.handle.status().arbiter.unwrap().deadline;
    wait_status(&n.handle, Duration::from_secs(2), |s| {
        s.state != State::Master && !s.holds_vips
    })
    .await;
    let removed = n.log.when("remove done").unwrap();
    assert!(
        removed >= deadline,
        "removed at {removed}, deadline {deadline}"
    );
    let expired = drain(&mut events)
        .into_iter()
        .any(|e| matches!(e.reason, Reason::ArbiterExpired { .. }));
    assert!(expired);
    assert_eq!(n.handle.status().arbiter, None);
    n.handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn a_lost_grant_removes_the_vips_at_once() {
    let n = node(Duration::from_secs(10), Mode::Grant, false);
    master(&n).await;
    let lost_at = n.handle.clock().now();
    n.arbiter.lose();
    wait_status(&n.handle, Duration::from_secs(1), |s| {
        s.state == State::Backup && !s.holds_vips
    })
    .await;
    let removed = n.log.when("remove done").unwrap();
    assert!(removed.saturating_since(lost_at) < Duration::from_millis(50));
    // The arbiter hears that the grant is not wanted (its client stops renewing), then a
    // priority-0 advert tells the peers.
    let names = n.log.names();
    let at = |s: &str| n.log.index(s).unwrap();
    assert!(at("remove done") < at("release"), "{names:?}");
    assert!(at("release") < at("advert 0"), "{names:?}");
    n.handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn an_unavailable_arbiter_never_adds_and_alarms_until_it_answers() {
    let n = node(Duration::from_secs(2), Mode::Unavailable, false);
    let mut events = n.handle.events();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(n.log.count("add"), 0, "{:?}", n.log.names());
    assert!(n.log.count("acquire") >= 3, "retried with back-off");
    let alarmed = drain(&mut events).into_iter().any(|e| {
        e.kind == EventKind::Alarm && matches!(e.reason, Reason::ArbiterUnavailable { .. })
    });
    assert!(alarmed);
    *n.arbiter.mode.lock().unwrap() = Mode::Grant;
    // The next attempt, at most one back-off (claim_backoff_max, 5 s) later, succeeds.
    wait_status(&n.handle, Duration::from_secs(6), |s| {
        s.state == State::Master && s.holds_vips
    })
    .await;
    n.handle.stop(StopMode::Release).await;
}

/// A refused claimant steps back: a priority-0 advert, Backup, and no advert at its priority
/// while the arbiter cannot be asked (it asks quietly, with back-off), so a node that can
/// acquire takes over; once the arbiter answers it claims with the grant in hand.
#[tokio::test(start_paused = true)]
async fn a_refused_claimant_steps_back_and_asks_quietly() {
    let n = node(Duration::from_secs(2), Mode::Unavailable, false);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let names = n.log.names();
    let first_refusal = n.log.index("acquire").unwrap();
    let release = names
        .iter()
        .position(|s| s == "advert 0")
        .expect("a priority-0 advert after the refusal");
    assert!(first_refusal < release, "{names:?}");
    let before = names.len();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let later = n.log.names()[before..].to_vec();
    assert!(
        later.iter().all(|s| !s.starts_with("advert")),
        "silent while refused: {later:?}"
    );
    assert!(
        later.iter().filter(|s| *s == "acquire").count() >= 2,
        "asks quietly: {later:?}"
    );
    assert_eq!(n.handle.status().state, State::Backup);
    *n.arbiter.mode.lock().unwrap() = Mode::Grant;
    // The next quiet ask (at most claim_backoff_max, 5 s, later) brings the grant: a claim.
    wait_status(&n.handle, Duration::from_secs(6), |s| {
        s.state == State::Master && s.holds_vips
    })
    .await;
    n.handle.stop(StopMode::Release).await;
}

/// An acquire that never answers is cut off at `Timeouts::arbiter`, not at the (shorter)
/// address bound, and counts as the arbiter being unavailable.
#[tokio::test(start_paused = true)]
async fn a_hanging_acquire_is_cut_off_at_the_arbiter_bound() {
    let timeouts = Timeouts {
        address: Duration::from_millis(100),
        arbiter: Duration::from_millis(700),
        ..Timeouts::default()
    };
    let n = node_with(Duration::from_secs(2), Mode::Hang, false, timeouts);
    let status = wait_status(&n.handle, Duration::from_secs(5), |s| {
        s.last_alarm.is_some()
    })
    .await;
    let asked = n.log.when("acquire").unwrap();
    let alarm = status.last_alarm.unwrap();
    assert_eq!(alarm.at.saturating_since(asked), Duration::from_millis(700));
    match &alarm.reason {
        Reason::ArbiterUnavailable { detail } => {
            assert!(detail.contains("timeouts.arbiter"), "{detail}")
        }
        other => panic!("unexpected alarm {other:?}"),
    }
    assert_eq!(n.log.count("add"), 0);
    n.handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn held_elsewhere_without_a_fencer_never_adds() {
    let n = node(Duration::from_secs(2), Mode::HeldElsewhere(5), false);
    let mut events = n.handle.events();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(n.log.count("add"), 0, "{:?}", n.log.names());
    assert!(!n.log.names().iter().any(|s| s.starts_with("revoke")));
    let alarm = n.handle.status().last_alarm.unwrap();
    assert!(matches!(alarm.reason, Reason::ArbiterHeldElsewhere { .. }));
    // It keeps asking at the first back-off (200 ms, jitter shortens it), not doubling, so
    // that it follows the end of the holder's lease; one alarm for the claim.
    assert!(n.log.count("acquire") >= 10, "{:?}", n.log.names());
    let alarms = drain(&mut events)
        .into_iter()
        .filter(|e| matches!(e.reason, Reason::ArbiterHeldElsewhere { .. }))
        .count();
    assert_eq!(alarms, 1);
    // Once the holder's lease is gone, the next attempt takes the VIPs.
    *n.arbiter.mode.lock().unwrap() = Mode::Grant;
    wait_status(&n.handle, Duration::from_millis(300), |s| {
        s.state == State::Master && s.holds_vips
    })
    .await;
    n.handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn held_elsewhere_is_fenced_by_token_then_revoked_then_acquired() {
    let n = node(Duration::from_secs(2), Mode::HeldElsewhere(5), true);
    master(&n).await;
    let names = n.log.names();
    let at = |s: &str| n.log.index(s).unwrap();
    assert!(at("acquire") < at("fence 5"), "{names:?}");
    assert!(at("fence 5") < at("revoke 5"), "{names:?}");
    assert!(at("revoke 5") < at("add"), "{names:?}");
    assert_eq!(n.log.count("acquire"), 2, "{names:?}");
    n.handle.stop(StopMode::Release).await;
}

#[tokio::test(start_paused = true)]
async fn release_runs_remove_then_release_then_priority_zero() {
    let n = node(Duration::from_secs(5), Mode::Grant, false);
    master(&n).await;
    let last = n.handle.stop(StopMode::Release).await;
    assert!(!last.holds_vips);
    let names = n.log.names();
    let at = |s: &str| n.log.index(s).unwrap();
    assert!(at("remove done") < at("release"), "{names:?}");
    assert!(at("release") < at("advert 0"), "{names:?}");
}
