//! RFC 9568 section 6 conformance, plus vip's additions (fence-first claiming, role gating,
//! fault, tracked checks). Every case names the section or rule it checks, and asserts the
//! exact action sequence and times.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::IpAddr;
use std::time::Duration;

use vip_core::election::{
    Action, AddressOp, Advert, CheckSpec, CheckStatus, Election, ElectionConfig, Event, EventKind,
    FencePolicy, Input, Reason, State, StopMode, Version, master_down_interval, skew_time,
};
use vip_core::{
    Error, FenceOutcome, FenceRequest, InUse, Interval, PeerId, Priority, Role, Timestamp, Vip,
};

const LOCAL: &str = "192.0.2.10";
const LOWER: &str = "192.0.2.5";
const HIGHER: &str = "192.0.2.20";
const MAC: [u8; 6] = [2, 0, 0, 0, 0, 9];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
fn peer(s: &str) -> PeerId {
    PeerId(ip(s))
}
fn vips() -> Vec<Vip> {
    vec![Vip::host(ip("192.0.2.100"), "eth0")]
}
fn ms(v: u64) -> Timestamp {
    Timestamp::from_millis(v)
}
fn prio(p: u8) -> Priority {
    Priority::new(p)
}

fn config(priority: u8) -> ElectionConfig {
    let mut c = ElectionConfig::new(7, ip(LOCAL), vips());
    c.priority = prio(priority);
    c
}

fn advert(from: &str, priority: u8, interval_cs: u32) -> Input {
    Input::Advert(Advert {
        from: peer(from),
        priority: prio(priority),
        max_advert_interval: Interval::from_centis(interval_cs),
        address_mismatch: false,
    })
}

fn tr(at: u64, from: State, to: State, reason: Reason) -> Action {
    Action::Event(Event {
        at: ms(at),
        kind: EventKind::Transition { from, to },
        reason,
    })
}
fn alarm(at: u64, reason: Reason) -> Action {
    Action::Event(Event {
        at: ms(at),
        kind: EventKind::Alarm,
        reason,
    })
}
fn send(p: u8) -> Action {
    Action::SendAdvert { priority: prio(p) }
}
fn probe(id: u64) -> Action {
    Action::ProbeInUse { id, vips: vips() }
}
fn fence(id: u64, peer_addr: Option<&str>, mac: Option<[u8; 6]>) -> Action {
    Action::Fence {
        id,
        request: FenceRequest {
            peer: peer_addr.map(peer),
            holder_mac: mac,
            vips: vips(),
        },
    }
}
fn add() -> Action {
    Action::AddVips(vips())
}
fn announce() -> Action {
    Action::Announce(vips())
}
fn remove() -> Action {
    Action::RemoveVips(vips())
}
fn free(id: u64) -> Input {
    Input::InUse {
        probe: id,
        result: Ok(InUse::Free),
    }
}
fn held(id: u64) -> Input {
    Input::InUse {
        probe: id,
        result: Ok(InUse::Held {
            vip: vips()[0].clone(),
            holder: Some(MAC),
        }),
    }
}

/// A machine plus a log of what it did.
struct Node {
    e: Election,
}

impl Node {
    fn new(config: ElectionConfig) -> Self {
        Node {
            e: Election::new(config, 42),
        }
    }
    fn started(config: ElectionConfig) -> Self {
        let mut n = Node::new(config);
        n.e.handle(ms(0), Input::Start);
        n.drain();
        n
    }
    fn drain(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.e.poll_action()).collect()
    }
    /// Feeds `input` at `at` and returns the actions it produced.
    fn at(&mut self, at: u64, input: Input) -> Vec<Action> {
        self.e.handle(ms(at), input);
        self.drain()
    }
    /// Fires the timer at exactly `poll_timeout`, asserting it equals `expect`.
    fn fire(&mut self, expect: u64) -> Vec<Action> {
        assert_eq!(self.e.poll_timeout(), Some(ms(expect)), "next deadline");
        self.at(expect, Input::Timer)
    }
    /// Fires timers up to and including `until`, collecting actions.
    fn run_until(&mut self, until: u64) -> Vec<(u64, Action)> {
        let mut out = Vec::new();
        while let Some(t) = self.e.poll_timeout() {
            if t > ms(until) {
                break;
            }
            self.e.handle(t, Input::Timer);
            let at = t.as_micros() / 1000;
            for a in self.drain() {
                out.push((at, a));
            }
        }
        out
    }
}

// ---- 6.1 timer arithmetic ---------------------------------------------------------------------

