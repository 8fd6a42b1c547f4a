//! Maintenance and switchover at the machine's edge: the exact actions each request produces
//! (the release path a stop takes: remove the VIPs, then the priority-0 advert; a takeover's
//! claiming advert at 254), and the requests it ignores.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::IpAddr;

use vip_core::election::{
    Action, AddressOp, Advert, Election, ElectionConfig, Event, EventKind, Input, Reason, State,
    Switchover,
};
use vip_core::{InUse, Interval, PeerId, Priority, Timestamp, Vip};

const LOCAL: &str = "198.51.100.10";
const OTHER: &str = "198.51.100.20";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn vips() -> Vec<Vip> {
    vec![Vip::host(ip("198.51.100.100"), "eth0")]
}

fn machine(priority: u8) -> Election {
    let mut c = ElectionConfig::new(7, ip(LOCAL), vips());
    c.priority = Priority::new(priority);
    Election::new(c, 1)
}

fn advert(priority: u8) -> Input {
    Input::Advert(Advert {
        from: PeerId(ip(OTHER)),
        priority: Priority::new(priority),
        max_advert_interval: Interval::from_centis(100),
        address_mismatch: false,
    })
}

/// Carries out every action (probes say free, address operations succeed) and returns them.
fn run(e: &mut Election, now: Timestamp) -> Vec<Action> {
    let mut all = Vec::new();
    while let Some(a) = e.poll_action() {
        let answer = match &a {
            Action::ProbeInUse { id, .. } => Some(Input::InUse {
                probe: *id,
                result: Ok(InUse::Free),
            }),
            Action::AddVips(_) => Some(Input::Address {
                op: AddressOp::Add,
                result: Ok(()),
            }),
            Action::RemoveVips(_) => Some(Input::Address {
                op: AddressOp::Remove,
                result: Ok(()),
            }),
            _ => None,
        };
        all.push(a);
        if let Some(i) = answer {
            e.handle(now, i);
        }
    }
    all
}

/// Runs timers until `at`.
fn until(e: &mut Election, at: Timestamp) -> Vec<Action> {
    let mut all = Vec::new();
    while let Some(t) = e.poll_timeout().filter(|t| *t <= at) {
        e.handle(t, Input::Timer);
        all.extend(run(e, t));
    }
    all
}

/// A master of its own (no peer heard), at 10 s.
fn master(priority: u8) -> Election {
    let mut e = machine(priority);
    e.handle(Timestamp::ZERO, Input::Start);
    run(&mut e, Timestamp::ZERO);
    until(&mut e, Timestamp::from_millis(10_000));
    assert_eq!(e.state(), State::Master);
    e
}

fn transition(at: Timestamp, from: State, to: State, reason: Reason) -> Action {
    Action::Event(Event {
        at,
        kind: EventKind::Transition { from, to },
        reason,
    })
}

#[test]
fn hand_over_releases_like_a_stop_and_does_not_preempt_the_new_master() {
    let mut e = master(200);
    let now = Timestamp::from_millis(10_000);
    e.handle(now, Input::Switchover(Switchover::HandOver));
    assert_eq!(
        run(&mut e, now),
        vec![
            Action::RemoveVips(vips()),
            Action::SendAdvert {
                priority: Priority::RELEASE
            },
            transition(now, State::Master, State::Backup, Reason::Switchover),
        ]
    );
    assert!(!e.holds_vips());
    // A lower-priority node takes over; preempt is on, yet this node follows it.
    for i in 1..=50 {
        let t = now + std::time::Duration::from_millis(100 * i);
        e.handle(t, advert(100));
        let acts = until(&mut e, t);
        assert!(
            acts.iter().all(|a| !matches!(a, Action::AddVips(_))),
            "{acts:?}"
        );
    }
    assert_eq!(e.state(), State::Backup);
    assert_eq!(e.master(), Some(PeerId(ip(OTHER))));
}

#[test]
fn take_over_advertises_254_and_lasts_while_master() {
    let mut e = machine(100);
    e.handle(Timestamp::ZERO, Input::Start);
    run(&mut e, Timestamp::ZERO);
    let t = Timestamp::from_millis(500);
    e.handle(t, advert(200));
    run(&mut e, t);
    assert_eq!(e.state(), State::Backup);
    e.handle(t, Input::Switchover(Switchover::TakeOver));
    let acts = run(&mut e, t);
    assert_eq!(e.effective_priority(), Priority::new(254));
    assert!(
        acts.contains(&Action::SendAdvert {
            priority: Priority::new(254)
        }),
        "{acts:?}"
    );
    until(&mut e, Timestamp::from_millis(2_000));
    assert_eq!(e.state(), State::Master);
    // A better advert (the owner) sends it back to Backup, at its own priority again.
    let t = Timestamp::from_millis(2_000);
    e.handle(t, advert(255));
    run(&mut e, t);
    assert_eq!(e.state(), State::Backup);
    assert_eq!(e.effective_priority(), Priority::new(100));
}

#[test]
fn maintenance_releases_never_claims_and_off_claims_when_nobody_is_master() {
    let mut e = master(200);
    let now = Timestamp::from_millis(10_000);
    e.handle(now, Input::Maintenance(true));
    assert_eq!(
        run(&mut e, now),
        vec![
            Action::RemoveVips(vips()),
            Action::SendAdvert {
                priority: Priority::RELEASE
            },
            transition(
                now,
                State::Master,
                State::Backup,
                Reason::Maintenance { on: true }
            ),
        ]
    );
    assert!(e.maintenance());
    // Nobody else: the Master_Down_Timer runs out, and still no claim.
    let later = Timestamp::from_millis(20_000);
    let acts = until(&mut e, later);
    assert!(
        acts.iter()
            .all(|a| !matches!(a, Action::AddVips(_) | Action::SendAdvert { .. })),
        "{acts:?}"
    );
    assert_eq!(e.state(), State::Backup);
    // A switchover is ignored in maintenance.
    e.handle(later, Input::Switchover(Switchover::TakeOver));
    assert!(run(&mut e, later).is_empty());
    // Off: nobody is master, so it claims at once.
    e.handle(later, Input::Maintenance(false));
    run(&mut e, later);
    assert_eq!(e.state(), State::Claiming);
    until(&mut e, Timestamp::from_millis(21_000));
    assert_eq!(e.state(), State::Master);
}

#[test]
fn requests_that_do_not_apply_are_ignored() {
    // Hand over on a backup, take over on a master, both before start.
    let mut e = machine(100);
    e.handle(Timestamp::ZERO, Input::Switchover(Switchover::HandOver));
    e.handle(Timestamp::ZERO, Input::Switchover(Switchover::TakeOver));
    assert!(run(&mut e, Timestamp::ZERO).is_empty());
    let mut e = master(200);
    let now = Timestamp::from_millis(10_000);
    e.handle(now, Input::Switchover(Switchover::TakeOver));
    assert!(run(&mut e, now).is_empty());
    assert_eq!(e.state(), State::Master);
}
