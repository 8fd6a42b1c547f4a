//! At fast intervals the in-use probe overlaps the master-down wait: a takeover of a free VIP
//! at 1 cs lands at Master_Down_Interval, even when the probe answers only at the end of its
//! wait; an advert from the master drops the early probe.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::Duration;

use vip_core::election::{Action, Advert, Election, ElectionConfig, EventKind, Input, State};
use vip_core::{InUse, Interval, PeerId, Priority, Timestamp, Vip};

fn config() -> ElectionConfig {
    let local: IpAddr = "198.51.100.1".parse().unwrap();
    let vip = Vip::host("198.51.100.100".parse().unwrap(), "eth0");
    let mut c = ElectionConfig::new(9, local, vec![vip]);
    c.advert_interval = Interval::from_centis(1);
    c
}

/// Runs the machine until `until`: probes answer Free at the end of their wait; returns the
/// instant it became Master and the probes started, as (start, timeout).
fn run(
    e: &mut Election,
    until: Timestamp,
    adverts: &[(Timestamp, Advert)],
) -> (Option<Timestamp>, Vec<(Timestamp, Duration)>) {
    let mut answers: Vec<(Timestamp, u64)> = Vec::new();
    let mut adverts = adverts.to_vec();
    let (mut master_at, mut probes) = (None, Vec::new());
    let mut now = Timestamp::ZERO;
    loop {
        let next_answer = answers.iter().map(|a| a.0).min();
        let next_advert = adverts.first().map(|a| a.0);
        let Some(t) = [e.poll_timeout(), next_answer, next_advert]
            .into_iter()
            .flatten()
            .min()
        else {
            break;
        };
        if t > until {
            break;
        }
        now = now.max(t);
        if next_advert == Some(t) {
            let (_, adv) = adverts.remove(0);
            e.handle(now, Input::Advert(adv));
        } else if next_answer == Some(t) {
            let i = answers.iter().position(|a| a.0 == t).unwrap();
            let (_, id) = answers.remove(i);
            let result = Ok(InUse::Free);
            e.handle(now, Input::InUse { probe: id, result });
        } else {
            e.handle(now, Input::Timer);
        }
        while let Some(action) = e.poll_action() {
            match action {
                Action::ProbeInUse { id, timeout, .. } => {
                    probes.push((now, timeout));
                    answers.push((now + timeout, id));
                }
                Action::Event(ev) => {
                    if let EventKind::Transition {
                        to: State::Master, ..
                    } = ev.kind
                    {
                        master_at.get_or_insert(ev.at);
                    }
                }
                _ => {}
            }
        }
    }
    (master_at, probes)
}

#[test]
fn a_free_vip_at_1cs_is_taken_at_master_down_interval() {
    let mut e = Election::new(config(), 1);
    e.handle(Timestamp::ZERO, Input::Start);
    let mdi = e.master_down_interval();
    // 3 x 1 cs; Skew_Time (156 x 1 cs / 256) truncates to 0 cs.
    assert_eq!(mdi, Duration::from_millis(30));
    let (master_at, probes) = run(&mut e, Timestamp::from_millis(200), &[]);
    assert_eq!(master_at, Some(Timestamp::ZERO + mdi));
    // One probe, from half an interval after the first missed advert (15 ms) to the timer's
    // expiry (30 ms).
    assert_eq!(
        probes,
        vec![(Timestamp::from_millis(15), Duration::from_millis(15))]
    );
}

#[test]
fn an_advert_from_the_master_drops_the_early_probe() {
    let mut e = Election::new(config(), 1);
    e.handle(Timestamp::ZERO, Input::Start);
    let master = Advert {
        from: PeerId("198.51.100.2".parse().unwrap()),
        priority: Priority::new(200),
        max_advert_interval: Interval::from_centis(1),
        address_mismatch: false,
    };
    // The master is heard at 5 ms and, late, at 22 ms (after the first early probe started
    // at 20 ms), then goes silent.
    let heard = [
        (Timestamp::from_millis(5), master),
        (Timestamp::from_millis(22), master),
    ];
    let (master_at, probes) = run(&mut e, Timestamp::from_millis(200), &heard);
    // The probe started at 20 ms is dropped by the advert at 22 ms; the takeover comes one
    // Master_Down_Interval after that advert, on the answer of a probe started after it.
    assert_eq!(master_at, Some(Timestamp::from_millis(52)));
    assert_eq!(probes.len(), 2, "{probes:?}");
    assert_eq!(probes[0].0, Timestamp::from_millis(20));
    assert_eq!(probes[1].0, Timestamp::from_millis(37));
}