#[test]
fn rfc_6_1_skew_and_master_down_arithmetic() {
    // (section, version, priority, interval cs, skew cs, master down cs)
    let cases: &[(&str, Version, u8, u32, u32, u32)] = &[
        (
            "6.1 v3: Skew_Time = ((256-100)*100)/256 = 60",
            Version::V3,
            100,
            100,
            60,
            360,
        ),
        (
            "6.1 v3: Skew_Time truncates ((256-200)*100)/256 = 21",
            Version::V3,
            200,
            100,
            21,
            321,
        ),
        (
            "6.1 v3: Skew_Time scales with interval (100, 35 cs) = 21",
            Version::V3,
            100,
            35,
            21,
            126,
        ),
        (
            "6.1 v3: priority 254, 1 cs interval -> skew 0",
            Version::V3,
            254,
            1,
            0,
            3,
        ),
        (
            "6.1 v3: priority 1, 4095 cs",
            Version::V3,
            1,
            4095,
            4079,
            16364,
        ),
        (
            "6.1 v3: owner 255 -> skew = interval/256",
            Version::V3,
            255,
            100,
            0,
            300,
        ),
        (
            "RFC 3768 6.1 v2: Skew_Time = (256-100)/256 s = 60 cs",
            Version::V2,
            100,
            100,
            60,
            360,
        ),
        (
            "RFC 3768 6.1 v2: skew ignores a 3 s interval",
            Version::V2,
            100,
            300,
            60,
            960,
        ),
        (
            "RFC 3768 6.1 v2: priority 1 -> 99 cs",
            Version::V2,
            1,
            100,
            99,
            399,
        ),
    ];
    for &(name, version, p, interval, skew, mdi) in cases {
        let i = Interval::from_centis(interval);
        assert_eq!(skew_time(version, prio(p), i).as_centis(), skew, "{name}");
        assert_eq!(
            master_down_interval(version, prio(p), i).as_centis(),
            mdi,
            "{name}"
        );
        let mut c = config(p);
        c.version = version;
        c.advert_interval = i;
        let e = Election::new(c, 1);
        assert_eq!(
            e.skew_time(),
            Duration::from_millis(u64::from(skew) * 10),
            "{name}"
        );
        assert_eq!(
            e.master_down_interval(),
            Duration::from_millis(u64::from(mdi) * 10),
            "{name}"
        );
    }
}

#[test]
fn rfc_6_1_v3_learns_master_adver_interval_v2_does_not() {
    // 6.4.2: a v3 backup sets Master_Adver_Interval from the advert; v2 keeps its own.
    let mut n = Node::started(config(100));
    n.at(10, advert(HIGHER, 200, 50));
    assert_eq!(n.e.master_adver_interval(), Interval::from_centis(50));
    // 3*50 + (156*50)/256 = 150 + 30 = 180 cs
    assert_eq!(n.e.master_down_interval(), Duration::from_millis(1800));
    assert_eq!(
        n.e.poll_timeout(),
        Some(ms(10 + 1800 - 50)),
        "probe lead before expiry"
    );

    let mut c = config(100);
    c.version = Version::V2;
    let mut n = Node::started(c);
    n.at(10, advert(HIGHER, 200, 300));
    assert_eq!(n.e.master_adver_interval(), Interval::from_centis(100));
    assert_eq!(n.e.master_down_interval(), Duration::from_millis(3600));
}

// ---- 6.4.1 Initialize ---------------------------------------------------------------------------

#[test]
fn rfc_6_4_1_startup_backup_sets_master_down_timer() {
    let mut n = Node::new(config(100));
    assert_eq!(n.e.state(), State::Initialize);
    assert_eq!(n.e.poll_timeout(), None);
    let a = n.at(0, Input::Start);
    assert_eq!(
        a,
        vec![tr(0, State::Initialize, State::Backup, Reason::Started)]
    );
    // Probe starts in_use_probe_timeout (50 ms) before Master_Down_Interval (3.6 s).
    assert_eq!(n.e.poll_timeout(), Some(ms(3550)));
    assert_eq!(n.fire(3550), vec![probe(1)]);
    assert_eq!(n.e.poll_timeout(), Some(ms(3600)));
}

#[test]
fn rfc_6_4_1_owner_claims_at_once() {
    let mut n = Node::new(config(255));
    let a = n.at(0, Input::Start);
    assert_eq!(
        a,
        vec![
            tr(0, State::Initialize, State::Claiming, Reason::Owner),
            send(255),
            probe(1)
        ]
    );
    let a = n.at(3, free(1));
    assert_eq!(
        a,
        vec![
            add(),
            announce(),
            tr(3, State::Claiming, State::Master, Reason::VipFree)
        ]
    );
    assert!(n.e.holds_vips());
    assert_eq!(n.e.master(), Some(peer(LOCAL)));
    // 6.4.3: Adver_Timer fires every Advertisement_Interval.
    assert_eq!(n.fire(1000), vec![send(255)]);
    assert_eq!(n.fire(2000), vec![send(255)]);
}

#[test]
fn rfc_6_4_1_no_master_heard_takes_over_after_master_down_interval() {
    let mut n = Node::started(config(100));
    let a = n.run_until(3600);
    assert_eq!(
        a,
        vec![
            (3550, probe(1)),
            (
                3600,
                tr(3600, State::Backup, State::Claiming, Reason::MasterDown)
            ),
            (3600, send(100)),
        ]
    );
    let a = n.at(3601, free(1));
    assert_eq!(
        a,
        vec![
            add(),
            announce(),
            tr(3601, State::Claiming, State::Master, Reason::VipFree)
        ]
    );
}

// ---- 6.4.2 Backup -------------------------------------------------------------------------------

#[test]
fn rfc_6_4_2_backup_advert_resets_master_down_timer() {
    let mut n = Node::started(config(100));
    for t in [1000, 2000, 3000, 4000] {
        assert_eq!(n.at(t, advert(HIGHER, 200, 100)), vec![]);
        assert_eq!(n.e.poll_timeout(), Some(ms(t + 3600 - 50)));
    }
    assert_eq!(n.e.master(), Some(peer(HIGHER)));
    assert_eq!(n.e.state(), State::Backup);
}

