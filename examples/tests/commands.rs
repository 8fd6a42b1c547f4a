//! Notify hooks, tracked checks and the command fencer: real processes, no shell unless the
//! test's own argv asks for one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use vip_core::election::State;
use vip_core::lab::wait_until;
use vip_core::{FenceOutcome, FenceRequest, Fencer, PeerId, Vip};
use vip_examples::commands::check::run_check;
use vip_examples::commands::fence::CommandFencer;
use vip_examples::commands::notify::{NotifyRunner, Transition};
use vip_examples::commands::process::Ended;
use vip_examples::config::{CheckConfig, NotifyHook};

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vip-examples-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sh(script: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), script.into()]
}

fn transition() -> Transition {
    Transition {
        instance: "db".into(),
        interface: "eth0".into(),
        vrid: 51,
        from: State::Claiming,
        to: State::Master,
        reason: "holder fenced, VIP free".into(),
        vips: vec![
            Vip::host("192.0.2.10".parse().unwrap(), "eth0"),
            Vip::with_prefix("192.0.2.11".parse().unwrap(), 24, "eth0"),
        ],
    }
}

fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(s) => s.split_whitespace().nth(2) == Some("Z"),
    }
}

#[tokio::test]
async fn notify_hooks_get_the_transition_in_their_environment() {
    let dir = tmpdir("notify-env");
    let out = dir.join("env");
    let hook = NotifyHook {
        argv: vec!["/usr/bin/env".into()],
        timeout: Duration::from_secs(5),
        on: vec![],
    };
    // /usr/bin/env prints its environment; capture it through the report.
    let reports = NotifyRunner::new(vec![hook]).run(&transition()).await;
    assert_eq!(reports.len(), 1);
    assert!(reports[0].outcome.success());
    let env = &reports[0].outcome.stdout;
    std::fs::write(&out, env).unwrap();
    for line in [
        "VIP_STATE=master",
        "VIP_PREVIOUS_STATE=claiming",
        "VIP_REASON=holder fenced, VIP free",
        "VIP_INSTANCE=db",
        "VIP_INTERFACE=eth0",
        "VIP_VRID=51",
        "VIP_VIPS=192.0.2.10/32 192.0.2.11/24",
    ] {
        assert!(env.lines().any(|l| l == line), "missing {line} in:\n{env}");
    }
    assert!(!env.lines().any(|l| l.starts_with("NOTIFY_SOCKET=")));
}

#[tokio::test]
async fn notify_hooks_run_in_order_and_a_hung_one_is_killed() {
    let dir = tmpdir("notify-order");
    let log = dir.join("log");
    let pids = dir.join("pids");
    let l = log.display();
    let hooks = vec![
        NotifyHook {
            argv: sh(&format!("sleep 0.3; echo first >> {l}")),
            timeout: Duration::from_secs(5),
            on: vec![],
        },
        NotifyHook {
            // Hangs, with a grandchild: both must be killed at the timeout.
            argv: sh(&format!(
                "sleep 30 & echo $! > {}; echo hung-start >> {l}; wait; echo late >> {l}",
                pids.display()
            )),
            timeout: Duration::from_millis(300),
            on: vec![],
        },
        NotifyHook {
            argv: sh(&format!("echo third $VIP_STATE >> {l}")),
            timeout: Duration::from_secs(5),
            on: vec![],
        },
        NotifyHook {
            // Filtered out: only for backup.
            argv: sh(&format!("echo backup-only >> {l}")),
            timeout: Duration::from_secs(5),
            on: vec![State::Backup],
        },
    ];
    let start = Instant::now();
    let reports = NotifyRunner::new(hooks).run(&transition()).await;
    let elapsed = start.elapsed();
    assert_eq!(reports.len(), 3, "the backup-only hook must be skipped");
    assert!(reports[0].outcome.success());
    assert_eq!(reports[1].outcome.ended, Ended::TimedOut);
    assert!(reports[1].outcome.describe().contains("timed out"));
    assert!(reports[2].outcome.success());
    assert!(
        elapsed < Duration::from_secs(10),
        "hung hook was not killed: {elapsed:?}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text, "first\nhung-start\nthird master\n");
    let grandchild = std::fs::read_to_string(&pids).unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || gone(&grandchild)),
        "grandchild {grandchild} survived the timeout"
    );
    // Nothing is written after the kill.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), text);
}

