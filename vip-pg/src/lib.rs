//! vip-pg: [`RoleProbe`](vip_core::RoleProbe)s that ask PostgreSQL, and repmgr's metadata, whether
//! this node is the primary.
//!
//! - [`PostgresProbe`]: `pg_is_in_recovery()` (plus the timeline).
//! - [`RepmgrProbe`]: this node's row of `repmgr.nodes`, cross-checked with `pg_is_in_recovery()`,
//!   and the node the metadata records as primary (whom to fence).
//! - [`ReplicaProbe`]: recovery state and replay lag in bytes (a load balancer's check of a
//!   standby: the read VIP).
//! - [`rank`]: the split-brain rule (recorded primary, then timeline, then address), carried
//!   as the priority a Primary node advertises ([`vip_core::RoleReport::priority`]).
//!
//! Both keep one connection with prepared statements, bound every probe (connect and statements)
//! by the timeout, drop a connection that hangs, and reconnect with bounded exponential back-off.
//! Errors are [`PgError`]s (convertible into [`vip_core::Error`]); none of them, and no `Debug`
//! output, ever contains a password.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vip_pg::PgError> {
//! use std::time::Duration;
//! use vip_core::RoleProbe;
//! use vip_pg::{NodeSelector, PostgresProbe, ProbeConfig, RepmgrProbe};
//!
//! let settings = ProbeConfig::new("host=127.0.0.1 port=5432 user=repmgr dbname=repmgr")
//!     .interval(Duration::from_millis(200))
//!     .timeout(Duration::from_millis(500));
//! let pg = PostgresProbe::new(settings.clone())?;
//! let repmgr = RepmgrProbe::new(settings, NodeSelector::Name("node1".into()))?;
//! let report = repmgr.probe(repmgr.config().timeout).await;
//! // Or, from a daemon's configuration, as a trait object:
//! let probe = vip_pg::build_probe(vip_pg::ProbeKind::Postgres, ProbeConfig::new("host=/run/postgresql"))?;
//! println!("{} (recorded primary {:?})", report.role, report.recorded_primary);
//! let _ = pg.try_probe(Duration::from_millis(500)).await?;
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod backoff;
mod config;
pub mod crosscheck;
mod error;
mod factory;
mod kept;
mod pgconn;
mod postgres;
pub mod rank;
pub mod redact;
mod replica;
mod repmgr;

#[cfg(feature = "harness")]
#[cfg_attr(docsrs, doc(cfg(feature = "harness")))]
pub mod harness;

pub use backoff::{Backoff, BackoffConfig};
pub use config::{DEFAULT_INTERVAL, DEFAULT_TIMEOUT, NodeSelector, ProbeConfig};
pub use error::{PgError, Stage};
pub use factory::{ProbeKind, build_probe};
pub use postgres::PostgresProbe;
pub use rank::Rank;
pub use replica::{ReplicaProbe, ReplicaStatus};
pub use repmgr::{RepmgrDetails, RepmgrProbe};