#[test]
fn rfc_6_4_2_backup_receiving_priority_0_sets_master_down_timer_to_skew_time() {
    let mut n = Node::started(config(100));
    n.at(1000, advert(HIGHER, 200, 100));
    // Skew_Time = 600 ms; the probe starts at once.
    assert_eq!(n.at(1500, advert(HIGHER, 0, 100)), vec![probe(1)]);
    assert_eq!(n.e.poll_timeout(), Some(ms(2100)));
    assert_eq!(n.at(1510, free(1)), vec![]);
    assert_eq!(
        n.fire(2100),
        vec![
            tr(
                2100,
                State::Backup,
                State::Claiming,
                Reason::MasterReleased { peer: peer(HIGHER) }
            ),
            send(100),
            add(),
            announce(),
            tr(2100, State::Claiming, State::Master, Reason::VipFree),
        ]
    );
}

#[test]
fn rfc_6_4_2_preempt_discards_lower_priority_adverts() {
    // Preempt_Mode true, advert priority lower: discard, Master_Down_Timer runs out.
    let mut n = Node::started(config(150));
    // MDI for 150 = 300 + (106*100)/256 = 341 cs
    for t in [500, 1500, 2500, 3500] {
        assert_eq!(n.at(t, advert(LOWER, 100, 100)), vec![]);
    }
    // No early probe: the lower master is alive and holds the VIPs.
    assert_eq!(n.e.poll_timeout(), Some(ms(3410)));
    let a = n.fire(3410);
    assert_eq!(
        a,
        vec![
            tr(
                3410,
                State::Backup,
                State::Claiming,
                Reason::Preempt { peer: peer(LOWER) }
            ),
            send(150)
        ]
    );
    // The probe waits in_use_probe_timeout for the lower master to step down.
    assert_eq!(n.fire(3460), vec![probe(1)]);
    assert_eq!(
        n.at(3470, free(1)),
        vec![
            add(),
            announce(),
            tr(3470, State::Claiming, State::Master, Reason::VipFree)
        ]
    );
}

#[test]
fn rfc_6_4_2_no_preempt_accepts_lower_priority_master() {
    let mut c = config(150);
    c.preempt = false;
    let mut n = Node::started(c);
    for t in (1..=20).map(|i| i * 1000) {
        assert_eq!(n.at(t, advert(LOWER, 100, 100)), vec![]);
        assert!(n.run_until(t + 999).is_empty());
    }
    assert_eq!(n.e.state(), State::Backup);
    assert_eq!(n.e.master(), Some(peer(LOWER)));
}

#[test]
fn rfc_6_4_2_owner_preempts_even_with_preempt_off() {
    // 6.1 Preempt_Mode: the owner always preempts. It claims at start anyway.
    let mut c = config(255);
    c.preempt = false;
    let mut n = Node::new(c);
    let a = n.at(0, Input::Start);
    assert_eq!(
        a[0],
        tr(0, State::Initialize, State::Claiming, Reason::Owner)
    );
}

#[test]
fn rfc_6_4_2_equal_priority_backup_accepts_advert() {
    let mut n = Node::started(config(100));
    assert_eq!(n.at(1000, advert(LOWER, 100, 100)), vec![]);
    assert_eq!(n.e.master(), Some(peer(LOWER)));
    assert_eq!(n.e.poll_timeout(), Some(ms(1000 + 3600 - 50)));
}

#[test]
fn keepalived_preempt_delay_holds_off_preemption_then_preempts() {
    let mut c = config(150);
    c.preempt_delay = Duration::from_secs(10);
    let mut n = Node::started(c);
    let mut t = 500;
    while t < 10_000 {
        assert_eq!(
            n.at(t, advert(LOWER, 100, 100)),
            vec![],
            "accepted during preempt_delay"
        );
        assert!(
            n.run_until((t + 999).min(9_999)).is_empty(),
            "nothing fires before {}",
            t + 999
        );
        t += 1000;
    }
    assert_eq!(n.e.master(), Some(peer(LOWER)));
    // At start + preempt_delay the lower master is preempted.
    let a = n.run_until(10_000);
    assert_eq!(
        a,
        vec![
            (
                10_000,
                tr(
                    10_000,
                    State::Backup,
                    State::Claiming,
                    Reason::Preempt { peer: peer(LOWER) }
                )
            ),
            (10_000, send(150)),
        ]
    );
    assert_eq!(n.fire(10_050), vec![probe(1)]);
}

#[test]
fn keepalived_preempt_delay_does_not_delay_takeover_when_no_master() {
    let mut c = config(150);
    c.preempt_delay = Duration::from_secs(10);
    let mut n = Node::started(c);
    let a = n.run_until(3410);
    assert_eq!(a[0], (3360, probe(1)));
    assert_eq!(
        a[1],
        (
            3410,
            tr(3410, State::Backup, State::Claiming, Reason::MasterDown)
        )
    );
}

// ---- 6.4.3 Master -------------------------------------------------------------------------------

fn master_node(priority: u8) -> Node {
    let mut n = Node::started(config(priority));
    n.run_until(4000);
    let id = match n.e.state() {
        State::Claiming => 1,
        s => panic!("expected claiming, got {s}"),
    };
    n.at(4000, free(id));
    assert_eq!(n.e.state(), State::Master);
    n
}