#[tokio::test]
async fn notify_worker_keeps_transitions_in_order() {
    let dir = tmpdir("notify-worker");
    let log = dir.join("log");
    let hook = NotifyHook {
        argv: sh(&format!(
            "sleep 0.05; echo $VIP_PREVIOUS_STATE-$VIP_STATE >> {}",
            log.display()
        )),
        timeout: Duration::from_secs(5),
        on: vec![],
    };
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let worker = NotifyRunner::new(vec![hook]).spawn(rx);
    for (from, to) in [
        (State::Initialize, State::Backup),
        (State::Backup, State::Claiming),
        (State::Claiming, State::Master),
    ] {
        let mut t = transition();
        t.from = from;
        t.to = to;
        tx.send(t).await.unwrap();
    }
    drop(tx);
    worker.await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "initialize-backup\nbackup-claiming\nclaiming-master\n"
    );
}

#[tokio::test]
async fn missing_program_is_a_clear_failure() {
    let hook = NotifyHook {
        argv: vec!["/nonexistent/vip-hook".into()],
        timeout: Duration::from_secs(1),
        on: vec![],
    };
    let reports = NotifyRunner::new(vec![hook]).run(&transition()).await;
    let d = reports[0].outcome.describe();
    assert!(
        d.contains("could not start") && d.contains("/nonexistent/vip-hook"),
        "{d}"
    );
}

fn fence_request() -> FenceRequest {
    FenceRequest {
        peer: Some(PeerId("192.0.2.2".parse().unwrap())),
        holder_mac: Some([0x02, 0, 0x5e, 0, 0x01, 0x33]),
        token: None,
        vips: vec![
            Vip::host("192.0.2.10".parse().unwrap(), "eth0"),
            Vip::host("192.0.2.11".parse().unwrap(), "eth0"),
        ],
    }
}

#[tokio::test]
async fn fencer_substitutes_placeholders_per_argv_element() {
    let f = CommandFencer::new(
        vec![
            "/usr/bin/printf".into(),
            "%s|".into(),
            "{peer}".into(),
            "--vip={vip}".into(),
            "{vips}".into(),
            "{interface}".into(),
            "{holder_mac}".into(),
            "{instance}/{vrid}".into(),
            "{peer} two words".into(),
        ],
        Duration::from_secs(5),
        "db",
        "eth0",
        51,
    );
    let argv = f.command_for(&fence_request());
    assert_eq!(
        argv[2..],
        [
            "192.0.2.2",
            "--vip=192.0.2.10",
            "192.0.2.10/32,192.0.2.11/32",
            "eth0",
            "02:00:5e:00:01:33",
            "db/51",
            "192.0.2.2 two words",
        ]
    );
    // Unknown values become empty strings, never the literal placeholder.
    let bare = f.command_for(&FenceRequest {
        peer: None,
        holder_mac: None,
        token: None,
        vips: vec![],
    });
    assert_eq!(bare[2], "");
    assert_eq!(bare[6], "");
    assert_eq!(f.fence(&fence_request()).await, FenceOutcome::Fenced);
}

#[tokio::test]
async fn fencer_exit_status_and_timeout() {
    let ok = CommandFencer::new(
        sh("test \"$VIP_FENCE_PEER\" = 192.0.2.2"),
        Duration::from_secs(5),
        "db",
        "eth0",
        51,
    );
    assert_eq!(ok.fence(&fence_request()).await, FenceOutcome::Fenced);

    let fail = CommandFencer::new(
        sh("echo no route to host >&2; exit 3"),
        Duration::from_secs(5),
        "db",
        "eth0",
        51,
    );
    match fail.fence(&fence_request()).await {
        FenceOutcome::Failed { reason } => {
            assert!(
                reason.contains("exit status 3") && reason.contains("no route to host"),
                "{reason}"
            )
        }
        o => panic!("expected failure, got {o:?}"),
    }

    let slow = CommandFencer::new(sh("sleep 30"), Duration::from_millis(200), "db", "eth0", 51);
    let start = Instant::now();
    match slow.fence(&fence_request()).await {
        FenceOutcome::Failed { reason } => assert!(reason.contains("timed out"), "{reason}"),
        o => panic!("expected timeout failure, got {o:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(10));
}

fn check(argv: Vec<String>, timeout: Duration) -> CheckConfig {
    CheckConfig {
        name: "t".into(),
        argv,
        interval: Duration::from_secs(1),
        timeout,
        weight: 0,
        rise: 1,
        fall: 1,
    }
}

#[tokio::test]
async fn check_passes_fails_and_times_out() {
    assert!(
        run_check(&check(vec!["/bin/true".into()], Duration::from_secs(5)))
            .await
            .success()
    );
    assert!(
        !run_check(&check(vec!["/bin/false".into()], Duration::from_secs(5)))
            .await
            .success()
    );
    let o = run_check(&check(sh("sleep 30"), Duration::from_millis(200))).await;
    assert_eq!(o.ended, Ended::TimedOut);
}
