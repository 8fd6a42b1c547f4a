//! From an election event to everything that consumes it: metrics and notify hooks run in
//! order with the transition in their environment (vip-node's `EventSink`, as vipd's nodes use
//! it), and status as `vipctl status` shows it (read from the runtime's `Status`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vip_core::election::{CheckStatus, Event, EventKind, Reason, State};
use vip_core::runtime::{Clock, Phase, Status, Transition};
use vip_core::{PeerId, Priority, Role, Timestamp};
use vip_examples::config;
use vip_examples::control::{self, DaemonInfo, StatusReport, table};
use vip_examples::daemon::Daemon;
use vip_examples::metrics::Metrics;
use vip_node::EventSink;

fn ev(kind: EventKind, reason: Reason) -> Event {
    Event {
        at: Timestamp::ZERO,
        kind,
        reason,
    }
}

fn transition(from: State, to: State, reason: Reason) -> Event {
    ev(EventKind::Transition { from, to }, reason)
}

/// Log lines written by a test subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What `sink.emit` logs for a transition, an alarm and a priority change at `level`.
fn logged_by_emit(sink: &EventSink, level: tracing::Level) -> String {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        sink.emit(&transition(
            State::Initialize,
            State::Backup,
            Reason::Started,
        ));
        sink.emit(&ev(
            EventKind::Alarm,
            Reason::AddressMismatch {
                peer: PeerId("198.51.100.2".parse().unwrap()),
            },
        ));
        sink.emit(&ev(
            EventKind::PriorityChanged {
                priority: Priority::new(104),
            },
            Reason::Started,
        ));
    });
    String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
}

#[tokio::test]
async fn the_sink_leaves_logging_events_to_the_runtime() {
    let cfg = config::parse(
        r#"
[[instance]]
name = "db"
interface = "vipex-none0"
vrid = 52
vips = ["198.51.100.11/32"]
"#,
    )
    .unwrap();
    let inst = cfg.instances[0].node.clone();
    let metrics = Arc::new(Metrics::new());
    metrics.add_instance("db", 100);
    let sink = EventSink::spawn(inst, metrics.clone());
    // The runtime logs these in the instance's span; the sink adds nothing at info and above.
    let info = logged_by_emit(&sink, tracing::Level::INFO);
    assert_eq!(info, "");
    let debug = logged_by_emit(&sink, tracing::Level::DEBUG);
    assert_eq!(debug.lines().count(), 3, "{debug}");
    assert!(debug.contains("instance=db"), "{debug}");
    // The sink still did its job.
    assert!(
        metrics
            .render()
            .contains("vip_instance_state{vrrp_instance=\"db\",state=\"backup\"} 1")
    );
}