#[test]
fn rfc_6_4_3_master_higher_priority_advert_goes_backup() {
    let mut n = master_node(100);
    let a = n.at(4100, advert(HIGHER, 200, 50));
    assert_eq!(
        a,
        vec![
            remove(),
            tr(
                4100,
                State::Master,
                State::Backup,
                Reason::HigherPriority {
                    peer: peer(HIGHER),
                    priority: prio(200)
                }
            ),
        ]
    );
    assert!(!n.e.holds_vips());
    assert_eq!(n.e.master(), Some(peer(HIGHER)));
    // Learned interval 50 cs: MDI = 150 + 30 = 180 cs.
    assert_eq!(n.e.poll_timeout(), Some(ms(4100 + 1800 - 50)));
}

#[test]
fn rfc_6_4_3_master_tie_break_on_primary_address() {
    // Equal priority, sender address higher than ours -> Backup.
    let mut n = master_node(100);
    let a = n.at(4100, advert(HIGHER, 100, 100));
    assert_eq!(a[0], remove());
    assert_eq!(n.e.state(), State::Backup);

    // Equal priority, sender address lower -> discard (and re-advertise at once).
    let mut n = master_node(100);
    assert_eq!(n.at(4100, advert(LOWER, 100, 100)), vec![send(100)]);
    assert_eq!(n.e.state(), State::Master);
    assert_eq!(n.e.poll_timeout(), Some(ms(5100)));
}

#[test]
fn rfc_6_4_3_master_lower_priority_advert_discarded() {
    let mut n = master_node(100);
    assert_eq!(n.at(4100, advert(LOWER, 50, 100)), vec![send(100)]);
    assert_eq!(n.e.state(), State::Master);
}

#[test]
fn rfc_6_4_3_master_receiving_priority_0_sends_advert_at_once() {
    let mut n = master_node(100);
    assert_eq!(n.e.poll_timeout(), Some(ms(4600)));
    assert_eq!(n.at(4200, advert(LOWER, 0, 100)), vec![send(100)]);
    assert_eq!(n.e.poll_timeout(), Some(ms(5200)), "Adver_Timer reset");
}

#[test]
fn rfc_6_4_3_shutdown_releases_with_priority_0() {
    let mut n = master_node(100);
    let a = n.at(5000, Input::Stop(StopMode::Release));
    assert_eq!(
        a,
        vec![
            remove(),
            send(0),
            tr(5000, State::Master, State::Initialize, Reason::Stopped)
        ]
    );
    assert_eq!(n.e.poll_timeout(), None);
    assert!(!n.e.holds_vips());
}

#[test]
fn shutdown_keep_leaves_vips_and_sends_nothing() {
    let mut n = master_node(100);
    let a = n.at(5000, Input::Stop(StopMode::Keep));
    assert_eq!(
        a,
        vec![tr(5000, State::Master, State::Initialize, Reason::Stopped)]
    );
    assert!(n.e.holds_vips());
}

#[test]
fn rfc_6_4_2_backup_shutdown_sends_nothing() {
    let mut n = Node::started(config(100));
    let a = n.at(100, Input::Stop(StopMode::Release));
    assert_eq!(
        a,
        vec![tr(100, State::Backup, State::Initialize, Reason::Stopped)]
    );
}

// ---- fence-first claiming -----------------------------------------------------------------------

#[test]
fn claim_hard_failover_at_protocol_bound_when_probe_answers_in_time() {
    let mut n = Node::started(config(100));
    n.at(1000, advert(HIGHER, 200, 100));
    // Master dies after its advert at 1000: Master_Down_Interval 3.6 s later we must be master.
    assert_eq!(n.fire(4550), vec![probe(1)]);
    assert_eq!(n.at(4590, free(1)), vec![]);
    assert_eq!(
        n.e.state(),
        State::Backup,
        "a Free answer alone does not claim early"
    );
    assert_eq!(
        n.fire(4600),
        vec![
            tr(4600, State::Backup, State::Claiming, Reason::MasterDown),
            send(100),
            add(),
            announce(),
            tr(4600, State::Claiming, State::Master, Reason::VipFree),
        ]
    );
}

#[test]
fn claim_waits_for_a_late_probe_answer() {
    let mut n = Node::started(config(100));
    n.run_until(3600);
    assert_eq!(n.e.state(), State::Claiming);
    // Claiming keeps advertising every Advertisement_Interval while it waits.
    assert_eq!(n.fire(4600), vec![send(100)]);
    assert_eq!(
        n.at(4700, free(1)),
        vec![
            add(),
            announce(),
            tr(4700, State::Claiming, State::Master, Reason::VipFree)
        ]
    );
}

#[test]
fn claim_probe_started_before_an_accepted_advert_does_not_count() {
    let mut n = Node::started(config(100));
    n.at(1000, advert(HIGHER, 200, 100));
    assert_eq!(n.fire(4550), vec![probe(1)]);
    // The master was only late: its advert invalidates probe 1.
    n.at(4560, advert(HIGHER, 200, 100));
    assert_eq!(n.at(4570, free(1)), vec![]);
    // The next expiry needs a fresh probe (id 2).
    assert_eq!(n.fire(4560 + 3550), vec![probe(2)]);
    let a = n.fire(4560 + 3600);
    assert_eq!(
        a,
        vec![
            tr(8160, State::Backup, State::Claiming, Reason::MasterDown),
            send(100)
        ]
    );
    // A late answer to the stale probe changes nothing.
    assert_eq!(n.at(8170, free(1)), vec![]);
    assert_eq!(n.e.state(), State::Claiming);
    assert_eq!(n.at(8171, free(2))[0], add());
}

