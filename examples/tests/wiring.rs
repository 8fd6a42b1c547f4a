//! From vipd's config to vip-node (config -> node config -> transport, manager, timeouts, role
//! probe) and the supervisor's behaviour when an instance cannot start (no root needed: the
//! interface does not exist, so nothing is opened).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use vip_core::election::StopMode;
use vip_core::runtime::Runtime;
use vip_examples::config;
use vip_examples::control;
use vip_examples::metrics::Metrics;
use vip_node::{ConfigError, NodeError, timeouts};
use vip_vrrp::socket::{Mode, TransportError};
use vip_vrrp::wire::{Auth, ChecksumMode};

fn one(text: &str) -> config::InstanceConfig {
    config::parse(text).unwrap().instances.remove(0)
}

#[test]
fn transport_config_follows_the_instance() {
    let v2 = one(r#"[[instance]]
name = "a"
interface = "vipex-none0"
vrid = 7
version = 2
advert_interval = "2s"
vips = ["198.51.100.100/32"]
unicast_peers = ["198.51.100.2"]
source = "198.51.100.1"
auth = { type = "pass", password = "secret" }
"#);
    let t = v2.transport_config();
    assert_eq!((t.vrid, t.interface.as_str()), (7, "vipex-none0"));
    assert_eq!(t.advert_interval.as_centis(), 200);
    assert_eq!(t.auth, Auth::simple(b"secret").unwrap());
    assert_eq!(
        t.mode,
        Mode::Unicast {
            peers: vec!["198.51.100.2".parse().unwrap()]
        }
    );
    assert_eq!(t.source, Some("198.51.100.1".parse().unwrap()));
    assert!(t.validate().is_ok());

    let v3 = one(r#"[[instance]]
name = "b"
interface = "vipex-none0"
vrid = 8
advert_interval = "10cs"
v3_ipv4_checksum = "rfc"
vips = ["198.51.100.101/32"]
[instance.garp]
repeat = 3
"#);
    let t = v3.transport_config();
    assert_eq!(t.mode, Mode::Multicast);
    assert_eq!(t.checksum, ChecksumMode::MessageOnly);
    assert_eq!(t.auth, Auth::None);
    assert_eq!(v3.manager_config().announce.repeat, 3);
    // 10 cs adverts: an address operation or advert never holds the lane for a whole
    // Master_Down_Interval.
    let to = timeouts(v3.advert_interval, None);
    assert_eq!(to.address, Duration::from_millis(200));
    assert_eq!(to.advert, Duration::from_millis(100));
    assert!(to.address < Duration::from_millis(300));
}

#[test]
fn role_probes_are_built_from_the_role_section() {
    let base = r#"[[instance]]
name = "db"
interface = "vipex-none0"
vrid = 9
vips = ["198.51.100.102/32"]
"#;
    assert!(one(base).role.is_none());
    let pg = one(&format!(
        "{base}[instance.role]\nkind = \"postgres\"\nconninfo = \"host=/run/postgresql dbname=postgres\"\ninterval = \"500ms\"\ntimeout = \"400ms\"\n"
    ));
    let role = pg.role.as_ref().unwrap();
    let (probe, schedule) = (role.build_probe().unwrap(), role.schedule());
    assert_eq!(probe.name(), "postgres");
    assert_eq!(
        (schedule.interval, schedule.timeout),
        (Duration::from_millis(500), Duration::from_millis(400))
    );
    let rm = one(&format!(
        "{base}[instance.role]\nkind = \"repmgr\"\nconninfo = \"host=/run/postgresql dbname=repmgr\"\nnode_name = \"node1\"\n"
    ));
    let probe = rm.role.as_ref().unwrap().build_probe().unwrap();
    assert_eq!(probe.name(), "repmgr");
}

#[test]
fn start_errors_say_whether_a_retry_can_help() {
    let missing = NodeError::Transport(TransportError::InterfaceNotFound {
        interface: "vipex-none0".into(),
    });
    assert!(missing.is_retryable());
    assert!(missing.to_string().contains("vipex-none0"));
    let bad = NodeError::Config(ConfigError {
        key: "advert_interval".into(),
        problem: "out of range".into(),
    });
    assert!(!bad.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_interface_is_missing_retries_and_stops_cleanly() {
    let c = config::parse(
        r#"[[instance]]
name = "later"
interface = "vipex-none0"
vrid = 10
vips = ["198.51.100.103/32"]
"#,
    )
    .unwrap();
    let inst = &c.instances[0];
    let runtime = Arc::new(Runtime::new());
    let node = inst
        .to_node(None, Arc::new(Metrics::new()))
        .unwrap()
        .runtime(runtime.clone())
        .spawn()
        .unwrap();
    // Two retry periods: still waiting for the interface, nothing spawned, nothing panicked.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(runtime.handles().is_empty());
    let row = control::instance_status(
        inst,
        node.status().as_ref(),
        runtime.clock(),
        node.last_error(),
    );
    assert_eq!(
        (row.phase.as_str(), row.state.as_str()),
        ("waiting", "initialize")
    );
    assert!(row.last_error.unwrap().contains("vipex-none0"));
    // Stopping a waiting instance returns at once.
    tokio::time::timeout(Duration::from_secs(2), node.stop(Some(StopMode::Release)))
        .await
        .expect("stop returns promptly");
}
