//! The notify hooks' queue, as the README states it: transitions wait in order, at most 64 per
//! instance; one beyond that runs no hooks, and is counted in vip_notify_hook_failures_total.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use vip_core::Timestamp;
use vip_core::election::{Event, EventKind, Reason, State};
use vip_examples::config;
use vip_examples::metrics::Metrics;
use vip_node::EventSink;

#[tokio::test(flavor = "current_thread")]
async fn transitions_beyond_64_queued_are_counted_as_hook_failures() {
    let cfg = config::parse(
        r#"
[[instance]]
name = "db"
interface = "vipex-none0"
vrid = 52
vips = ["198.51.100.11/32"]
[[instance.notify]]
argv = ["true"]
"#,
    )
    .unwrap();
    let node = cfg.instances[0].node.clone();
    let metrics = Arc::new(Metrics::new());
    metrics.add_instance("db", 100);
    let sink = EventSink::spawn(node, metrics.clone());
    // 70 transitions in one burst: the worker cannot take one before the test awaits, so 64
    // wait in the queue and 6 are refused.
    for i in 0..70 {
        let (from, to) = if i % 2 == 0 {
            (State::Backup, State::Master)
        } else {
            (State::Master, State::Backup)
        };
        sink.emit(&Event {
            at: Timestamp::ZERO,
            kind: EventKind::Transition { from, to },
            reason: Reason::Started,
        });
    }
    let text = metrics.render();
    assert!(
        text.contains("vip_notify_hook_failures_total{vrrp_instance=\"db\"} 6"),
        "{text}"
    );
}