#[test]
fn claim_in_use_fence_reprobe_then_add() {
    let mut c = config(100);
    c.fencing = true;
    let mut n = Node::started(c);
    n.at(1000, advert(HIGHER, 200, 100));
    n.fire(4550);
    assert_eq!(n.at(4560, held(1)), vec![]);
    assert_eq!(
        n.fire(4600),
        vec![
            tr(4600, State::Backup, State::Claiming, Reason::MasterDown),
            send(100),
            fence(2, Some(HIGHER), Some(MAC)),
        ]
    );
    assert_eq!(
        n.at(
            4800,
            Input::Fenced {
                fence: 2,
                outcome: FenceOutcome::Fenced
            }
        ),
        vec![probe(3)]
    );
    assert_eq!(
        n.at(4850, free(3)),
        vec![
            add(),
            announce(),
            tr(4850, State::Claiming, State::Master, Reason::Fenced)
        ]
    );
}

#[test]
fn claim_fence_fails_no_add_alarm_and_backoff() {
    let mut c = config(100);
    c.fencing = true;
    let mut n = Node::started(c);
    n.at(1000, advert(HIGHER, 200, 100));
    n.fire(4550);
    n.at(4560, held(1));
    n.fire(4600);
    let a = n.at(
        4700,
        Input::Fenced {
            fence: 2,
            outcome: FenceOutcome::Failed {
                reason: "ssh: timeout".into(),
            },
        },
    );
    assert_eq!(
        a,
        vec![alarm(
            4700,
            Reason::FenceFailed {
                detail: "ssh: timeout".into()
            }
        )]
    );
    assert_eq!(n.e.state(), State::Claiming);
    assert!(!n.e.holds_vips());
    // Back-off: initial 200 ms shortened by at most a quarter by the seeded jitter.
    let retry = n.e.poll_timeout().unwrap().as_micros() / 1000;
    assert!((4850..=4900).contains(&retry), "retry at {retry}");
    assert_eq!(n.at(retry, Input::Timer), vec![probe(3)]);
    // Still in use: fence again; it works but the VIP still answers -> alarm and longer back-off.
    assert_eq!(
        n.at(retry + 10, held(3)),
        vec![fence(4, Some(HIGHER), Some(MAC))]
    );
    assert_eq!(
        n.at(
            retry + 20,
            Input::Fenced {
                fence: 4,
                outcome: FenceOutcome::Fenced
            }
        ),
        vec![probe(5)]
    );
    let a = n.at(retry + 30, held(5));
    assert_eq!(
        a,
        vec![alarm(
            retry + 30,
            Reason::FenceFailed {
                detail: "the VIP still answers after fencing".into()
            }
        )]
    );
    // Second back-off: 400 ms shortened by at most 100 ms; Claiming keeps advertising.
    let t0 = retry + 30;
    let a = n.run_until(5600);
    let probes: Vec<u64> = a
        .iter()
        .filter(|(_, x)| matches!(x, Action::ProbeInUse { .. }))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(probes.len(), 1, "{a:?}");
    assert!((t0 + 300..=t0 + 400).contains(&probes[0]), "{a:?}");
    assert!(a.contains(&(5600, send(100))), "{a:?}");
    assert!(!a.iter().any(|(_, x)| *x == add()));
}

#[test]
fn claim_without_fencing_never_adds_while_in_use() {
    let mut n = Node::started(config(100));
    n.at(1000, advert(HIGHER, 200, 100));
    n.fire(4550);
    n.at(4560, held(1));
    assert_eq!(
        n.fire(4600),
        vec![
            tr(4600, State::Backup, State::Claiming, Reason::MasterDown),
            send(100),
            alarm(4600, Reason::VipInUse),
        ]
    );
    // Retries with a fresh probe after the back-off, for ever, never adding while in use.
    let mut probes = 0;
    let mut id = 1;
    for _ in 0..6 {
        let t = n.e.poll_timeout().unwrap();
        n.e.handle(t, Input::Timer);
        for a in n.drain() {
            assert_ne!(a, add());
            if let Action::ProbeInUse { id: i, .. } = a {
                probes += 1;
                id = i;
                n.e.handle(t, held(id));
                let after = n.drain();
                assert!(after.iter().all(|x| matches!(
                    x,
                    Action::Event(Event {
                        kind: EventKind::Alarm,
                        reason: Reason::VipInUse,
                        ..
                    })
                )));
            }
        }
    }
    assert!(probes >= 2, "retried {probes} times");
    assert_eq!(n.e.state(), State::Claiming);
    // Once the VIP is free, it is added.
    let t = loop {
        let t = n.e.poll_timeout().unwrap();
        n.e.handle(t, Input::Timer);
        if n.drain()
            .iter()
            .any(|a| matches!(a, Action::ProbeInUse { .. }))
        {
            break t;
        }
    };
    n.e.handle(t, free(id + 1));
    assert_eq!(n.drain()[0], add());
}

