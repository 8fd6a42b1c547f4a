//! From config to a running vip-core runtime instance, through the node vipd runs
//! (`InstanceConfig::to_node`, then `Node::spec` with stand-in backends): the spec carries the
//! command fencer, the command checks with their weights and schedules, refuses to run a
//! role-gated instance without its probe, and meters its backends. vipd's `status` reads the
//! instance from the runtime's registry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use vip_core::election::{FencePolicy, State, StopMode};
use vip_core::lab::NoAddresses;
use vip_core::runtime::{AdvertSink, InstanceSpec, Runtime};
use vip_core::{Error, Priority, Role, RoleProbe, RoleReport};
use vip_examples::config;
use vip_examples::daemon::Daemon;
use vip_examples::metrics::Metrics;

struct Sink;
#[async_trait]
impl AdvertSink for Sink {
    async fn send_advert(&self, _: Priority) -> Result<(), Error> {
        Ok(())
    }
}
struct Standby;
#[async_trait]
impl RoleProbe for Standby {
    async fn probe(&self, _: Duration) -> RoleReport {
        RoleReport::from_role(Role::Standby)
    }
    fn name(&self) -> &str {
        "standby"
    }
}

/// The spec vipd's node runs for `i`, with stand-ins for the transport and the address manager.
fn spec(
    i: &config::InstanceConfig,
    role: Option<Arc<dyn RoleProbe>>,
    metrics: &Arc<Metrics>,
) -> Result<InstanceSpec, Error> {
    let node = i.to_node(role, metrics.clone())?;
    Ok(node.spec(
        "198.51.100.1".parse().unwrap(),
        Arc::new(NoAddresses),
        Arc::new(Sink),
    ))
}

const TEXT: &str = r#"
[[instance]]
name = "db"
# An interface that does not exist: Daemon::start_all starts real instances (the wiring),
# which must never touch the host's own interfaces. They retry quietly in the background.
interface = "vipex-none0"
vrid = 51
advert_interval = "100ms"
vips = ["198.51.100.10/32"]
[[instance.check]]
name = "ok"
argv = ["/bin/true"]
interval = "100ms"
weight = 5
[[instance.check]]
name = "broken"
argv = ["/bin/false"]
interval = "100ms"
weight = 0
[instance.fencer]
argv = ["/bin/true", "{peer}"]
policy = "always"
[[instance.notify]]
argv = ["/bin/true"]
"#;

#[test]
fn spec_carries_fencer_checks_and_role() {
    let metrics = Arc::new(Metrics::new());
    let c = config::parse(TEXT).unwrap();
    let i = &c.instances[0];
    let s = spec(i, None, &metrics).unwrap();
    let e = s.config();
    assert!(e.fencing);
    assert_eq!(e.fence_policy, FencePolicy::Always);
    assert!(!e.role_gated);
    assert_eq!(
        e.checks.iter().map(|c| c.weight).collect::<Vec<_>>(),
        [5, 0]
    );
    assert_eq!(e.advert_interval.as_centis(), 10);

    let with_role = format!("{TEXT}[instance.role]\nkind = \"postgres\"\nconninfo = \"host=x\"\n");
    let c = config::parse(&with_role).unwrap();
    let i = &c.instances[0];
    let err = spec(i, None, &metrics).err().unwrap();
    assert!(err.to_string().contains("instance[db].role"), "{err}");
    let s = spec(i, Some(Arc::new(Standby)), &metrics).unwrap();
    assert!(s.config().role_gated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_weight_zero_check_faults_the_running_instance() {
    let c = config::parse(TEXT).unwrap();
    let i = &c.instances[0];
    // The daemon's own instance waits for its interface; the same instance with stand-in
    // backends runs on the daemon's runtime, whose registry `status` reads.
    let daemon = Daemon::new(std::path::Path::new("/nonexistent"), &c);
    daemon.start_all(&c).await;
    let metrics = daemon.metrics.clone();
    let spec = spec(i, None, &metrics).unwrap();
    let handle = daemon.runtime().spawn(spec).unwrap();
    let start = Instant::now();
    loop {
        let st = handle.status();
        if st.state == State::Fault {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never faulted: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The failing check ran through the metered wrapper vipd's instances use.
    let text = metrics.render();
    assert!(
        text.contains(r#"vip_probe_duration_seconds_count{vrrp_instance="db",probe="broken"}"#),
        "{text}"
    );
    // `status` shows it from the runtime's registry, with each check's state.
    let row = daemon.statuses().await.remove(0);
    assert_eq!(
        (row.phase.as_str(), row.state.as_str()),
        ("running", "fault")
    );
    assert_eq!(row.master, None);
    assert!(!row.holds_vips);
    let checks: Vec<(&str, &str)> = row
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.state.as_str()))
        .collect();
    assert_eq!(checks, [("ok", "passing"), ("broken", "failing")]);
    assert!(row.uptime_secs.is_some() && row.started_unix_ms.is_some());
    let last = handle.stop(StopMode::Release).await;
    assert!(!last.holds_vips);
    daemon.stop_all().await;
}

/// A standby whose every probe takes `delay`; records when each probe started, the timeout it
/// was given and how many ran at once.
struct SlowStandby {
    delay: Duration,
    starts: Mutex<Vec<(tokio::time::Instant, Duration)>>,
    running: AtomicUsize,
    most_at_once: AtomicUsize,
}
#[async_trait]
impl RoleProbe for SlowStandby {
    async fn probe(&self, timeout: Duration) -> RoleReport {
        self.starts
            .lock()
            .unwrap()
            .push((tokio::time::Instant::now(), timeout));
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.most_at_once.fetch_max(now, SeqCst);
        tokio::time::sleep(self.delay).await;
        self.running.fetch_sub(1, SeqCst);
        RoleReport::from_role(Role::Standby)
    }
    fn name(&self) -> &str {
        "slow standby"
    }
}

#[tokio::test(start_paused = true)]
async fn a_role_timeout_longer_than_the_interval_delays_the_next_probe() {
    // What repmgr/Patroni users set: probe every second, allow two.
    let text = r#"
[[instance]]
name = "db"
interface = "vipex-none0"
vrid = 52
vips = ["198.51.100.11/32"]
[instance.role]
kind = "postgres"
conninfo = "host=x"
interval = "1s"
timeout = "2s"
"#;
    let c = config::parse(text).unwrap();
    let probe = Arc::new(SlowStandby {
        delay: Duration::from_millis(1500),
        starts: Mutex::new(Vec::new()),
        running: 0.into(),
        most_at_once: 0.into(),
    });
    let spec = spec(
        &c.instances[0],
        Some(probe.clone()),
        &Arc::new(Metrics::new()),
    )
    .unwrap();
    let runtime = Runtime::new();
    let handle = runtime.spawn(spec).unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let status = handle.status();
    handle.stop(StopMode::Release).await;

    // Each 1.5 s answer came within the 2 s bound: the role is known, not Unknown.
    assert_eq!(status.role, Some(Role::Standby));
    assert_eq!(status.state, State::Backup);
    let starts = probe.starts.lock().unwrap().clone();
    assert!(starts.len() >= 5, "{starts:?}");
    assert!(starts.iter().all(|(_, t)| *t == Duration::from_secs(2)));
    // Never two probes at once; each starts when the previous one answered.
    assert_eq!(probe.most_at_once.load(SeqCst), 1);
    for w in starts.windows(2) {
        let gap = w[1].0 - w[0].0;
        assert!(
            gap >= Duration::from_millis(1500) && gap < Duration::from_millis(1600),
            "{gap:?}"
        );
    }
}
