//! RFC 9568 section 6 conformance, plus vip's additions (fence-first claiming, role gating,
//! fault, tracked checks). Every case names the section or rule it checks, and asserts the
//! exact action sequence and times. Table rows that assert vip's own deviation from the RFC
//! (the claiming step, the claim lead) carry a `deviation` label saying what differs, and the
//! table checks that every row whose own steps claim has one. Time never runs backwards.
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

const LOCAL: &str = "198.51.100.10";
const LOWER: &str = "198.51.100.5";
const HIGHER: &str = "198.51.100.20";
const MAC: [u8; 6] = [2, 0, 0, 0, 0, 9];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
fn peer(s: &str) -> PeerId {
    PeerId(ip(s))
}
fn vips() -> Vec<Vip> {
    vec![Vip::host(ip("198.51.100.100"), "eth0")]
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
    Action::ProbeInUse {
        id,
        vips: vips(),
        timeout: config(100).in_use_probe_timeout,
    }
}
fn fence(id: u64, peer_addr: Option<&str>, mac: Option<[u8; 6]>) -> Action {
    Action::Fence {
        id,
        request: FenceRequest {
            peer: peer_addr.map(peer),
            holder_mac: mac,
            token: None,
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
    /// The latest time fed so far: time never runs backwards in these tests.
    now: u64,
}

impl Node {
    fn new(config: ElectionConfig) -> Self {
        Node {
            e: Election::new(config, 42),
            now: 0,
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
        assert!(
            at >= self.now,
            "time fed backwards: {at} ms after {} ms",
            self.now
        );
        self.now = at;
        self.e.handle(ms(at), input);
        self.drain()
    }
    /// Fires the timer at exactly `poll_timeout`, asserting it equals `expect`.
    fn fire(&mut self, expect: u64) -> Vec<Action> {
        assert_eq!(self.e.poll_timeout(), Some(ms(expect)), "next deadline");
        self.at(expect, Input::Timer)
    }
    /// Fires every timer due up to and including `until`; returns their actions.
    fn upto(&mut self, until: u64) -> Vec<Action> {
        self.run_until(until).into_iter().map(|(_, a)| a).collect()
    }
    /// Fires timers up to and including `until`, collecting actions.
    fn run_until(&mut self, until: u64) -> Vec<(u64, Action)> {
        let mut out = Vec::new();
        while let Some(t) = self.e.poll_timeout() {
            if t > ms(until) {
                break;
            }
            let at = t.as_micros() / 1000;
            assert!(
                at >= self.now,
                "time fed backwards: {at} ms after {} ms",
                self.now
            );
            self.now = at;
            self.e.handle(t, Input::Timer);
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
        "claim lead before expiry"
    );

    let mut c = config(100);
    c.version = Version::V2;
    let mut n = Node::started(c);
    n.at(10, advert(HIGHER, 200, 300));
    assert_eq!(n.e.master_adver_interval(), Interval::from_centis(100));
    assert_eq!(n.e.master_down_interval(), Duration::from_millis(3600));
}

// ---- 6.4 state machine: table-driven conformance ------------------------------------------------

/// One scripted step: feed an input at a time (timers due at or before that time fire first, at
/// their exact deadlines), or just let time run.
enum Ev {
    In(u64, Input),
    Until(u64),
}

struct Case {
    section: &'static str,
    /// `Some(what)` when the row asserts vip's own deviation from the RFC (fence-first
    /// claiming, the claim lead, removal order), with what differs; `None` for the RFC's rule.
    deviation: Option<&'static str>,
    config: ElectionConfig,
    script: Vec<Ev>,
    /// Every action the machine emits, with the time it emitted it.
    expect: Vec<(u64, Action)>,
    end: State,
}

fn run_script(config: ElectionConfig, script: Vec<Ev>) -> (Vec<(u64, Action)>, Election) {
    let mut e = Election::new(config, 42);
    let mut log = Vec::new();
    let collect = |e: &mut Election, at: Timestamp, log: &mut Vec<(u64, Action)>| {
        while let Some(a) = e.poll_action() {
            log.push((at.as_micros() / 1000, a));
        }
    };
    let timers_until = |e: &mut Election, until: u64, log: &mut Vec<(u64, Action)>| {
        while let Some(t) = e.poll_timeout() {
            if t > ms(until) {
                break;
            }
            e.handle(t, Input::Timer);
            collect(e, t, log);
        }
    };
    let mut now = 0;
    for ev in script {
        let t = match ev {
            Ev::In(t, _) | Ev::Until(t) => t,
        };
        assert!(t >= now, "time fed backwards: {t} ms after {now} ms");
        now = t;
        match ev {
            Ev::In(t, input) => {
                timers_until(&mut e, t, &mut log);
                e.handle(ms(t), input);
                collect(&mut e, ms(t), &mut log);
            }
            Ev::Until(t) => timers_until(&mut e, t, &mut log),
        }
    }
    (log, e)
}

/// A node that became Master at 3600 ms (no master heard, probe Free).
fn master_script() -> Vec<Ev> {
    vec![
        Ev::In(0, Input::Start),
        Ev::In(3560, free(1)),
        Ev::Until(3600),
    ]
}

fn master_log(p: u8) -> Vec<(u64, Action)> {
    then(
        vec![(0, tr(0, State::Initialize, State::Backup, Reason::Started))],
        then(
            claim_log(3600, p, 1, Reason::MasterDown),
            vec![
                (3600, add()),
                (3600, announce()),
                (
                    3600,
                    tr(3600, State::Claiming, State::Master, Reason::VipFree),
                ),
            ],
        ),
    )
}

/// A master-down claim whose Master_Down_Timer expires at `expiry`: the claim starts one lead
/// (50 ms) early with the claiming advert and the probe, and repeats the advert halfway.
fn claim_log(expiry: u64, p: u8, probe_id: u64, reason: Reason) -> Vec<(u64, Action)> {
    vec![
        (
            expiry - 50,
            tr(expiry - 50, State::Backup, State::Claiming, reason),
        ),
        (expiry - 50, send(p)),
        (expiry - 50, probe(probe_id)),
        (expiry - 25, send(p)),
    ]
}

fn with(mut script: Vec<Ev>, more: Vec<Ev>) -> Vec<Ev> {
    script.extend(more);
    script
}

fn then(mut log: Vec<(u64, Action)>, more: Vec<(u64, Action)>) -> Vec<(u64, Action)> {
    log.extend(more);
    log
}

/// The deviation of every row whose machine claims: vip's claim lead.
const CLAIM_LEAD: &str = "vip deviation (fence-first claiming): the claim (Claiming, the \
    claiming advert, the in-use probe) starts one lead (in_use_probe_timeout, 50 ms) before \
    Master_Down_Timer expires, and the VIPs are added when it expires and the probe said Free; \
    the RFC goes Master when the timer fires";
/// The owner's start.
const OWNER_CLAIMS: &str = "vip deviation (fence-first claiming): the RFC's owner goes Master \
    at once; vip's owner claims (advert, in-use probe after one lead) and goes Master when the \
    probe says Free, at 52 ms here";
/// A master's shutdown.
const REMOVE_FIRST: &str = "vip deviation (order): the VIPs are removed before the priority-0 \
    advert, so that no instant has two holders";

/// Whether `log` holds a claim (vip's claiming step): a Claiming transition or an in-use probe.
fn claims(log: &[(u64, Action)]) -> bool {
    log.iter().any(|(_, a)| {
        matches!(a, Action::ProbeInUse { .. })
            || matches!(
                a,
                Action::Event(Event {
                    kind: EventKind::Transition {
                        to: State::Claiming,
                        ..
                    },
                    ..
                })
            )
    })
}

fn cases() -> Vec<Case> {
    let no_preempt = {
        let mut c = config(150);
        c.preempt = false;
        c
    };
    let v2 = {
        let mut c = config(100);
        c.version = Version::V2;
        c
    };
    vec![
        Case {
            section: "6.4.1: Startup with priority < 255 -> Backup, Master_Down_Timer = \
                      Master_Down_Interval (3 s + Skew_Time 0.6 s at priority 100)",
            deviation: None,
            config: config(100),
            script: vec![Ev::In(0, Input::Start), Ev::Until(3549)],
            expect: vec![(0, tr(0, State::Initialize, State::Backup, Reason::Started))],
            end: State::Backup,
        },
        Case {
            section: "6.4.1 + 6.4.2: no advert within Master_Down_Interval -> takeover at exactly 3.6 s",
            deviation: Some(CLAIM_LEAD),
            config: config(100),
            script: master_script(),
            expect: master_log(100),
            end: State::Master,
        },
        Case {
            section: "6.4.1: Startup as address owner (255) -> Master at once, Adver_Timer running",
            deviation: Some(OWNER_CLAIMS),
            config: config(255),
            script: vec![
                Ev::In(0, Input::Start),
                Ev::In(52, free(1)),
                Ev::Until(2025),
            ],
            expect: vec![
                (0, tr(0, State::Initialize, State::Claiming, Reason::Owner)),
                (0, send(255)),
                (25, send(255)),
                (50, probe(1)),
                (52, add()),
                (52, announce()),
                (52, tr(52, State::Claiming, State::Master, Reason::VipFree)),
                (1025, send(255)),
                (2025, send(255)),
            ],
            end: State::Master,
        },
        Case {
            section: "6.4.2: Backup receiving an advert with priority >= local resets Master_Down_Timer",
            deviation: Some(CLAIM_LEAD),
            config: config(100),
            script: vec![
                Ev::In(0, Input::Start),
                Ev::In(1000, advert(HIGHER, 200, 100)),
                Ev::In(2000, advert(HIGHER, 200, 100)),
                Ev::In(3000, advert(HIGHER, 100, 100)),
                Ev::In(4000, advert(HIGHER, 200, 100)),
                Ev::Until(7550),
            ],
            // The claim starts one lead (50 ms) before 4000 + 3600.
            expect: vec![
                (0, tr(0, State::Initialize, State::Backup, Reason::Started)),
                (
                    7550,
                    tr(7550, State::Backup, State::Claiming, Reason::MasterDown),
                ),
                (7550, send(100)),
                (7550, probe(1)),
            ],
            end: State::Claiming,
        },
        Case {
            section: "6.4.2: Backup receiving priority 0 sets Master_Down_Timer to Skew_Time",
            deviation: Some(CLAIM_LEAD),
            config: config(100),
            script: vec![
                Ev::In(0, Input::Start),
                Ev::In(1000, advert(HIGHER, 200, 100)),
                Ev::In(1500, advert(HIGHER, 0, 100)),
                Ev::Until(2050),
                Ev::In(2060, free(1)),
                Ev::Until(2100),
            ],
            expect: then(
                vec![
                    (0, tr(0, State::Initialize, State::Backup, Reason::Started)),
                    // Skew_Time is 600 ms; the probe starts with the claim, one lead (50 ms)
                    // before the timer, not at the release.
                    (
                        2050,
                        tr(
                            2050,
                            State::Backup,
                            State::Claiming,
                            Reason::MasterReleased { peer: peer(HIGHER) },
                        ),
                    ),
                    (2050, send(100)),
                    (2050, probe(1)),
                    (2075, send(100)),
                    (2100, add()),
                    (2100, announce()),
                ],
                vec![(
                    2100,
                    tr(2100, State::Claiming, State::Master, Reason::VipFree),
                )],
            ),
            end: State::Master,
        },
        Case {
            section: "6.4.2: Backup with Preempt_Mode discards a lower-priority advert and takes over \
                      when Master_Down_Timer fires",
            deviation: Some(CLAIM_LEAD),
            config: config(150),
            script: vec![
                Ev::In(0, Input::Start),
                Ev::In(500, advert(LOWER, 100, 100)),
                Ev::In(1500, advert(LOWER, 100, 100)),
                Ev::In(2500, advert(LOWER, 100, 100)),
                Ev::In(3400, advert(LOWER, 100, 100)),
                Ev::In(3470, free(1)),
            ],
            expect: vec![
                (0, tr(0, State::Initialize, State::Backup, Reason::Started)),
                // MDI at 150: 300 + (106 * 100) / 256 = 341 cs.
                (
                    3410,
                    tr(
                        3410,
                        State::Backup,
                        State::Claiming,
                        Reason::Preempt { peer: peer(LOWER) },
                    ),
                ),
                (3410, send(150)),
                (3435, send(150)),
                // The probe waits one lead so the lower master can step down first.
                (3460, probe(1)),
                (3470, add()),
                (3470, announce()),
                (
                    3470,
                    tr(3470, State::Claiming, State::Master, Reason::VipFree),
                ),
            ],
            end: State::Master,
        },
        Case {
            section: "6.4.2: Backup without Preempt_Mode accepts a lower-priority master",
            deviation: Some(CLAIM_LEAD),
            config: no_preempt,
            script: std::iter::once(Ev::In(0, Input::Start))
                .chain((1..=10).map(|i| Ev::In(i * 1000, advert(LOWER, 100, 100))))
                .chain([Ev::Until(13_360)])
                .collect(),
            // Accepted: the claim comes only 3.41 s (minus the 50 ms lead) after the last one.
            expect: vec![
                (0, tr(0, State::Initialize, State::Backup, Reason::Started)),
                (
                    13_360,
                    tr(13_360, State::Backup, State::Claiming, Reason::MasterDown),
                ),
                (13_360, send(150)),
                (13_360, probe(1)),
            ],
            end: State::Claiming,
        },
        Case {
            section: "6.4.2: Backup sets Master_Adver_Interval from the advert (v3): 3 x 0.5 s + \
                      (156 x 50 / 256 = 30 cs) = 1.8 s",
            deviation: Some(CLAIM_LEAD),
            config: config(100),
            script: vec![
                Ev::In(0, Input::Start),
                Ev::In(1000, advert(HIGHER, 200, 50)),
                Ev::Until(2800),
            ],
            expect: then(
                vec![(0, tr(0, State::Initialize, State::Backup, Reason::Started))],
                claim_log(2800, 100, 1, Reason::MasterDown),
            ),
            end: State::Claiming,
        },
        Case {
            section: "RFC 3768 6.4.2 (v2): Master_Down_Interval uses our own Advertisement_Interval",
            deviation: Some(CLAIM_LEAD),
            config: v2,
            script: vec![
                Ev::In(0, Input::Start),
                Ev::In(1000, advert(HIGHER, 200, 50)),
                Ev::Until(4600),
            ],
            expect: then(
                vec![(0, tr(0, State::Initialize, State::Backup, Reason::Started))],
                claim_log(4600, 100, 1, Reason::MasterDown),
            ),
            end: State::Claiming,
        },
        Case {
            section: "6.4.2: Backup Shutdown -> Initialize, nothing sent",
            deviation: None,
            config: config(100),
            script: vec![
                Ev::In(0, Input::Start),
                Ev::In(100, Input::Stop(StopMode::Release)),
                Ev::Until(10_000),
            ],
            expect: vec![
                (0, tr(0, State::Initialize, State::Backup, Reason::Started)),
                (
                    100,
                    tr(100, State::Backup, State::Initialize, Reason::Stopped),
                ),
            ],
            end: State::Initialize,
        },
        Case {
            section: "6.4.3: Master sends an advert each time Adver_Timer fires",
            deviation: None,
            config: config(100),
            script: with(master_script(), vec![Ev::Until(6600)]),
            // Adverts keep the phase of the claim (3550, 3575, then every second).
            expect: then(
                master_log(100),
                vec![(4575, send(100)), (5575, send(100)), (6575, send(100))],
            ),
            end: State::Master,
        },
        Case {
            section: "6.4.3: Master receiving priority 0 sends an advert at once and resets Adver_Timer",
            deviation: None,
            config: config(100),
            script: with(
                master_script(),
                vec![Ev::In(4200, advert(LOWER, 0, 100)), Ev::Until(5300)],
            ),
            expect: then(master_log(100), vec![(4200, send(100)), (5200, send(100))]),
            end: State::Master,
        },
        Case {
            section: "6.4.3: Master receiving a higher priority -> Backup (VIPs removed first), \
                      Master_Adver_Interval learned",
            deviation: Some(CLAIM_LEAD),
            config: config(100),
            script: with(
                master_script(),
                vec![Ev::In(4100, advert(HIGHER, 200, 50)), Ev::Until(5850)],
            ),
            expect: then(
                master_log(100),
                vec![
                    (4100, remove()),
                    (
                        4100,
                        tr(
                            4100,
                            State::Master,
                            State::Backup,
                            Reason::HigherPriority {
                                peer: peer(HIGHER),
                                priority: prio(200),
                            },
                        ),
                    ),
                    // 4100 + 1800 - 50 ms lead.
                    (
                        5850,
                        tr(5850, State::Backup, State::Claiming, Reason::MasterDown),
                    ),
                    (5850, send(100)),
                    (5850, probe(2)),
                ],
            ),
            end: State::Claiming,
        },
        Case {
            section: "6.4.3: Master receiving equal priority from a higher primary address -> Backup",
            deviation: None,
            config: config(100),
            script: with(
                master_script(),
                vec![Ev::In(4100, advert(HIGHER, 100, 100))],
            ),
            expect: then(
                master_log(100),
                vec![
                    (4100, remove()),
                    (
                        4100,
                        tr(
                            4100,
                            State::Master,
                            State::Backup,
                            Reason::HigherPriority {
                                peer: peer(HIGHER),
                                priority: prio(100),
                            },
                        ),
                    ),
                ],
            ),
            end: State::Backup,
        },
        Case {
            section: "6.4.3: Master receiving equal priority from a lower primary address discards it \
                      (and re-advertises at once)",
            deviation: None,
            config: config(100),
            script: with(
                master_script(),
                vec![Ev::In(4100, advert(LOWER, 100, 100)), Ev::Until(5100)],
            ),
            expect: then(master_log(100), vec![(4100, send(100)), (5100, send(100))]),
            end: State::Master,
        },
        Case {
            section: "6.4.3: Master receiving a lower priority discards it (and re-advertises at once)",
            deviation: None,
            config: config(100),
            script: with(master_script(), vec![Ev::In(4100, advert(LOWER, 50, 100))]),
            expect: then(master_log(100), vec![(4100, send(100))]),
            end: State::Master,
        },
        Case {
            section: "6.4.3: Master Shutdown -> VIPs removed, priority-0 advert, Initialize",
            deviation: Some(REMOVE_FIRST),
            config: config(100),
            script: with(
                master_script(),
                vec![
                    Ev::In(5000, Input::Stop(StopMode::Release)),
                    Ev::Until(20_000),
                ],
            ),
            expect: then(
                master_log(100),
                vec![
                    (4575, send(100)),
                    (5000, remove()),
                    (5000, send(0)),
                    (
                        5000,
                        tr(5000, State::Master, State::Initialize, Reason::Stopped),
                    ),
                ],
            ),
            end: State::Initialize,
        },
    ]
}

#[test]
fn rfc_9568_section_6_4_conformance_table() {
    for case in cases() {
        // A row whose own steps (past a master's set-up, which claims) claim asserts vip's
        // deviation, and says so.
        let setups = [master_log(100), master_log(150)];
        let own = setups
            .iter()
            .find(|m| case.expect.starts_with(m))
            .map_or(&case.expect[..], |m| &case.expect[m.len()..]);
        assert!(
            !claims(own) || case.deviation.is_some(),
            "{}: asserts vip's claiming step but is not labelled a deviation",
            case.section
        );
        let (log, e) = run_script(case.config, case.script);
        assert_eq!(log, case.expect, "{}", case.section);
        assert_eq!(e.state(), case.end, "{}", case.section);
        assert_eq!(
            e.holds_vips(),
            case.end == State::Master,
            "{}",
            case.section
        );
    }
}

// ---- 6.4.1 Initialize ---------------------------------------------------------------------------

#[test]
fn rfc_6_4_1_owner_claims_at_once() {
    let mut n = Node::new(config(255));
    let a = n.at(0, Input::Start);
    assert_eq!(
        a,
        vec![
            tr(0, State::Initialize, State::Claiming, Reason::Owner),
            send(255)
        ]
    );
    // The probe waits in_use_probe_timeout, so that a backup holding the VIPs hears the
    // owner's advert and steps down first.
    assert_eq!(n.fire(25), vec![send(255)]);
    assert_eq!(n.fire(50), vec![probe(1)]);
    let a = n.at(53, free(1));
    assert_eq!(
        a,
        vec![
            add(),
            announce(),
            tr(53, State::Claiming, State::Master, Reason::VipFree)
        ]
    );
    assert!(n.e.holds_vips());
    assert_eq!(n.e.master(), Some(peer(LOCAL)));
    // 6.4.3: Adver_Timer fires every Advertisement_Interval.
    assert_eq!(n.fire(1025), vec![send(255)]);
    assert_eq!(n.fire(2025), vec![send(255)]);
}

// ---- 6.4.2 Backup -------------------------------------------------------------------------------

#[test]
fn rfc_6_4_2_owner_preempts_even_with_preempt_off() {
    // 6.1 Preempt_Mode: "the router that owns the IPvX address(es) always preempts". 6.4.2, in
    // Backup: an advert of lower priority is accepted only when Preempt_Mode is False, and the
    // owner preempts whatever Preempt_Mode says, so in Backup it discards a lower-priority
    // advert (Master_Down_Timer keeps running) and takes over when the timer fires.
    let mut c = config(255);
    c.preempt = false;
    let mut n = Node::new(c);
    n.at(0, Input::Start);
    n.upto(50);
    n.at(53, free(1));
    assert_eq!(n.e.state(), State::Master);
    // Another owner with a higher primary address wins the tie (6.4.3): the owner is Backup.
    let a = n.at(1000, advert(HIGHER, 255, 100));
    assert_eq!(n.e.state(), State::Backup, "{a:?}");
    // The other now advertises below 255: a non-owner without Preempt_Mode would accept it
    // (`rfc_9568_section_6_4_conformance_table`); the owner discards it and preempts at the
    // Master_Down_Timer set by the last advert it accepted (1000 + 3 s + Skew_Time 0 at 255).
    assert_eq!(n.at(2000, advert(HIGHER, 100, 100)), vec![]);
    assert_eq!(n.at(3000, advert(HIGHER, 100, 100)), vec![]);
    let deadline = n.e.poll_timeout().expect("Master_Down_Timer runs");
    assert!(
        deadline <= ms(1000 + 3000),
        "the lower adverts must not reset Master_Down_Timer: {deadline:?}"
    );
    let claimed = n.upto(1000 + 3000);
    assert!(
        claimed.iter().any(|a| matches!(
            a,
            Action::Event(Event {
                kind: EventKind::Transition {
                    from: State::Backup,
                    to: State::Claiming
                },
                ..
            })
        )),
        "the owner preempts a lower-priority master with preempt off: {claimed:?}"
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
    assert_eq!(n.fire(10_025), vec![send(150)]);
    assert_eq!(n.fire(10_050), vec![probe(1)]);
}

#[test]
fn keepalived_preempt_delay_does_not_delay_takeover_when_no_master() {
    let mut c = config(150);
    c.preempt_delay = Duration::from_secs(10);
    let mut n = Node::started(c);
    let a = n.run_until(3360);
    assert_eq!(
        a,
        vec![
            (
                3360,
                tr(3360, State::Backup, State::Claiming, Reason::MasterDown)
            ),
            (3360, send(150)),
            (3360, probe(1)),
        ]
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

// ---- fence-first claiming -----------------------------------------------------------------------

#[test]
fn claim_hard_failover_at_protocol_bound_when_probe_answers_in_time() {
    let mut n = Node::started(config(100));
    n.at(1000, advert(HIGHER, 200, 100));
    // The master dies after its advert at 1000. The claim starts one lead (50 ms) before
    // Master_Down_Interval (3.6 s): claiming advert and in-use probe.
    assert_eq!(
        n.fire(4550),
        vec![
            tr(4550, State::Backup, State::Claiming, Reason::MasterDown),
            send(100),
            probe(1),
        ]
    );
    assert_eq!(
        n.fire(4575),
        vec![send(100)],
        "the claiming advert is repeated"
    );
    assert_eq!(
        n.at(4590, free(1)),
        vec![],
        "a Free answer alone does not add early"
    );
    // At exactly 1000 + 3600 ms the VIPs are added.
    assert_eq!(
        n.fire(4600),
        vec![
            add(),
            announce(),
            tr(4600, State::Claiming, State::Master, Reason::VipFree)
        ]
    );
}

#[test]
fn claim_lead_lets_simultaneous_claimants_resolve_before_adding() {
    // Two backups with equal priority whose timers expire together (RFC 9568 would let both
    // become master for one advert transit). The lower address hears the higher one's claim
    // during the lead and returns to Backup before anything is added.
    let mut a = Node::started(config(100));
    let mut hc = config(100);
    hc.local_addr = ip(HIGHER);
    let mut b = Node::started(hc);
    assert_eq!(
        a.fire(3550)[0],
        tr(3550, State::Backup, State::Claiming, Reason::MasterDown)
    );
    assert_eq!(
        b.fire(3550)[0],
        tr(3550, State::Backup, State::Claiming, Reason::MasterDown)
    );
    // Each hears the other's claim 1 ms later.
    assert_eq!(
        a.at(3551, advert(HIGHER, 100, 100)),
        vec![tr(
            3551,
            State::Claiming,
            State::Backup,
            Reason::HigherPriority {
                peer: peer(HIGHER),
                priority: prio(100)
            }
        )]
    );
    assert_eq!(b.at(3551, advert(LOCAL, 100, 100)), vec![send(100)]);
    assert_eq!(a.at(3560, free(1)), vec![]);
    assert_eq!(b.at(3560, free(1)), vec![]);
    assert_eq!(b.fire(3600)[0], add());
    assert_eq!(a.e.state(), State::Backup);
    assert!(!a.e.holds_vips());
    assert_eq!(a.e.master(), Some(peer(HIGHER)));
}

#[test]
fn claim_hold_longer_than_the_lead_delays_the_add() {
    let mut c = config(100);
    c.claim_hold = Duration::from_millis(80);
    let mut n = Node::started(c);
    n.fire(3550);
    n.at(3560, free(1));
    // Advert at 3550, repeated halfway through the 80 ms hold.
    assert_eq!(n.fire(3590), vec![send(100)]);
    assert_eq!(n.fire(3630)[0], add());
}

#[test]
fn claim_waits_for_a_late_probe_answer() {
    let mut n = Node::started(config(100));
    n.run_until(3600);
    assert_eq!(n.e.state(), State::Claiming);
    // Claiming keeps advertising every Advertisement_Interval while it waits.
    assert_eq!(n.fire(4575), vec![send(100)]);
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
    assert_eq!(n.fire(4550)[2], probe(1));
    // The master was only late: its advert wins over our claim and invalidates probe 1.
    assert_eq!(
        n.at(4560, advert(HIGHER, 200, 100)),
        vec![tr(
            4560,
            State::Claiming,
            State::Backup,
            Reason::HigherPriority {
                peer: peer(HIGHER),
                priority: prio(200)
            }
        )]
    );
    assert_eq!(n.at(4570, free(1)), vec![]);
    // The next expiry needs a fresh probe (id 2).
    assert_eq!(
        n.fire(4560 + 3550),
        vec![
            tr(8110, State::Backup, State::Claiming, Reason::MasterDown),
            send(100),
            probe(2)
        ]
    );
    // A late answer to the stale probe changes nothing.
    assert_eq!(n.at(8120, free(1)), vec![]);
    n.run_until(8160);
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
    assert_eq!(
        n.at(4560, held(1)),
        vec![],
        "nothing is fenced before the timer expires"
    );
    n.fire(4575);
    assert_eq!(n.fire(4600), vec![fence(2, Some(HIGHER), Some(MAC))]);
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
    n.upto(4550);
    n.at(4560, held(1));
    assert_eq!(
        n.upto(4600),
        vec![send(100), fence(2, Some(HIGHER), Some(MAC))]
    );
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
    assert!(a.contains(&(5575, send(100))), "{a:?}");
    assert!(!a.iter().any(|(_, x)| *x == add()));
}

#[test]
fn claim_without_fencing_never_adds_while_in_use() {
    let mut n = Node::started(config(100));
    n.at(1000, advert(HIGHER, 200, 100));
    n.upto(4550);
    n.at(4560, held(1));
    assert_eq!(n.upto(4600), vec![send(100), alarm(4600, Reason::VipInUse)]);
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
    n.upto(3550);
    n.at(
        3560,
        Input::InUse {
            probe: 1,
            result: Err(Error::timeout("probe", Duration::from_millis(50))),
        },
    );
    // No master ever heard: fence with no peer and no MAC; the fencer decides.
    assert_eq!(n.upto(3600), vec![send(100), fence(2, None, None)]);
}

#[test]
fn claim_fence_policy_always_fences_a_silent_master_even_when_free() {
    let mut c = config(100);
    c.fencing = true;
    c.fence_policy = FencePolicy::Always;
    let mut n = Node::started(c.clone());
    n.at(1000, advert(HIGHER, 200, 100));
    n.upto(4550);
    n.at(4560, free(1));
    assert_eq!(n.upto(4600), vec![send(100), fence(2, Some(HIGHER), None)]);
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
    n.upto(2050);
    n.at(2060, free(1));
    let a = n.upto(2100);
    assert!(a.contains(&add()), "{a:?}");
}

#[test]
fn claim_abandoned_on_higher_priority_advert() {
    let mut c = config(100);
    c.fencing = true;
    let mut n = Node::started(c);
    n.upto(3550);
    n.at(3560, held(1));
    assert_eq!(n.upto(3600), vec![send(100), fence(2, None, Some(MAC))]);
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
        vec![],
        "held for one lead after the claiming advert"
    );
    assert_eq!(
        n.upto(4250),
        vec![
            send(100),
            add(),
            announce(),
            tr(4250, State::Claiming, State::Master, Reason::VipFree)
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
fn a_failed_removal_is_retried_with_back_off_until_it_succeeds() {
    let timeout = Error::timeout("remove", Duration::from_millis(200));
    let failed = |err: &Error| Input::Address {
        op: AddressOp::Remove,
        result: Err(err.clone()),
    };
    let mut n = master_node(100);
    // Preempted at 4100: VIPs released, Master_Down_Timer at 4100 + 3 x 50 cs + skew = 5850.
    let a = n.at(4100, advert(HIGHER, 200, 50));
    assert!(a.contains(&remove()) && !n.e.holds_vips(), "{a:?}");
    let reason = Reason::AddressError {
        detail: timeout.to_string(),
    };
    // The removal timed out: the VIPs may still be here. Asked again one advert interval
    // (1 s) later, before the master-down deadline.
    assert_eq!(
        n.at(4150, failed(&timeout)),
        vec![alarm(4150, reason.clone())]
    );
    assert_eq!(n.fire(5150), vec![remove()]);
    // It fails again: the wait doubles (2 s, the cap), and adverts keep this node a backup.
    assert_eq!(n.at(5160, failed(&timeout)), vec![alarm(5160, reason)]);
    n.at(5160, advert(HIGHER, 200, 50));
    n.at(6900, advert(HIGHER, 200, 50));
    assert_eq!(n.fire(7160), vec![remove()]);
    // It succeeds: no retry is pending any more, only the master-down deadline.
    n.at(
        7170,
        Input::Address {
            op: AddressOp::Remove,
            result: Ok(()),
        },
    );
    assert_eq!(n.e.poll_timeout(), Some(ms(8650)));
    assert_eq!(n.e.state(), State::Backup);

    // A permanent error only alarms: retrying cannot help.
    let gone = Error::InterfaceNotFound {
        interface: "eth0".into(),
    };
    let mut n = master_node(100);
    n.at(4100, advert(HIGHER, 200, 50));
    n.at(4150, failed(&gone));
    assert_eq!(n.e.poll_timeout(), Some(ms(5850)), "no retry");
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
    assert_eq!(n.at(6010, free(1)), vec![]);
    assert_eq!(n.upto(6050)[1], add());
}

#[test]
fn role_gated_primary_before_expiry_follows_rfc_timing() {
    let mut n = Node::started(gated(100));
    n.at(10, Input::Role(Role::Primary));
    assert_eq!(
        n.fire(3550),
        vec![
            tr(3550, State::Backup, State::Claiming, Reason::MasterDown),
            send(100),
            probe(1)
        ]
    );
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
    assert_eq!(b.upto(6650), vec![send(100), probe(1)]);
}

#[test]
fn release_from_a_peer_that_is_not_our_master_is_ignored() {
    // vip refinement of 6.4.2: only the master we follow can release; otherwise we would probe
    // (and perhaps fence) a live master.
    let mut n = Node::started(config(100));
    n.at(1000, advert(HIGHER, 200, 100));
    assert_eq!(n.at(1500, advert(LOWER, 0, 100)), vec![]);
    assert_eq!(n.e.poll_timeout(), Some(ms(4550)));
    assert_eq!(n.e.master(), Some(peer(HIGHER)));
    // With no master known (after startup), any release counts (RFC behaviour).
    let mut n = Node::started(config(100));
    assert_eq!(n.at(1500, advert(LOWER, 0, 100)), vec![]);
    assert_eq!(
        n.e.poll_timeout(),
        Some(ms(2050)),
        "claim lead before 1500 + Skew_Time"
    );
}

#[test]
fn release_at_10_cs_only_the_highest_backup_probes_at_once() {
    // Every backup hears a priority-0 release at the same moment. Only the one whose claim
    // time has come (Skew_Time shorter than the claim lead) probes at once; a lower backup
    // probing too would send an RFC 5227 probe that the claimant's probe counts as another
    // holder (an alarm and a back-off: the lab's 280 ms graceful switchovers). The lower one
    // hears the claimant's advert before its own claim time and follows it, never probing.
    const MIDDLE: &str = "198.51.100.15";
    let mut top = Node::started(config(150));
    top.at(1000, advert(HIGHER, 200, 10));
    let a = top.at(1050, advert(HIGHER, 0, 10));
    assert_eq!(
        a,
        vec![
            tr(
                1050,
                State::Backup,
                State::Claiming,
                Reason::MasterReleased { peer: peer(HIGHER) }
            ),
            send(150),
            probe(1),
        ],
        "Skew_Time (4 cs) is shorter than the lead (50 ms): claim and probe at once"
    );
    top.at(1052, free(1));
    let a = top.upto(1100);
    assert!(a.contains(&add()), "{a:?}");

    let mut low = Node::started(config(100));
    low.at(1000, advert(HIGHER, 200, 10));
    assert_eq!(
        low.at(1050, advert(HIGHER, 0, 10)),
        vec![],
        "no probe at the release"
    );
    // The claimant's claiming advert, 1 ms later.
    assert_eq!(low.at(1051, advert(MIDDLE, 150, 10)), vec![]);
    let a = low.upto(1300);
    assert!(
        !a.iter()
            .any(|a| matches!(a, Action::ProbeInUse { .. } | Action::Event(_))),
        "the lower backup neither probed nor claimed: {a:?}"
    );
    assert_eq!(low.e.master(), Some(peer(MIDDLE)));
}

#[test]
fn claim_stalled_claimant_probes_again() {
    // The process was stopped (SIGSTOP) after its probe said Free: when it runs again 1.4 s
    // later, that answer describes the segment as it was, so it probes again before adding.
    let mut n = Node::started(config(100));
    n.upto(3550);
    n.at(3560, free(1));
    assert_eq!(n.at(5000, Input::Timer), vec![probe(2), send(100)]);
    assert_eq!(n.e.state(), State::Claiming);
    assert_eq!(
        n.at(5010, free(2)),
        vec![
            add(),
            announce(),
            tr(5010, State::Claiming, State::Master, Reason::VipFree)
        ]
    );
    // The same through the inbox: a stale answer processed first after the stall.
    let mut n = Node::started(config(100));
    n.upto(3550);
    assert_eq!(n.at(5000, free(1)), vec![probe(2)]);
}

#[test]
fn fault_remembers_the_master_for_fencing() {
    // A node in Fault still notes who is master; if that master goes silent after the fault
    // clears, FencePolicy::Always fences it.
    let mut c = config(100);
    c.fencing = true;
    c.fence_policy = FencePolicy::Always;
    let mut n = Node::started(c);
    n.at(100, Input::Link(false));
    assert_eq!(n.at(200, advert(HIGHER, 200, 100)), vec![]);
    assert_eq!(n.e.state(), State::Fault);
    n.at(300, Input::Link(true));
    n.upto(3850);
    n.at(3860, free(1));
    assert_eq!(n.upto(3900), vec![send(100), fence(2, Some(HIGHER), None)]);
}

#[test]
fn vips_kept_by_stop_keep_are_released_on_the_next_start_or_release() {
    let mut n = master_node(100);
    n.at(5000, Input::Stop(StopMode::Keep));
    assert!(n.e.holds_vips());
    // Starting again: nobody vouches for the kept VIPs, so they go first.
    let a = n.at(6000, Input::Start);
    assert_eq!(
        a,
        vec![
            remove(),
            tr(6000, State::Initialize, State::Backup, Reason::Started)
        ]
    );
    assert!(!n.e.holds_vips());

    let mut n = master_node(100);
    n.at(5000, Input::Stop(StopMode::Keep));
    assert_eq!(n.at(5001, Input::Stop(StopMode::Release)), vec![remove()]);
    assert!(!n.e.holds_vips());
}
