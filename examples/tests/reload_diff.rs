//! The reload diff: which instances are unchanged, changed (and in which keys), added, removed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use vip_examples::config::{self, InstanceConfig, InstanceDiff, diff_instances};

fn instances(text: &str) -> Vec<InstanceConfig> {
    config::parse(text)
        .unwrap_or_else(|e| panic!("{e}"))
        .instances
}

fn inst(name: &str, vrid: u8, extra: &str) -> String {
    format!(
        "[[instance]]\nname = \"{name}\"\ninterface = \"eth0\"\nvrid = {vrid}\nvips = [\"198.51.100.{vrid}/32\"]\n{extra}\n"
    )
}

#[test]
fn identical_configs_change_nothing() {
    let a = instances(&(inst("a", 1, "") + &inst("b", 2, "")));
    let d = diff_instances(&a, &a);
    assert!(d.is_empty());
    assert_eq!(d.unchanged, ["a", "b"]);
}

#[test]
fn order_does_not_matter() {
    let a = instances(&(inst("a", 1, "") + &inst("b", 2, "")));
    let b = instances(&(inst("b", 2, "") + &inst("a", 1, "")));
    assert!(diff_instances(&a, &b).is_empty());
}

#[test]
fn changed_added_removed() {
    let old = instances(&(inst("keep", 1, "") + &inst("tune", 2, "") + &inst("gone", 3, "")));
    let new = instances(
        &(inst("keep", 1, "")
            + &inst(
                "tune",
                2,
                "priority = 120\nadvert_interval = \"100ms\"\n[[instance.notify]]\nargv = [\"/bin/true\"]",
            )
            + &inst("new", 4, "")),
    );
    let d = diff_instances(&old, &new);
    assert_eq!(d.unchanged, ["keep"]);
    assert_eq!(d.changed.len(), 1);
    assert_eq!(d.changed[0].name, "tune");
    assert_eq!(d.changed[0].keys, ["priority", "advert_interval", "notify"]);
    assert_eq!(d.added, ["new"]);
    assert_eq!(d.removed, ["gone"]);
}

#[test]
fn rename_is_remove_plus_add() {
    let old = instances(&inst("old", 1, ""));
    let new = instances(&inst("renamed", 1, ""));
    let d = diff_instances(&old, &new);
    assert_eq!(
        d,
        InstanceDiff {
            unchanged: vec![],
            changed: vec![],
            added: vec!["renamed".into()],
            removed: vec!["old".into()]
        }
    );
}

#[test]
fn every_key_kind_is_detected() {
    let base = inst("x", 9, "");
    for (extra, key) in [
        ("version = 2", "version"),
        ("preempt = false", "preempt"),
        ("preempt_delay = \"3s\"", "preempt_delay"),
        ("source = \"198.51.100.1\"", "source"),
        ("unicast_peers = [\"198.51.100.2\"]", "unicast_peers"),
        ("v3_ipv4_checksum = \"rfc\"", "v3_ipv4_checksum"),
        ("on_stop = \"keep\"", "on_stop"),
        ("[instance.garp]\nrepeat = 2", "garp"),
        ("[[instance.check]]\nargv = [\"/bin/true\"]", "check"),
        (
            "[instance.role]\nkind = \"postgres\"\nconninfo = \"host=x\"",
            "role",
        ),
        ("[instance.fencer]\nargv = [\"/bin/true\"]", "fencer"),
    ] {
        let d = diff_instances(&instances(&base), &instances(&inst("x", 9, extra)));
        assert_eq!(d.changed.len(), 1, "{extra}");
        assert_eq!(d.changed[0].keys, [key], "{extra}");
    }
    let d = diff_instances(&instances(&base), &instances(&base.replace("eth0", "eth1")));
    assert!(d.changed[0].keys.contains(&"interface") && d.changed[0].keys.contains(&"vips"));
}
