//! The harness inside network namespaces (how issue 7's lab tests use it): a primary and a
//! standby in namespaces of their own on one segment (198.51.100.0/24), probed from a third.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vip_core::Role;
use vip_core::lab::Lab;
use vip_pg::harness::{Cluster, ClusterBuilder, NodeSpec};
use vip_pg::{NodeSelector, PostgresProbe, ProbeConfig, RepmgrProbe};

/// Generous: these probes must succeed, on a loaded machine too (a bound, not a figure).
const TIMEOUT: Duration = Duration::from_secs(10);

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))
}

#[test]
fn cluster_in_namespaces_probed_from_a_client_namespace() {
    if let Some(reason) = Cluster::skip_reason() {
        println!("skipped: {reason}");
        return;
    }
    let Some(mut lab) = Lab::new_or_skip("vippg-netns").unwrap() else {
        return;
    };
    let a = lab.namespace("a").unwrap();
    let b = lab.namespace("b").unwrap();
    let c = lab.namespace("c").unwrap();
    lab.segment(&[&a, &b, &c]).unwrap();
    for (ns, last) in [(&a, 1), (&b, 2), (&c, 3)] {
        ns.run(&[
            "ip",
            "addr",
            "add",
            &format!("198.51.100.{last}/24"),
            "dev",
            "eth0",
        ])
        .unwrap();
    }
    // Declared after the lab, so dropped (servers stopped) before the namespaces go.
    let cluster = ClusterBuilder::with_nodes(vec![
        NodeSpec::in_netns("node1", a.name(), ip(1)),
        NodeSpec::in_netns("node2", b.name(), ip(2)),
    ])
    .start()
    .unwrap();
    eprintln!("cluster up in {:?}", cluster.bring_up_time());
    assert_eq!(
        cluster.primary().repmgr_conninfo(),
        "host=198.51.100.1 port=5432 user=repmgr dbname=repmgr"
    );

    let (p, s) = (cluster.primary().clone(), cluster.standby().clone());
    let roles = c
        .enter(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let pg1 = PostgresProbe::new(ProbeConfig::new(p.postgres_conninfo())).unwrap();
                let rm2 = RepmgrProbe::new(
                    ProbeConfig::new(s.repmgr_conninfo()),
                    NodeSelector::Name("node2".into()),
                )
                .unwrap();
                let r1 = pg1.try_probe(TIMEOUT).await.unwrap();
                let r2 = rm2.try_probe(TIMEOUT).await.unwrap();
                (r1.role, r2.role, r2.recorded_primary.and_then(|p| p.host))
            })
        })
        .unwrap();
    assert_eq!(
        roles,
        (
            Role::Primary,
            Role::Standby,
            Some("198.51.100.1".to_owned())
        )
    );

    // Freeze and promotion work the same inside namespaces.
    cluster.freeze(0).unwrap();
    cluster.thaw(0).unwrap();
    cluster
        .stop(0, vip_pg::harness::StopMode::Immediate)
        .unwrap();
    cluster.promote(1).unwrap();
    assert_eq!(
        cluster
            .psql(1, "postgres", "SELECT pg_is_in_recovery()")
            .unwrap(),
        "f"
    );
}