#[test]
fn claim_probe_error_counts_as_in_use() {
    let mut c = config(100);
    c.fencing = true;
    let mut n = Node::started(c);
    n.fire(3550);
    n.at(
        3560,
        Input::InUse {
            probe: 1,
            result: Err(Error::timeout("probe", Duration::from_millis(50))),
        },
    );
    let a = n.fire(3600);
    // No master ever heard: fence with no peer and no MAC; the fencer decides.
    assert_eq!(
        a,
        vec![
            tr(3600, State::Backup, State::Claiming, Reason::MasterDown),
            send(100),
            fence(2, None, None)
        ]
    );
}

#[test]
fn claim_fence_policy_always_fences_a_silent_master_even_when_free() {
    let mut c = config(100);
    c.fencing = true;
    c.fence_policy = FencePolicy::Always;
    let mut n = Node::started(c.clone());
    n.at(1000, advert(HIGHER, 200, 100));
    n.fire(4550);
    n.at(4560, free(1));
    assert_eq!(
        n.fire(4600),
        vec![
            tr(4600, State::Backup, State::Claiming, Reason::MasterDown),
            send(100),
            fence(2, Some(HIGHER), None),
        ]
    );
    assert_eq!(
        n.at(
            4700,
            Input::Fenced {
                fence: 2,
                outcome: FenceOutcome::Fenced
            }
        ),
        vec![probe(3)]
    );
    assert_eq!(
        n.at(4710, free(3)),
        vec![
            add(),
            announce(),
            tr(4710, State::Claiming, State::Master, Reason::Fenced)
        ]
    );

    // Not after a priority-0 release.
    let mut n = Node::started(c);
    n.at(1000, advert(HIGHER, 200, 100));
    n.at(1500, advert(HIGHER, 0, 100));
    n.at(1510, free(1));
    let a = n.fire(2100);
    assert!(a.contains(&add()), "{a:?}");
}

#[test]
fn claim_abandoned_on_higher_priority_advert() {
    let mut c = config(100);
    c.fencing = true;
    let mut n = Node::started(c);
    n.fire(3550);
    n.at(3560, held(1));
    n.fire(3600);
    let a = n.at(3650, advert(HIGHER, 100, 100));
    assert_eq!(
        a,
        vec![tr(
            3650,
            State::Claiming,
            State::Backup,
            Reason::HigherPriority {
                peer: peer(HIGHER),
                priority: prio(100)
            }
        )]
    );
    // The late fence result is ignored.
    assert_eq!(
        n.at(
            3700,
            Input::Fenced {
                fence: 2,
                outcome: FenceOutcome::Fenced
            }
        ),
        vec![]
    );
    assert_eq!(n.e.master(), Some(peer(HIGHER)));
    // A lower-priority advert while Claiming gets our advert at once.
    let mut n = Node::started(config(100));
    n.run_until(3600);
    assert_eq!(n.at(3700, advert(LOWER, 100, 100)), vec![send(100)]);
    assert_eq!(n.at(3701, advert(LOWER, 50, 100)), vec![send(100)]);
    assert_eq!(n.e.state(), State::Claiming);
}

#[test]
fn claim_two_equal_claimants_resolve_on_address() {
    // Two backups with equal priority whose timers fire together: the higher address wins.
    let mut a = Node::started(config(100));
    let mut hc = config(100);
    hc.local_addr = ip(HIGHER);
    let mut b = Node::started(hc);
    a.run_until(3600);
    b.run_until(3600);
    assert_eq!(
        (a.e.state(), b.e.state()),
        (State::Claiming, State::Claiming)
    );
    // Each hears the other's claiming advert.
    let to_a = a.at(3601, advert(HIGHER, 100, 100));
    assert_eq!(to_a.len(), 1);
    assert_eq!(a.e.state(), State::Backup);
    assert_eq!(b.at(3601, advert(LOCAL, 100, 100)), vec![send(100)]);
    assert_eq!(b.at(3602, free(1))[0], add());
    assert_eq!(a.at(3602, free(1)), vec![]);
}

#[test]
fn vip_removed_externally_reclaims_through_probe() {
    let mut n = master_node(100);
    let a = n.at(4200, Input::VipRemovedExternally);
    assert_eq!(
        a,
        vec![
            alarm(4200, Reason::VipRemovedExternally),
            remove(),
            tr(
                4200,
                State::Master,
                State::Claiming,
                Reason::VipRemovedExternally
            ),
            send(100),
            probe(2),
        ]
    );
    assert_eq!(
        n.at(4210, free(2)),
        vec![
            add(),
            announce(),
            tr(4210, State::Claiming, State::Master, Reason::VipFree)
        ]
    );
}

// ---- address results ----------------------------------------------------------------------------

