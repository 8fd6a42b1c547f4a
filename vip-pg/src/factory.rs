//! One entry point for daemons: build either probe from configuration.

use std::sync::Arc;

use vip_core::RoleProbe;

use crate::config::{NodeSelector, ProbeConfig};
use crate::error::PgError;
use crate::postgres::PostgresProbe;
use crate::repmgr::RepmgrProbe;

/// Which probe a configuration asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    /// [`PostgresProbe`]: `pg_is_in_recovery()`.
    Postgres,
    /// [`RepmgrProbe`]: repmgr metadata for this node, cross-checked with recovery state.
    Repmgr(NodeSelector),
}

/// Builds the probe `kind` with `config`, ready to hand to the runtime. Fails on invalid settings
/// (bad conninfo, zero timeout, empty node name); connects lazily on the first probe.
pub fn build_probe(kind: ProbeKind, config: ProbeConfig) -> Result<Arc<dyn RoleProbe>, PgError> {
    Ok(match kind {
        ProbeKind::Postgres => Arc::new(PostgresProbe::new(config)?),
        ProbeKind::Repmgr(node) => Arc::new(RepmgrProbe::new(config, node)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_each_kind_and_rejects_bad_settings() {
        let c = ProbeConfig::new("host=127.0.0.1 user=repmgr dbname=repmgr");
        let p = build_probe(ProbeKind::Postgres, c.clone()).map(|p| p.name().to_owned());
        assert_eq!(p.as_deref().ok(), Some("postgres"));
        let r = build_probe(ProbeKind::Repmgr(NodeSelector::Id(1)), c.clone())
            .map(|p| p.name().to_owned());
        assert_eq!(r.as_deref().ok(), Some("repmgr"));
        let e = build_probe(ProbeKind::Repmgr(NodeSelector::Name(" ".into())), c).err();
        assert!(matches!(e, Some(PgError::Config { .. })));
    }
}
