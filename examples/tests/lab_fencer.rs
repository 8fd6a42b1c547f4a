//! Lab (root): the command fencer against the kernel. A node in one namespace holds the VIP; the
//! fencer, run with the placeholders filled in, removes it inside that namespace; afterwards the
//! VIP no longer answers ARP on the segment. A second attempt fails with the command's error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use vip_core::lab::Lab;
use vip_core::{FenceOutcome, FenceRequest, Fencer, PeerId, Vip};
use vip_examples::commands::fence::CommandFencer;

fn answers(ns: &vip_core::lab::Ns, vip: &str) -> bool {
    ns.output(&["arping", "-c", "2", "-w", "2", "-I", "eth0", vip])
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[tokio::test]
async fn command_fencer_removes_the_vip_from_the_holder() {
    let Some(mut lab) = Lab::new_or_skip("vipex-fence").unwrap() else {
        return;
    };
    let holder = lab.namespace("old").unwrap();
    let claimer = lab.namespace("new").unwrap();
    lab.segment(&[&holder, &claimer]).unwrap();
    holder
        .run(&["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"])
        .unwrap();
    claimer
        .run(&["ip", "addr", "add", "192.0.2.2/24", "dev", "eth0"])
        .unwrap();
    holder
        .run(&["ip", "addr", "add", "192.0.2.10/32", "dev", "eth0"])
        .unwrap();
    assert!(
        answers(&claimer, "192.0.2.10"),
        "the holder must answer for the VIP first"
    );

    let fencer = CommandFencer::new(
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            holder.name().into(),
            "ip".into(),
            "addr".into(),
            "del".into(),
            "{vip}/32".into(),
            "dev".into(),
            "{interface}".into(),
        ],
        Duration::from_secs(5),
        "db",
        "eth0",
        51,
    );
    let req = FenceRequest {
        peer: Some(PeerId("192.0.2.1".parse().unwrap())),
        holder_mac: None,
        token: None,
        vips: vec![Vip::host("192.0.2.10".parse().unwrap(), "eth0")],
    };
    assert_eq!(fencer.fence(&req).await, FenceOutcome::Fenced);
    let addrs = holder
        .run(&["ip", "-o", "addr", "show", "dev", "eth0"])
        .unwrap();
    assert!(!addrs.contains("192.0.2.10/32"), "{addrs}");
    assert!(
        !answers(&claimer, "192.0.2.10"),
        "the VIP still answers after fencing"
    );

    match fencer.fence(&req).await {
        FenceOutcome::Failed { reason } => assert!(reason.contains("exit status"), "{reason}"),
        o => panic!("fencing a VIP that is not there must report the command's failure, got {o:?}"),
    }
}