#[test]
fn address_add_failure_releases() {
    let err = Error::timeout("add", Duration::from_millis(100));
    let mut n = master_node(100);
    let a = n.at(
        4100,
        Input::Address {
            op: AddressOp::Add,
            result: Err(err.clone()),
        },
    );
    let reason = Reason::AddressError {
        detail: err.to_string(),
    };
    assert_eq!(
        a,
        vec![
            alarm(4100, reason.clone()),
            remove(),
            send(0),
            tr(4100, State::Master, State::Backup, reason),
        ]
    );
    assert!(!n.e.holds_vips());

    // Permanent: Fault until the link comes back.
    let err = Error::InterfaceNotFound {
        interface: "eth0".into(),
    };
    let mut n = master_node(100);
    let a = n.at(
        4100,
        Input::Address {
            op: AddressOp::Add,
            result: Err(err.clone()),
        },
    );
    let reason = Reason::AddressError {
        detail: err.to_string(),
    };
    assert_eq!(
        a.last(),
        Some(&tr(4100, State::Master, State::Fault, reason))
    );
    assert_eq!(n.e.poll_timeout(), None);
    n.at(5000, Input::Link(false));
    let a = n.at(6000, Input::Link(true));
    assert_eq!(
        a,
        vec![tr(6000, State::Fault, State::Backup, Reason::FaultCleared)]
    );

    // Announce failures only alarm.
    let mut n = master_node(100);
    let a = n.at(
        4100,
        Input::Address {
            op: AddressOp::Announce,
            result: Err(err.clone()),
        },
    );
    assert_eq!(
        a,
        vec![alarm(
            4100,
            Reason::AddressError {
                detail: err.to_string()
            }
        )]
    );
    assert_eq!(n.e.state(), State::Master);
    assert_eq!(
        n.at(
            4100,
            Input::Address {
                op: AddressOp::Add,
                result: Ok(())
            }
        ),
        vec![]
    );
}

#[test]
fn address_mismatch_alarms_once_per_peer() {
    let mut n = Node::started(config(100));
    let mm = |t: bool| {
        Input::Advert(Advert {
            from: peer(HIGHER),
            priority: prio(200),
            max_advert_interval: Interval::from_centis(100),
            address_mismatch: t,
        })
    };
    let alarm_mm = alarm(1000, Reason::AddressMismatch { peer: peer(HIGHER) });
    assert_eq!(n.at(1000, mm(true)), vec![alarm_mm]);
    assert_eq!(n.at(2000, mm(true)), vec![]);
    assert_eq!(
        n.e.master(),
        Some(peer(HIGHER)),
        "the advert is still honoured"
    );
    assert_eq!(n.at(3000, mm(false)), vec![]);
    assert_eq!(
        n.at(4000, mm(true)),
        vec![alarm(4000, Reason::AddressMismatch { peer: peer(HIGHER) })]
    );
}

// ---- role gating --------------------------------------------------------------------------------

fn gated(priority: u8) -> ElectionConfig {
    let mut c = config(priority);
    c.role_gated = true;
    c
}

#[test]
fn role_gated_backup_never_claims_until_primary() {
    let mut n = Node::started(gated(100));
    // No probe lead while ineligible; expiry does nothing.
    assert_eq!(n.fire(3600), vec![]);
    assert_eq!(n.e.poll_timeout(), None);
    assert_eq!(n.at(5000, Input::Role(Role::Standby)), vec![]);
    assert_eq!(n.e.state(), State::Backup);
    // Primary: nobody is master, claim at once.
    let a = n.at(6000, Input::Role(Role::Primary));
    assert_eq!(
        a,
        vec![
            tr(6000, State::Backup, State::Claiming, Reason::RoleGained),
            send(100),
            probe(1)
        ]
    );
    assert_eq!(n.at(6010, free(1))[0], add());
}

#[test]
fn role_gated_primary_before_expiry_follows_rfc_timing() {
    let mut n = Node::started(gated(100));
    n.at(10, Input::Role(Role::Primary));
    assert_eq!(n.fire(3550), vec![probe(1)]);
}

#[test]
fn role_gated_master_releases_at_once_on_role_loss() {
    let mut n = Node::started(gated(100));
    n.at(10, Input::Role(Role::Primary));
    n.run_until(3600);
    n.at(3610, free(1));
    assert_eq!(n.e.state(), State::Master);
    let role = Role::unknown("connection refused");
    let a = n.at(4000, Input::Role(role.clone()));
    assert_eq!(
        a,
        vec![
            remove(),
            send(0),
            tr(
                4000,
                State::Master,
                State::Backup,
                Reason::RoleLost { role }
            )
        ]
    );
    assert!(!n.e.holds_vips());
    // And stays out while ineligible.
    assert!(n.run_until(20_000).is_empty());
}

#[test]
fn role_ignored_when_not_gated() {
    let mut n = master_node(100);
    assert_eq!(n.at(4100, Input::Role(Role::Standby)), vec![]);
    assert_eq!(n.e.state(), State::Master);
}

// ---- fault --------------------------------------------------------------------------------------

#[test]
fn fault_link_down_master_removes_without_advert() {
    let mut n = master_node(100);
    let a = n.at(4100, Input::Link(false));
    assert_eq!(
        a,
        vec![
            remove(),
            tr(4100, State::Master, State::Fault, Reason::LinkDown)
        ]
    );
    assert_eq!(n.e.poll_timeout(), None);
    assert_eq!(
        n.at(4200, advert(LOWER, 50, 100)),
        vec![],
        "out of the election"
    );
    let a = n.at(5000, Input::Link(true));
    assert_eq!(
        a,
        vec![tr(5000, State::Fault, State::Backup, Reason::FaultCleared)]
    );
    assert_eq!(n.e.poll_timeout(), Some(ms(5000 + 3600 - 50)));
}

