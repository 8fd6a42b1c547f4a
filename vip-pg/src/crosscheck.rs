//! Pure decision: repmgr's metadata for this node, cross-checked with `pg_is_in_recovery()`.
//!
//! The metadata can be stale (a promotion outside repmgr, a failed-over primary that came back), so
//! the server's own recovery state wins when they disagree, and the disagreement is reported.

use std::str::FromStr;

use vip_core::{RecordedPrimary, Role};

/// One row of `repmgr.nodes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// `node_id`.
    pub node_id: i64,
    /// `node_name`.
    pub node_name: String,
    /// `type`: primary, standby, witness or bdr.
    pub node_type: String,
    /// `active`.
    pub active: bool,
    /// `upstream_node_id`.
    pub upstream_node_id: Option<i64>,
    /// `priority`.
    pub priority: i64,
    /// `conninfo` (may contain a password; never copied into reports as is).
    pub conninfo: String,
}

/// The outcome of the cross-check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// This node's role.
    pub role: Role,
    /// The node the metadata records as primary.
    pub recorded_primary: Option<RecordedPrimary>,
    /// Disagreements worth logging.
    pub warnings: Vec<String>,
}

/// The host (or Unix socket directory) of a repmgr conninfo, if it names one.
pub fn conninfo_host(conninfo: &str) -> Option<String> {
    let config = tokio_postgres::Config::from_str(conninfo).ok()?;
    if let Some(host) = config.get_hosts().first() {
        return Some(match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        });
    }
    config.get_hostaddrs().first().map(ToString::to_string)
}

fn recorded(node: &NodeRecord) -> RecordedPrimary {
    RecordedPrimary {
        node_id: node.node_id,
        node_name: node.node_name.clone(),
        host: conninfo_host(&node.conninfo),
    }
}

/// Decides this node's role from its record (`me`), its recovery state and the active primaries
/// recorded in the metadata (lowest node_id first).
///
/// - recorded primary, not in recovery: Primary;
/// - recorded primary, in recovery: Standby, with a warning (stale metadata);
/// - recorded standby, in recovery: Standby;
/// - recorded standby, not in recovery: Primary, with a warning (promoted outside repmgr, or
///   metadata not yet updated);
/// - witness or any other type: Unknown (never eligible);
/// - Primary while the metadata records another node as primary: a split-brain warning.
pub fn decide(me: &NodeRecord, in_recovery: bool, primaries: &[NodeRecord]) -> Decision {
    let mut warnings = Vec::new();
    let recorded_primary = primaries.first().map(recorded);
    if primaries.len() > 1 {
        let names: Vec<&str> = primaries.iter().map(|p| p.node_name.as_str()).collect();
        warnings.push(format!(
            "repmgr.nodes records {} active primaries: {}",
            primaries.len(),
            names.join(", ")
        ));
    }
    let role = match (me.node_type.as_str(), in_recovery) {
        ("primary", false) => Role::Primary,
        ("primary", true) => {
            warnings.push(format!(
                "repmgr.nodes records node {} as primary but the server is in recovery: stale metadata, \
                 reporting standby",
                me.node_name
            ));
            Role::Standby
        }
        ("standby", true) => Role::Standby,
        ("standby", false) => {
            warnings.push(format!(
                "repmgr.nodes records node {} as standby but the server is not in recovery \
                 (promoted outside repmgr, or metadata not updated yet): reporting primary",
                me.node_name
            ));
            Role::Primary
        }
        (other, _) => Role::unknown(format!(
            "node {} has repmgr type {other:?}, never eligible",
            me.node_name
        )),
    };
    if role.is_primary() {
        if !me.active {
            warnings.push(format!(
                "repmgr.nodes marks node {} inactive while it runs as primary",
                me.node_name
            ));
        }
        if let Some(other) = primaries.iter().find(|p| p.node_id != me.node_id) {
            warnings.push(format!(
                "repmgr.nodes records node {} (id {}) as primary while this node is not in recovery: \
                 possible split brain",
                other.node_name, other.node_id
            ));
        }
    }
    Decision {
        role,
        recorded_primary,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: i64, name: &str, ty: &str, active: bool) -> NodeRecord {
        NodeRecord {
            node_id: id,
            node_name: name.into(),
            node_type: ty.into(),
            active,
            upstream_node_id: None,
            priority: 100,
            conninfo: format!(
                "host=10.0.0.{id} port=5432 user=repmgr password=pw{id} dbname=repmgr"
            ),
        }
    }

    #[test]
    fn agreeing_metadata_gives_the_plain_role() {
        let p = node(1, "a", "primary", true);
        let s = node(2, "b", "standby", true);
        let d = decide(&p, false, std::slice::from_ref(&p));
        assert_eq!(d.role, Role::Primary);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let rp = d
            .recorded_primary
            .unwrap_or_else(|| panic!("recorded primary"));
        assert_eq!(
            (rp.node_id, rp.node_name.as_str(), rp.host.as_deref()),
            (1, "a", Some("10.0.0.1"))
        );
        let d = decide(&s, true, std::slice::from_ref(&p));
        assert_eq!(d.role, Role::Standby);
        assert!(d.warnings.is_empty());
    }

    #[test]
    fn recorded_primary_in_recovery_is_not_primary() {
        let p = node(1, "a", "primary", true);
        let d = decide(&p, true, std::slice::from_ref(&p));
        assert_eq!(d.role, Role::Standby);
        assert!(d.warnings[0].contains("stale"));
    }

    #[test]
    fn recorded_standby_out_of_recovery_is_primary_with_warnings() {
        let p = node(1, "a", "primary", true);
        let s = node(2, "b", "standby", true);
        let d = decide(&s, false, std::slice::from_ref(&p));
        assert_eq!(d.role, Role::Primary);
        assert!(d.warnings.iter().any(|w| w.contains("not in recovery")));
        assert!(d.warnings.iter().any(|w| w.contains("split brain")));
    }

    #[test]
    fn witness_is_never_eligible_and_conninfo_secrets_stay_out() {
        let w = node(3, "w", "witness", true);
        let d = decide(&w, false, &[]);
        assert!(matches!(d.role, Role::Unknown { .. }));
        assert_eq!(d.recorded_primary, None);
        let all = format!("{d:?}");
        assert!(!all.contains("pw3"));
    }

    #[test]
    fn several_recorded_primaries_are_reported() {
        let a = node(1, "a", "primary", true);
        let b = node(2, "b", "primary", true);
        let d = decide(&b, false, &[a.clone(), b.clone()]);
        assert_eq!(d.role, Role::Primary);
        assert_eq!(d.recorded_primary.map(|r| r.node_id), Some(1));
        assert!(d.warnings.iter().any(|w| w.contains("2 active primaries")));
    }

    #[test]
    fn conninfo_host_reads_tcp_and_unix_and_uri() {
        assert_eq!(conninfo_host("host=db1 port=5432").as_deref(), Some("db1"));
        assert_eq!(
            conninfo_host("host=/run/postgresql").as_deref(),
            Some("/run/postgresql")
        );
        assert_eq!(
            conninfo_host("postgresql://u:p@db2:5433/x").as_deref(),
            Some("db2")
        );
        assert_eq!(
            conninfo_host("hostaddr=198.51.100.7").as_deref(),
            Some("198.51.100.7")
        );
        assert_eq!(conninfo_host("user=x").as_deref(), None);
        assert_eq!(conninfo_host("nonsense").as_deref(), None);
    }
}