#[tokio::test]
async fn events_reach_metrics_and_hooks() {
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
vips = ["198.51.100.10/32"]
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
    let sink = EventSink::spawn(cfg.instances[0].node.clone(), daemon.metrics.clone());

    let peer = PeerId("198.51.100.2".parse().unwrap());
    sink.emit(&transition(
        State::Initialize,
        State::Backup,
        Reason::Started,
    ));
    sink.emit(&transition(
        State::Backup,
        State::Claiming,
        Reason::MasterDown,
    ));
    sink.emit(&ev(EventKind::Alarm, Reason::AddressMismatch { peer }));
    sink.emit(&ev(
        EventKind::PriorityChanged {
            priority: Priority::new(104),
        },
        Reason::Started,
    ));
    sink.emit(&transition(State::Claiming, State::Master, Reason::VipFree));

    let m = daemon.metrics.render();
    for want in [
        "vip_instance_state{vrrp_instance=\"db\",state=\"master\"} 1",
        "vip_transitions_total{vrrp_instance=\"db\",from=\"backup\",to=\"claiming\"} 1",
        "vip_address_list_mismatch_total{vrrp_instance=\"db\",peer=\"198.51.100.2\"} 1",
        "vip_effective_priority{vrrp_instance=\"db\"} 104",
    ] {
        assert!(m.lines().any(|l| l == want), "missing {want}\n{m}");
    }

    // Hooks ran in order, for transitions only, the filtered one only on master.
    let want = "initialize>backup (started) 198.51.100.10/32\nbackup>claiming (master down timer expired) 198.51.100.10/32\nclaiming>master (in-use probe: VIP free) 198.51.100.10/32\nmaster-only\n";
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

#[tokio::test]
async fn status_shows_what_the_runtime_knows() {
    let cfg = config::parse(
        r#"
[[instance]]
name = "db"
interface = "vipex-none0"
vrid = 51
priority = 100
vips = ["198.51.100.10/32"]
[[instance.check]]
name = "disk"
argv = ["/bin/true"]
weight = 4
[instance.role]
kind = "postgres"
conninfo = "host=x"
"#,
    )
    .unwrap();
    let clock = Clock::start();
    let alarm = ev(
        EventKind::Alarm,
        Reason::AddressMismatch {
            peer: PeerId("198.51.100.2".parse().unwrap()),
        },
    );
    let status = Status {
        name: "db".into(),
        vrid: 51,
        phase: Phase::Running,
        state: State::Master,
        effective_priority: Priority::new(104),
        master: Some(PeerId("198.51.100.1".parse().unwrap())),
        vips: cfg.instances[0].vips.clone(),
        holds_vips: true,
        maintenance: true,
        local: PeerId("198.51.100.1".parse().unwrap()),
        started_at: std::time::SystemTime::now() - Duration::from_secs(3725),
        role: Some(Role::Primary),
        role_rank: Some(Priority::new(120)),
        recorded_primary: None,
        check_names: vec!["disk".into()],
        checks: vec![Some(CheckStatus::Passing)],
        last_transition: Some(Transition {
            from: State::Claiming,
            to: State::Master,
            reason: Reason::VipFree,
            at: Timestamp::ZERO,
        }),
        last_alarm: Some(alarm),
        arbiter: None,
    };
    let row = control::instance_status(&cfg.instances[0], Some(&status), clock, None);
    assert_eq!(row.state, "master");
    assert_eq!(row.effective_priority, 104);
    assert!(row.holds_vips);
    assert!(row.maintenance);
    assert_eq!(row.address.as_deref(), Some("198.51.100.1"));
    assert_eq!(row.role.as_deref(), Some("primary"));
    assert_eq!(row.role_rank, Some(120));
    assert_eq!(
        (row.checks[0].name.as_str(), row.checks[0].state.as_str()),
        ("disk", "passing")
    );
    let last = row.last_transition.as_ref().unwrap();
    assert_eq!(
        (last.from.as_str(), last.to.as_str()),
        ("claiming", "master")
    );
    assert_eq!(last.reason, "in-use probe: VIP free");
    assert!(last.at_unix_ms > 1_600_000_000_000);
    assert!(
        row.last_alarm
            .as_ref()
            .unwrap()
            .reason
            .contains("198.51.100.2")
    );
    assert!(row.uptime_secs.unwrap() >= 3725);

    let report = StatusReport {
        daemon: DaemonInfo {
            pid: 1,
            version: "test".into(),
            config: "/etc/vipd.toml".into(),
            started_unix_ms: 0,
        },
        instances: vec![row],
    };
    let t = table::render(&report);
    for want in [
        "HOLDS",
        "ADDRESS",
        "master (maintenance)",
        "yes",
        "104 (100)",
        "primary (rank 120)",
        "disk=passing",
        "1h2m",
        "claiming -> master: in-use probe: VIP free",
        "last alarm: ",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
    let json = serde_json::to_value(&report).unwrap();
    let db = &json["instances"][0];
    assert_eq!(db["holds_vips"], true);
    assert_eq!(db["role"], "primary");
    assert_eq!(db["role_rank"], 120);
    assert_eq!(db["checks"][0]["state"], "passing");
    assert!(db["last_alarm"]["reason"].is_string());
    assert!(db["uptime_secs"].as_u64().unwrap() >= 3725);
}
