//! The Prometheus endpoint: scraped over real TCP, checked line by line against the text format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod status_support;

use std::sync::Arc;
use std::time::Duration;

use status_support::{report, row};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vip_core::election::{Event, EventKind, Reason, State};
use vip_core::{FenceOutcome, PeerId, Priority, Timestamp};
use vip_examples::control::{
    CheckState, ControlHandler, InstanceStatus, ReloadReport, StatusReport, SwitchoverReport,
};
use vip_examples::metrics::{self, Metrics};
use vip_vrrp::socket::{DropReason, TransportStats};
use vip_vrrp::wire::WireError;

async fn http(addr: std::net::SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

/// A daemon whose `status` is fixed rows (for the wiring of the HTTP endpoints; the rows of a
/// real daemon are checked in daemon.rs and the lab tests).
struct Fixed(StatusReport);

#[async_trait::async_trait]
impl ControlHandler for Fixed {
    async fn status(&self) -> StatusReport {
        self.0.clone()
    }
    async fn reprobe(&self, _: Option<String>) -> Result<Vec<String>, String> {
        Err("fixed".into())
    }
    async fn reload(&self) -> Result<ReloadReport, String> {
        Err("fixed".into())
    }
    async fn maintenance(&self, _: bool, _: Option<String>) -> Result<Vec<String>, String> {
        Err("fixed".into())
    }
    async fn switchover(
        &self,
        _: Option<String>,
        _: Option<String>,
    ) -> Result<SwitchoverReport, String> {
        Err("fixed".into())
    }
}

fn fixed(instances: Vec<InstanceStatus>) -> Arc<dyn ControlHandler> {
    Arc::new(Fixed(report(instances)))
}

/// The status code of `method path`, and the body.
async fn call(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, String) {
    let resp = http(addr, &format!("{method} {path} HTTP/1.0\r\n\r\n")).await;
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, body.to_owned())
}

#[tokio::test]
async fn health_endpoints_follow_patronis_semantics() {
    let mut web = row("web", "backup", false);
    web.role = Some("standby".into());
    let listener = metrics::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(metrics::serve(
        listener,
        Arc::new(Metrics::new()),
        fixed(vec![row("db", "master", true), web]),
    ));
    let code =
        |method: &'static str, path: &'static str| async move { call(addr, method, path).await.0 };
    // Per instance.
    assert_eq!(code("GET", "/primary/db").await, 200);
    assert_eq!(code("GET", "/primary/web").await, 503);
    assert_eq!(code("GET", "/replica/web").await, 200);
    assert_eq!(code("GET", "/replica/db").await, 503);
    assert_eq!(code("GET", "/health/web").await, 200);
    // The bare path: every instance.
    assert_eq!(code("GET", "/primary").await, 503);
    assert_eq!(code("GET", "/replica").await, 503);
    assert_eq!(code("GET", "/health").await, 200);
    // HAProxy's default check method, and HEAD.
    assert_eq!(code("OPTIONS", "/primary/db").await, 200);
    assert_eq!(code("HEAD", "/replica/db").await, 503);
    // Unknown instance, unknown path, wrong method.
    assert_eq!(code("GET", "/primary/nope").await, 404);
    assert_eq!(code("GET", "/leader").await, 404);
    assert_eq!(code("POST", "/primary").await, 405);
    assert_eq!(code("OPTIONS", "/metrics").await, 405);
    // The bodies: the rows judged, and the status object.
    let (_, body) = call(addr, "GET", "/primary/db").await;
    let rows: Vec<InstanceStatus> = serde_json::from_str(&body).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "db");
    let (c, body) = call(addr, "GET", "/status").await;
    assert_eq!(c, 200);
    let report: StatusReport = serde_json::from_str(&body).unwrap();
    assert_eq!(report.instances.len(), 2);
    let (_, body) = call(addr, "GET", "/status/web").await;
    let one: InstanceStatus = serde_json::from_str(&body).unwrap();
    assert_eq!(one.role.as_deref(), Some("standby"));
    server.abort();
}

#[tokio::test]
async fn health_is_503_with_an_instance_in_fault_or_not_started() {
    let mut waiting = row("web", "initialize", false);
    (waiting.phase, waiting.last_error) = ("waiting".into(), Some("no such interface".into()));
    for (rows, primary_db) in [
        (
            vec![row("db", "master", true), row("web", "fault", false)],
            200,
        ),
        (vec![row("db", "master", true), waiting], 200),
    ] {
        let listener = metrics::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(metrics::serve(
            listener,
            Arc::new(Metrics::new()),
            fixed(rows),
        ));
        assert_eq!(call(addr, "GET", "/health").await.0, 503);
        assert_eq!(call(addr, "GET", "/health/db").await.0, 200);
        assert_eq!(call(addr, "GET", "/health/web").await.0, 503);
        assert_eq!(call(addr, "GET", "/primary/db").await.0, primary_db);
        server.abort();
    }
}

