//! The role-derived priority hook (`Input::RolePriority`), which carries vip-pg's split-brain
//! rank: it replaces the configured base priority while role-gated, is advertised at once by a
//! master, and makes a lower-ranked master step down through the ordinary RFC 9568 rules.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::IpAddr;

use vip_core::election::{Action, Advert, Election, ElectionConfig, Input, State};
use vip_core::{InUse, Interval, PeerId, Priority, Role, Timestamp, Vip};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn machine(gated: bool, priority: u8) -> Election {
    let mut c = ElectionConfig::new(
        7,
        ip("198.51.100.10"),
        vec![Vip::host(ip("198.51.100.100"), "eth0")],
    );
    c.priority = Priority::new(priority);
    c.advert_interval = Interval::from_centis(10);
    c.role_gated = gated;
    Election::new(c, 1)
}

fn drain(e: &mut Election) -> Vec<Action> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

/// Runs timers and answers probes with Free until Master or `until` ms.
fn run_to_master(e: &mut Election, from: u64, until: u64) -> u64 {
    let mut now = from;
    while now <= until && e.state() != State::Master {
        let t = e
            .poll_timeout()
            .map_or(until + 1, |t| t.as_micros().div_ceil(1000));
        now = t.max(now);
        e.handle(Timestamp::from_millis(now), Input::Timer);
        for a in drain(e) {
            if let Action::ProbeInUse { id, .. } = a {
                e.handle(
                    Timestamp::from_millis(now),
                    Input::InUse {
                        probe: id,
                        result: Ok(InUse::Free),
                    },
                );
            }
        }
    }
    now
}

#[test]
fn rank_replaces_the_base_priority_while_gated() {
    let mut e = machine(true, 100);
    e.handle(Timestamp::ZERO, Input::Start);
    e.handle(Timestamp::ZERO, Input::RolePriority(Priority::new(129)));
    assert_eq!(e.effective_priority(), Priority::new(129));
    // Clamped: a rank never claims to be the address owner nor releases.
    e.handle(Timestamp::ZERO, Input::RolePriority(Priority::new(255)));
    assert_eq!(e.effective_priority(), Priority::new(254));
    e.handle(Timestamp::ZERO, Input::RolePriority(Priority::new(0)));
    assert_eq!(e.effective_priority(), Priority::new(1));
}

#[test]
fn ungated_instances_ignore_the_rank() {
    let mut e = machine(false, 100);
    e.handle(Timestamp::ZERO, Input::Start);
    e.handle(Timestamp::ZERO, Input::RolePriority(Priority::new(200)));
    assert_eq!(e.effective_priority(), Priority::new(100));
}

#[test]
fn master_advertises_a_new_rank_at_once_and_a_lower_ranked_master_steps_down() {
    let mut e = machine(true, 100);
    e.handle(Timestamp::ZERO, Input::Start);
    e.handle(Timestamp::ZERO, Input::RolePriority(Priority::new(129)));
    e.handle(Timestamp::ZERO, Input::Role(Role::Primary));
    let now = run_to_master(&mut e, 0, 5_000);
    assert_eq!(e.state(), State::Master);
    drain(&mut e);
    // A new rank (for example the timeline moved) is advertised at once.
    let t = Timestamp::from_millis(now + 1);
    e.handle(t, Input::RolePriority(Priority::new(130)));
    let actions = drain(&mut e);
    assert!(
        actions.contains(&Action::SendAdvert {
            priority: Priority::new(130)
        }),
        "{actions:?}"
    );
    // A peer with a better rank (recorded primary on a higher timeline) advertises: we step
    // down and remove the VIP (RFC 9568 6.4.3), even though our address is higher.
    e.handle(
        t,
        Input::Advert(Advert {
            from: PeerId(ip("198.51.100.5")),
            priority: Priority::new(131),
            max_advert_interval: Interval::from_centis(10),
            address_mismatch: false,
        }),
    );
    let actions = drain(&mut e);
    assert_eq!(e.state(), State::Backup);
    assert!(
        actions.iter().any(|a| matches!(a, Action::RemoveVips(_))),
        "{actions:?}"
    );
    assert!(!e.holds_vips());
}
