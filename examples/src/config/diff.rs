//! What a reload changes: instances unchanged, changed, added, removed (a pure function).

use super::types::InstanceConfig;

/// One instance whose config changed, with the keys that differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceChange {
    /// The instance name.
    pub name: String,
    /// Top-level keys that differ (`priority`, `vips`, ...).
    pub keys: Vec<&'static str>,
}

/// The effect of a reload, by instance name.
///
/// Apply it in this order: stop `removed` and `changed`, then start `changed` and `added`, so
/// that an instance moved to another name with the same (interface, vrid) never runs twice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceDiff {
    /// Same config: keep running, keep state and VIPs.
    pub unchanged: Vec<String>,
    /// Different config: restart cleanly.
    pub changed: Vec<InstanceChange>,
    /// New instances: start.
    pub added: Vec<String>,
    /// Gone from the file: stop.
    pub removed: Vec<String>,
}

impl InstanceDiff {
    /// True when the reload changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }
}

/// Compares two instance lists by name (order does not matter).
pub fn diff_instances(old: &[InstanceConfig], new: &[InstanceConfig]) -> InstanceDiff {
    let mut d = InstanceDiff::default();
    for o in old {
        match new.iter().find(|n| n.name == o.name) {
            None => d.removed.push(o.name.clone()),
            Some(n) if n == o => d.unchanged.push(o.name.clone()),
            Some(n) => d.changed.push(InstanceChange {
                name: o.name.clone(),
                keys: changed_keys(o, n),
            }),
        }
    }
    for n in new {
        if !old.iter().any(|o| o.name == n.name) {
            d.added.push(n.name.clone());
        }
    }
    d
}

fn changed_keys(a: &InstanceConfig, b: &InstanceConfig) -> Vec<&'static str> {
    let mut k = Vec::new();
    let mut cmp = |name: &'static str, same: bool| {
        if !same {
            k.push(name);
        }
    };
    cmp("interface", a.interface == b.interface);
    cmp("vrid", a.vrid == b.vrid);
    cmp("version", a.version == b.version);
    cmp("priority", a.priority == b.priority);
    cmp("advert_interval", a.advert_interval == b.advert_interval);
    cmp("preempt", a.preempt == b.preempt);
    cmp("preempt_delay", a.preempt_delay == b.preempt_delay);
    cmp("vip_lifetime", a.vip_lifetime == b.vip_lifetime);
    cmp("source", a.source == b.source);
    cmp("unicast_peers", a.unicast_peers == b.unicast_peers);
    cmp("auth", a.auth == b.auth);
    cmp("v3_ipv4_checksum", a.checksum == b.checksum);
    cmp("vips", a.vips == b.vips);
    cmp("garp", a.announce == b.announce);
    cmp("on_stop", a.on_stop == b.on_stop);
    cmp("check", a.checks == b.checks);
    cmp("role", a.role == b.role);
    cmp(
        "fencer",
        a.fencer == b.fencer && a.fence_policy == b.fence_policy,
    );
    cmp("notify", a.notify == b.notify);
    cmp("etcd", a.arbiter == b.arbiter);
    k
}
