//! The wiring: one election instance of vipd, assembled from the library crates.
//!
//! Per instance, inside vipd's process (so inside the node's network namespace):
//! - the VRRP transport (`vip_vrrp::socket::Transport`) is the runtime's advert sink, and
//!   `Transport::feed` passes received adverts (with the address mismatch the codec computed)
//!   to the instance;
//! - `vip_netlink::NetlinkAddressManager` is the `AddressManager`, and its watcher's events
//!   reach the instance through `Watcher::feed` (link down = Fault, VIP removed = re-add);
//! - the command fencer, the command checks and the role probe (`vip_pg::build_probe`) are the
//!   other backends, wrapped to record their latencies and outcomes in the metrics; the spec
//!   that carries them all is built by
//!   [`InstanceConfig::to_instance_spec`](crate::config::InstanceConfig::to_instance_spec);
//! - events go to the logs, the status board, the metrics and the notify hooks
//!   ([`crate::events::EventSink`]); the status watch channel keeps the board's master current;
//!   the transport's counters are copied into the metrics.
//!
//! [`InstanceTask`] supervises all of it: it retries a start that fails (an interface that does
//! not exist yet, no address to send from) every second, restarts an instance whose socket
//! broke, and stops it per `on_stop`.

mod build;
mod metered;
mod supervise;

pub use build::{BuildError, manager_config, timeouts, transport_config};
pub use metered::{MeteredAddresses, MeteredCheck, MeteredFencer, MeteredRole};
pub use supervise::{Context, InstanceTask};
