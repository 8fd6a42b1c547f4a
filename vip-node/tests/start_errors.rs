//! What `Node::start` and `Node::spawn` refuse, as typed errors (no root needed: nothing is
//! opened).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use vip_core::Interval;
use vip_core::election::Version;
use vip_node::{Node, NodeConfig, NodeError};
use vip_vrrp::socket::TransportError;

fn config() -> NodeConfig {
    NodeConfig::new(
        "db",
        "vipnode-none0",
        51,
        vec!["198.51.100.10/24".parse().unwrap()],
    )
}

#[tokio::test]
async fn a_config_that_breaks_a_protocol_rule_is_a_config_error() {
    let v2_fast = config()
        .version(Version::V2)
        .advert_interval(Interval::from_centis(10));
    match Node::new(v2_fast.clone()).start().await {
        Err(NodeError::Config(e)) => assert_eq!(e.key, "advert_interval", "{e}"),
        other => panic!("{other:?}"),
    }
    let e = Node::new(v2_fast).spawn().unwrap_err();
    assert!(!e.is_retryable(), "{e}");
}

#[tokio::test]
async fn a_missing_interface_fails_start_and_is_retried_by_spawn() {
    match Node::new(config()).start().await {
        Err(e @ NodeError::Transport(TransportError::InterfaceNotFound { .. })) => {
            assert!(e.is_retryable());
            assert!(e.to_string().contains("vipnode-none0"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let node = Node::new(config()).spawn().unwrap();
    assert!(!node.wait_running(Duration::from_millis(300)).await);
    assert!(node.last_error().unwrap().contains("vipnode-none0"));
    assert!(node.status().is_none() && !node.reprobe());
    node.stop(None).await;
}