#[tokio::test]
async fn metrics_carry_the_gauges_read_from_status() {
    let mut db = row("db", "master", true);
    db.checks.push(CheckState {
        name: "disk".into(),
        state: "failing".into(),
    });
    let mut web = row("web", "backup", false);
    (web.maintenance, web.role) = (true, Some("unknown (timeout)".into()));
    let listener = metrics::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(metrics::serve(
        listener,
        Arc::new(Metrics::new()),
        fixed(vec![db, web]),
    ));
    let (code, body) = call(addr, "GET", "/metrics").await;
    assert_eq!(code, 200);
    for want in [
        "vip_holds_vips{vrrp_instance=\"db\"} 1",
        "vip_holds_vips{vrrp_instance=\"web\"} 0",
        "vip_maintenance{vrrp_instance=\"db\"} 0",
        "vip_maintenance{vrrp_instance=\"web\"} 1",
        "vip_role{vrrp_instance=\"db\",role=\"primary\"} 1",
        "vip_role{vrrp_instance=\"db\",role=\"standby\"} 0",
        "vip_role{vrrp_instance=\"web\",role=\"unknown\"} 1",
        "vip_check_state{vrrp_instance=\"db\",check=\"port\",state=\"passing\"} 1",
        "vip_check_state{vrrp_instance=\"db\",check=\"disk\",state=\"failing\"} 1",
        "vip_check_state{vrrp_instance=\"db\",check=\"disk\",state=\"passing\"} 0",
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want}:\n{body}");
    }
    server.abort();
}

fn transition(from: State, to: State, reason: Reason) -> Event {
    Event {
        at: Timestamp::ZERO,
        kind: EventKind::Transition { from, to },
        reason,
    }
}

/// A registry with one of everything, and the live transport counters of instance "db".
fn filled() -> (Arc<Metrics>, Arc<TransportStats>) {
    let m = Arc::new(Metrics::new());
    m.add_instance("db", 100);
    m.add_instance("web\"x", 50);
    m.observe_event(
        "db",
        &transition(State::Initialize, State::Backup, Reason::Started),
    );
    m.observe_event(
        "db",
        &transition(State::Backup, State::Claiming, Reason::MasterDown),
    );
    m.observe_event(
        "db",
        &transition(State::Claiming, State::Master, Reason::VipFree),
    );
    let peer = PeerId("198.51.100.2".parse().unwrap());
    m.observe_event(
        "db",
        &Event {
            at: Timestamp::ZERO,
            kind: EventKind::Alarm,
            reason: Reason::AddressMismatch { peer },
        },
    );
    m.observe_event(
        "db",
        &Event {
            at: Timestamp::ZERO,
            kind: EventKind::PriorityChanged {
                priority: Priority::new(104),
            },
            reason: Reason::Started,
        },
    );
    let stats = Arc::new(TransportStats::default());
    for _ in 0..3 {
        stats.count_sent();
    }
    stats.count_accepted();
    stats.count_drop(DropReason::Wire(WireError::BadChecksum));
    stats.count_drop(DropReason::Wire(WireError::BadChecksum));
    stats.count_drop(DropReason::Wire(WireError::BadTtl));
    m.attach_transport("db", "eth0", stats.clone());
    m.observe_probe("db", "role", Duration::from_millis(3));
    m.observe_probe("db", "role", Duration::from_millis(40));
    m.observe_probe("db", "role", Duration::from_secs(20));
    m.fence_outcome("db", &FenceOutcome::Fenced);
    m.fence_outcome("db", &FenceOutcome::Failed { reason: "x".into() });
    (m, stats)
}

/// Every sample line is `name{labels} value` with a declared TYPE before it.
fn check_format(body: &str) {
    let mut typed: Vec<String> = Vec::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut p = rest.split(' ');
            let name = p.next().unwrap();
            let kind = p.next().unwrap();
            assert!(["gauge", "counter", "histogram"].contains(&kind), "{line}");
            typed.push(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        assert!(value.parse::<f64>().is_ok(), "bad value in {line:?}");
        let name = series.split('{').next().unwrap();
        assert!(
            name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{line}"
        );
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
        assert!(
            typed.iter().any(|t| t == name || t == base),
            "no TYPE for {line:?}"
        );
        if let Some(labels) = series.strip_prefix(name)
            && !labels.is_empty()
        {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
        }
    }
}

