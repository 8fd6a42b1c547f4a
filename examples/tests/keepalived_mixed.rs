//! Mixed pairs: vipd and a real keepalived 2.2.7 on one lab segment, in both roles (vipd at the
//! higher priority, then keepalived), for VRRPv2 with PASS authentication, VRRPv3 over IPv4
//! (keepalived's pseudo-header checksum) and VRRPv3 unicast.
//!
//! Each test proves, by sampling the VIP in both namespaces: they agree on exactly one master
//! (the higher priority); a graceful stop of the master hands the VIP to the other; the master
//! coming back preempts; link down on the master hands the VIP over, link up takes it back;
//! keepalived logs no packet error and vipd counts no drop and no VIP-list mismatch. The lab's
//! overlap checker reads both namespaces' address events across every step: vipd taking the
//! VIP never overlaps keepalived; keepalived preempting vipd (it has no in-use probe) overlaps
//! until vipd steps down, which is printed and bounded. Needs root and keepalived; skipped
//! otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod keepalived_common;

use keepalived_common::{Mode, Side, mixed_pair};

#[test]
fn v2_pass_vipd_master() {
    mixed_pair("kamix-v2-vm", Mode::V2Pass, Side::Vipd);
}

#[test]
fn v2_pass_keepalived_master() {
    mixed_pair("kamix-v2-km", Mode::V2Pass, Side::Keepalived);
}

#[test]
fn v3_vipd_master() {
    mixed_pair("kamix-v3-vm", Mode::V3, Side::Vipd);
}

#[test]
fn v3_keepalived_master() {
    mixed_pair("kamix-v3-km", Mode::V3, Side::Keepalived);
}

#[test]
fn v3_unicast_vipd_master() {
    mixed_pair("kamix-uc-vm", Mode::V3Unicast, Side::Vipd);
}

#[test]
fn v3_unicast_keepalived_master() {
    mixed_pair("kamix-uc-km", Mode::V3Unicast, Side::Keepalived);
}
