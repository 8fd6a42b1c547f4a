//! vip-node: assembly for Linux. One [`NodeConfig`] states each fact of an instance once
//! (interface, VRID, version, interval, VIPs, priority, preempt, unicast peers, ...), and
//! [`Node`] turns it into a running, supervised instance with the Linux backends:
//!
//! - the vip-vrrp transport: adverts out, the receive path in (so the instance is never deaf),
//!   and the steady loop that keeps idle adverts off the async runtime;
//! - the vip-netlink address manager (add, remove, announce, in-use probe) and its link
//!   watcher, which subscribes again by itself when the kernel drops notifications (so the
//!   instance is never blind to a link going down);
//! - backend time bounds derived from the advert interval ([`timeouts`]);
//! - restart supervision: a start that fails for a reason that may pass is retried, an
//!   instance whose socket or watcher broke is released and rebuilt.
//!
//! The embedder adds what only it knows: a [`RoleProbe`](vip_core::RoleProbe), a
//! [`Fencer`](vip_core::Fencer), tracked checks, and an [`Observer`] for metrics and events.
//! Ready-made command backends are in [`commands`]: the command fencer, command checks and the
//! notify-hook runner. Protocol rules are checked by [`NodeConfig::validate`] with
//! [`vip_core::rules`], the one place they are stated.
//!
//! # Example
//!
//! One VIP held by whichever node's file says `primary` (this is `examples/file_role.rs`):
//!
//! ```no_run
//! use std::path::PathBuf;
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use tokio::signal::unix::{SignalKind, signal};
//! use vip_core::runtime::RoleSchedule;
//! use vip_core::{Role, RoleProbe, RoleReport, async_trait};
//! use vip_node::{Node, NodeConfig};
//!
//! /// Primary while the file says `primary`; standby otherwise; unknown when it cannot be read.
//! struct FileRole(PathBuf);
//!
//! #[async_trait]
//! impl RoleProbe for FileRole {
//!     async fn probe(&self, _timeout: Duration) -> RoleReport {
//!         RoleReport::from_role(match tokio::fs::read_to_string(&self.0).await {
//!             Ok(text) if text.trim() == "primary" => Role::Primary,
//!             Ok(_) => Role::Standby,
//!             Err(e) => Role::unknown(format!("{}: {e}", self.0.display())),
//!         })
//!     }
//!
//!     fn name(&self) -> &str {
//!         "file"
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let args: Vec<String> = std::env::args().skip(1).collect();
//!     let [interface, vip, file] = args.as_slice() else {
//!         return Err("usage: file_role INTERFACE VIP ROLE_FILE".into());
//!     };
//!     let config = NodeConfig::new("file", interface, 51, vec![vip.parse()?])
//!         .advert_interval("100ms".parse()?);
//!     let every = Duration::from_millis(200);
//!     let schedule = RoleSchedule {
//!         interval: every,
//!         timeout: every / 2,
//!     };
//!     let node = Node::new(config)
//!         .role_probe(Arc::new(FileRole(file.into())), schedule)
//!         .start()
//!         .await?;
//!     signal(SignalKind::terminate())?.recv().await;
//!     node.stop(None).await;
//!     Ok(())
//! }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod build;
pub mod commands;
mod config;
pub mod events;
mod left_behind;
mod metered;
mod node;
mod observer;
mod supervise;
mod timeouts;

pub use build::NodeError;
pub use config::{ConfigError, NodeConfig};
pub use events::EventSink;
pub use node::{Node, NodeHandle};
pub use observer::{NoObserver, Observer};
pub use timeouts::{FENCE_GRACE, timeouts};