#[tokio::test]
async fn scrape_returns_every_metric_in_text_format() {
    let (m, stats) = filled();
    let listener = metrics::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(metrics::serve(listener, m.clone(), fixed(vec![])));

    let resp = http(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("Content-Type: text/plain; version=0.0.4"));
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(len, body.len());
    check_format(body);
    for want in [
        "vip_instance_state{vrrp_instance=\"db\",state=\"master\"} 1",
        "vip_instance_state{vrrp_instance=\"db\",state=\"backup\"} 0",
        "vip_instance_state{vrrp_instance=\"web\\\"x\",state=\"initialize\"} 1",
        "vip_effective_priority{vrrp_instance=\"db\"} 104",
        "vip_transitions_total{vrrp_instance=\"db\",from=\"backup\",to=\"claiming\"} 1",
        "vip_transitions_total{vrrp_instance=\"db\",from=\"claiming\",to=\"master\"} 1",
        "vip_adverts_sent_total{vrrp_instance=\"db\"} 3",
        "vip_adverts_received_total{vrrp_instance=\"db\"} 1",
        "vip_adverts_dropped_total{interface=\"eth0\",reason=\"bad_checksum\"} 2",
        "vip_adverts_dropped_total{interface=\"eth0\",reason=\"bad_ttl\"} 1",
        "vip_address_list_mismatch_total{vrrp_instance=\"db\",peer=\"198.51.100.2\"} 1",
        "vip_alarms_total{vrrp_instance=\"db\"} 1",
        "vip_fence_total{vrrp_instance=\"db\",outcome=\"fenced\"} 1",
        "vip_fence_total{vrrp_instance=\"db\",outcome=\"failed\"} 1",
        "vip_probe_duration_seconds_bucket{vrrp_instance=\"db\",probe=\"role\",le=\"0.005\"} 1",
        "vip_probe_duration_seconds_bucket{vrrp_instance=\"db\",probe=\"role\",le=\"0.05\"} 2",
        "vip_probe_duration_seconds_bucket{vrrp_instance=\"db\",probe=\"role\",le=\"10\"} 2",
        "vip_probe_duration_seconds_bucket{vrrp_instance=\"db\",probe=\"role\",le=\"+Inf\"} 3",
        "vip_probe_duration_seconds_count{vrrp_instance=\"db\",probe=\"role\"} 3",
    ] {
        assert!(
            body.lines().any(|l| l == want),
            "missing {want:?} in:\n{body}"
        );
    }

    // Live: the next scrape reads the transport's counters again.
    stats.count_sent();
    let body2 = http(addr, "GET /metrics HTTP/1.0\r\n\r\n").await;
    assert!(body2.contains("vip_adverts_sent_total{vrrp_instance=\"db\"} 4"));

    // Removed instances disappear.
    m.remove_instance("web\"x");
    let body3 = http(addr, "GET /metrics HTTP/1.1\r\n\r\n").await;
    assert!(!body3.contains("web"));

    let nf = http(addr, "GET / HTTP/1.1\r\n\r\n").await;
    assert!(nf.starts_with("HTTP/1.1 404"), "{nf}");
    let na = http(addr, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await;
    assert!(
        na.starts_with("HTTP/1.1 405") && na.contains("Allow: GET"),
        "{na}"
    );
    let head = http(addr, "HEAD /metrics HTTP/1.1\r\n\r\n").await;
    assert!(
        head.starts_with("HTTP/1.1 200") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    server.abort();
}

#[tokio::test]
async fn garbage_and_slow_clients_do_not_stop_the_server() {
    let listener = metrics::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(metrics::serve(
        listener,
        Arc::new(Metrics::new()),
        fixed(vec![]),
    ));
    // An idle connection and an oversized head.
    let _idle = TcpStream::connect(addr).await.unwrap();
    let mut big = TcpStream::connect(addr).await.unwrap();
    let _ = big.write_all(&vec![b'a'; 20_000]).await;
    let ok = http(addr, "GET /metrics HTTP/1.1\r\n\r\n").await;
    assert!(ok.starts_with("HTTP/1.1 200"));
    server.abort();
}

#[test]
fn advert_counters_stay_monotonic_across_transport_restarts() {
    let m = Metrics::new();
    m.add_instance("db", 100);
    let sent = |m: &Metrics| {
        let body = m.render();
        check_format(&body);
        body.lines()
            .find_map(|l| l.strip_prefix("vip_adverts_sent_total{vrrp_instance=\"db\"} "))
            .map(|v| v.parse::<u64>().unwrap())
            .unwrap()
    };
    let drops = |m: &Metrics| {
        m.render()
            .lines()
            .find_map(|l| {
                l.strip_prefix(
                    "vip_adverts_dropped_total{interface=\"eth0\",reason=\"queue_full\"} ",
                )
            })
            .map(|v| v.parse::<u64>().unwrap())
    };
    assert_eq!(sent(&m), 0);

    let first = Arc::new(TransportStats::default());
    m.attach_transport("db", "eth0", first.clone());
    for _ in 0..5 {
        first.count_sent();
    }
    first.count_drop(DropReason::QueueFull);
    assert_eq!(sent(&m), 5);
    assert_eq!(drops(&m), Some(1));

    // The transport ends: its counts stay; later increments of the dead one are not read.
    m.detach_transport("db");
    first.count_sent();
    assert_eq!(sent(&m), 5);

    // A restarted transport counts from zero; the exposed counter continues from 5.
    let second = Arc::new(TransportStats::default());
    m.attach_transport("db", "eth0", second.clone());
    assert_eq!(sent(&m), 5);
    second.count_sent();
    second.count_drop(DropReason::QueueFull);
    assert_eq!(sent(&m), 6);
    assert_eq!(drops(&m), Some(2));

    // Attaching over a live transport folds the old one in first.
    let third = Arc::new(TransportStats::default());
    m.attach_transport("db", "eth0", third.clone());
    third.count_sent();
    assert_eq!(sent(&m), 7);

    // A removed instance stops being read.
    m.remove_instance("db");
    assert!(!m.render().contains("vrrp_instance=\"db\""));
}
