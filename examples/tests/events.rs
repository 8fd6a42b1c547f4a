//! From an election event to everything that consumes it: status (as `vipctl status` shows it),
//! metrics, and notify hooks run in order with the transition in their environment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use vip_core::election::{Event, EventKind, Reason, State};
use vip_core::{PeerId, Priority, Timestamp};
use vip_examples::config;
use vip_examples::control::{ControlHandler, table};
use vip_examples::daemon::Daemon;

fn ev(kind: EventKind, reason: Reason) -> Event {
    Event {
        at: Timestamp::ZERO,
        kind,
        reason,
    }
}

#[tokio::test]
async fn events_reach_status_metrics_and_hooks() {
    let dir = std::env::temp_dir().join(format!("vip-examples-events-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("hooks.log");
    let text = format!(
        r#"
[[instance]]
name = "db"
# An interface that does not exist: Daemon::start_all starts real instances (the wiring),
# which must never touch the host's own interfaces. They retry quietly in the background.
interface = "vipex-none0"
vrid = 51
priority = 100
vips = ["192.0.2.10/32"]
[[instance.notify]]
argv = ["/bin/sh", "-c", "echo \"$VIP_PREVIOUS_STATE>$VIP_STATE ($VIP_REASON) $VIP_VIPS\" >> {log}"]
[[instance.notify]]
argv = ["/bin/sh", "-c", "echo master-only >> {log}"]
on = ["master"]
"#,
        log = log.display()
    );
    let cfg = config::parse(&text).unwrap();
    let daemon = Daemon::new(Path::new("/nonexistent/vipd.toml"), &cfg);
    daemon.start_all(&cfg).await;
    let sink = daemon.events("db").await.unwrap();

    let peer = PeerId("192.0.2.2".parse().unwrap());
    sink.emit(&ev(
        EventKind::Transition {
            from: State::Initialize,
            to: State::Backup,
        },
        Reason::Started,
    ));
    sink.emit(&ev(
        EventKind::Transition {
            from: State::Backup,
            to: State::Claiming,
        },
        Reason::MasterDown,
    ));
    sink.emit(&ev(EventKind::Alarm, Reason::AddressMismatch { peer }));
    sink.emit(&ev(
        EventKind::PriorityChanged {
            priority: Priority::new(104),
        },
        Reason::Started,
    ));
    sink.emit(&ev(
        EventKind::Transition {
            from: State::Claiming,
            to: State::Master,
        },
        Reason::VipFree,
    ));

    let status = daemon.status().await;
    let db = &status.instances[0];
    assert_eq!(db.state, "master");
    assert_eq!(db.effective_priority, 104);
    let last = db.last_transition.as_ref().unwrap();
    assert_eq!(
        (last.from.as_str(), last.to.as_str()),
        ("claiming", "master")
    );
    assert_eq!(last.reason, "in-use probe: VIP free");
    assert!(last.at_unix_ms > 1_600_000_000_000);
    let t = table::render(&status);
    assert!(
        t.contains("master")
            && t.contains("104 (100)")
            && t.contains("claiming -> master: in-use probe: VIP free"),
        "{t}"
    );

    let m = daemon.metrics.render();
    for want in [
        "vip_instance_state{instance=\"db\",state=\"master\"} 1",
        "vip_transitions_total{instance=\"db\",from=\"backup\",to=\"claiming\"} 1",
        "vip_vip_mismatch_total{instance=\"db\",peer=\"192.0.2.2\"} 1",
        "vip_effective_priority{instance=\"db\"} 104",
    ] {
        assert!(m.lines().any(|l| l == want), "missing {want}\n{m}");
    }

    // Hooks ran in order, for transitions only, the filtered one only on master.
    let want = "initialize>backup (started) 192.0.2.10/32\nbackup>claiming (master down timer expired) 192.0.2.10/32\nclaiming>master (in-use probe: VIP free) 192.0.2.10/32\nmaster-only\n";
    let start = Instant::now();
    loop {
        let got = std::fs::read_to_string(&log).unwrap_or_default();
        if got == want {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "hooks wrote {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    daemon.stop_all().await;
    let _ = std::fs::remove_dir_all(&dir);
}
