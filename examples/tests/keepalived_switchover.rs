//! Planned moves in a mixed pair with a real keepalived (VRRPv3, 10 cs): `vipctl switchover`
//! and `vipctl maintenance` speak plain VRRP, so keepalived takes part unchanged. Every step
//! allows no overlap at all (the pair's overlap checker over both namespaces).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod keepalived_common;

use std::process::{Command, Output};
use std::time::Duration;

use keepalived_common::{Mode, Pair, Side, V_ADDR};

const VIPCTL: &str = env!("CARGO_BIN_EXE_vipctl");
const PATIENCE: Duration = Duration::from_secs(5);
const STEADY: Duration = Duration::from_millis(1500);

fn vipctl(p: &Pair, args: &[&str]) -> Output {
    let out = Command::new(VIPCTL)
        .arg("--socket")
        .arg(&p.vipd().socket)
        .args(args)
        .output()
        .unwrap();
    if !out.status.success() {
        p.fail(&format!(
            "vipctl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    out
}

/// vipd (priority `vipd_prio`) and keepalived (`ka_prio`), with `first` holding the VIP.
fn pair(tag: &str, ka_prio: u8, vipd_prio: u8, first: Side) -> Option<Pair> {
    let mut p = Pair::new(tag)?;
    let mode = Mode::V3;
    match first {
        Side::Keepalived => {
            p.start_keepalived(&mode.keepalived_conf(ka_prio));
            p.wait_for(Side::Keepalived, PATIENCE, "keepalived alone");
            p.start_vipd(&mode.vipd_instance(vipd_prio));
        }
        Side::Vipd => {
            p.start_vipd(&mode.vipd_instance(vipd_prio));
            p.wait_for(Side::Vipd, PATIENCE, "vipd alone");
            p.start_keepalived(&mode.keepalived_conf(ka_prio));
        }
    }
    p.assert_steady(first, STEADY, "both running");
    Some(p)
}

#[test]
fn vipd_takes_over_from_a_higher_keepalived_and_hands_back() {
    let Some(mut p) = pair("vipex-ka-switch-to", 150, 100, Side::Keepalived) else {
        return;
    };
    p.step("take over from keepalived", Duration::ZERO);
    vipctl(&p, &["switchover", "--to", V_ADDR]);
    p.wait_for(Side::Vipd, PATIENCE, "take over");
    // keepalived (150, preempt) hears 254 and stays backup.
    p.assert_steady(Side::Vipd, STEADY, "after take over");
    p.step("hand back to keepalived", Duration::ZERO);
    vipctl(&p, &["switchover", "mixed"]);
    p.wait_for(Side::Keepalived, PATIENCE, "hand over");
    p.assert_steady(Side::Keepalived, STEADY, "after hand over");
    assert!(
        p.keepalived_packet_errors().is_empty(),
        "{:?}",
        p.keepalived_packet_errors()
    );
    p.check_overlaps();
}

#[test]
fn a_higher_vipd_hands_over_to_keepalived_and_does_not_preempt_back() {
    let Some(mut p) = pair("vipex-ka-switch-from", 100, 200, Side::Vipd) else {
        return;
    };
    p.step("hand over to keepalived", Duration::ZERO);
    vipctl(&p, &["switchover"]);
    p.wait_for(Side::Keepalived, PATIENCE, "hand over");
    // vipd (200, preempt) does not take it back while keepalived stays master.
    p.assert_steady(Side::Keepalived, STEADY, "after hand over");
    p.step("maintenance on the backup, then off", Duration::ZERO);
    vipctl(&p, &["maintenance", "on"]);
    // keepalived goes: vipd in maintenance does not take the VIP.
    p.step(
        "keepalived stops while vipd is in maintenance",
        Duration::ZERO,
    );
    p.stop(Side::Keepalived);
    std::thread::sleep(STEADY);
    assert!(!p.holds_any(Side::Vipd), "vipd took the VIP in maintenance");
    p.step(
        "maintenance off: nobody is master, vipd claims",
        Duration::ZERO,
    );
    vipctl(&p, &["maintenance", "off"]);
    p.wait_for(Side::Vipd, PATIENCE, "maintenance off");
    p.check_overlaps();
}