#[test]
fn fault_weight_zero_check_master_releases_with_advert() {
    let mut c = config(100);
    c.checks = vec![CheckSpec { weight: 0 }];
    let mut n = master_node_with(c);
    let a = n.at(
        4100,
        Input::Check {
            index: 0,
            status: CheckStatus::Failing,
        },
    );
    assert_eq!(
        a,
        vec![
            remove(),
            send(0),
            tr(
                4100,
                State::Master,
                State::Fault,
                Reason::CheckFault { index: 0 }
            )
        ]
    );
    let a = n.at(
        4500,
        Input::Check {
            index: 0,
            status: CheckStatus::Passing,
        },
    );
    assert_eq!(
        a,
        vec![tr(4500, State::Fault, State::Backup, Reason::FaultCleared)]
    );
}

#[test]
fn fault_before_start_starts_in_fault() {
    let mut n = Node::new(config(100));
    n.at(0, Input::Link(false));
    assert_eq!(
        n.at(1, Input::Start),
        vec![tr(1, State::Initialize, State::Fault, Reason::LinkDown)]
    );
}

fn master_node_with(c: ElectionConfig) -> Node {
    let mut n = Node::started(c);
    n.run_until(4000);
    n.at(4000, free(1));
    assert_eq!(n.e.state(), State::Master);
    n
}

// ---- tracked checks -----------------------------------------------------------------------------

fn prio_event(at: u64, p: u8, index: usize) -> Action {
    Action::Event(Event {
        at: ms(at),
        kind: EventKind::PriorityChanged { priority: prio(p) },
        reason: Reason::CheckChanged { index },
    })
}

#[test]
fn checks_weights_keepalived_semantics() {
    let mut c = config(100);
    c.checks = vec![CheckSpec { weight: 20 }, CheckSpec { weight: -30 }];
    let mut n = Node::new(c);
    // Checks start passing: +20.
    assert_eq!(n.e.effective_priority(), prio(120));
    n.at(0, Input::Start);
    n.drain();
    assert_eq!(
        n.at(
            10,
            Input::Check {
                index: 1,
                status: CheckStatus::Failing
            }
        ),
        vec![prio_event(10, 90, 1)]
    );
    assert_eq!(
        n.at(
            20,
            Input::Check {
                index: 0,
                status: CheckStatus::Failing
            }
        ),
        vec![prio_event(20, 70, 0)]
    );
    assert_eq!(
        n.at(
            30,
            Input::Check {
                index: 0,
                status: CheckStatus::Failing
            }
        ),
        vec![]
    );
    assert_eq!(
        n.at(
            40,
            Input::Check {
                index: 9,
                status: CheckStatus::Failing
            }
        ),
        vec![],
        "bad index ignored"
    );
    // Skew follows the effective priority: (256-70)*100/256 = 72 cs.
    assert_eq!(n.e.skew_time(), Duration::from_millis(720));

    let mut c = config(250);
    c.checks = vec![CheckSpec { weight: 50 }];
    assert_eq!(
        Election::new(c, 0).effective_priority(),
        prio(254),
        "clamped to 254"
    );
    let mut c = config(10);
    c.checks = vec![CheckSpec { weight: -50 }];
    let mut n = Node::started(c);
    n.at(
        1,
        Input::Check {
            index: 0,
            status: CheckStatus::Failing,
        },
    );
    assert_eq!(n.e.effective_priority(), prio(1), "clamped to 1");
    let mut c = config(255);
    c.checks = vec![CheckSpec { weight: -50 }];
    let mut n = Node::started(c);
    n.at(
        1,
        Input::Check {
            index: 0,
            status: CheckStatus::Failing,
        },
    );
    assert_eq!(n.e.effective_priority(), prio(255), "owner stays 255");
}

#[test]
fn checks_master_dropping_below_backup_is_preempted() {
    // The master advertises its lowered priority at once; a higher backup then preempts.
    let mut c = config(150);
    c.checks = vec![CheckSpec { weight: -100 }];
    let mut m = master_node_with(c);
    let a = m.at(
        4100,
        Input::Check {
            index: 0,
            status: CheckStatus::Failing,
        },
    );
    assert_eq!(a, vec![prio_event(4100, 50, 0), send(50)]);

    let mut bc = config(100);
    bc.local_addr = ip(HIGHER);
    let mut b = Node::started(bc);
    for t in [1000, 2000, 3000] {
        b.at(t, advert(LOCAL, 150, 100));
    }
    b.at(
        4100,
        Input::Advert(Advert {
            from: peer(LOCAL),
            priority: prio(50),
            max_advert_interval: Interval::from_centis(100),
            address_mismatch: false,
        }),
    );
    // Discarded: the timer from the 3000 ms advert runs out (no early probe: the master is
    // alive); reason Preempt.
    let a = b.run_until(6600);
    assert_eq!(
        a,
        vec![
            (
                6600,
                tr(
                    6600,
                    State::Backup,
                    State::Claiming,
                    Reason::Preempt { peer: peer(LOCAL) }
                )
            ),
            (6600, send(100)),
        ]
    );
    // The master hears the claim and steps down; the backup probes after the settle time.
    let a = m.at(6601, advert(HIGHER, 100, 100));
    assert_eq!(a[0], remove());
    assert_eq!(b.fire(6650), vec![probe(1)]);
}
