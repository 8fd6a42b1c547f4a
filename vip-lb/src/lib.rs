//! Health-checked L4 load balancing behind the VIP (keepalived's `virtual_server`), on
//! nftables over netlink. See `docs/load-balancing.md` for the whole picture.
//!
//! - [`VirtualService`]: a VIP:port (TCP or UDP), real servers with weights, a scheduler
//!   ([`Scheduler`]: rr, wrr, sh, dh), a sorry server, quorum with hysteresis and keepalived's
//!   check timings ([`CheckPolicy`]).
//! - [`RealServerCheck`]: one check of one real server; shipped: [`TcpConnectCheck`]
//!   (`TCP_CHECK`) and [`MiscCheck`] (`MISC_CHECK` with `misc_dynamic`).
//! - [`Pool`]: the sans-IO state machine of one service (check results and time in, the desired
//!   rules out).
//! - [`KernelRules`]: the kernel backend seam; [`NftRules`] writes nf_tables over netlink.
//! - [`Balancer`] / [`BalancerHandle`]: runs the checks and the rule writer; the service
//!   follows the VIP ([`BalancerHandle::set_active`]).
//!
//! # Which netlink crate
//! Compared with `cargo info` (December 2026):
//! - `rustables` 0.9: a safe nftables API in pure Rust, but GPL-3.0-or-later (the workspace is
//!   MIT OR Apache-2.0) and no `numgen` or `hash` expressions.
//! - `nftnl` 0.9.4 (Mullvad): MIT/Apache, but a binding of the C libnftnl (a system library to
//!   build and ship), and no `numgen`, `hash` or verdict maps either.
//! - `netlink-packet-netfilter` 0.4 (the rust-netlink family, as `rtnetlink` which vip-netlink
//!   already uses): MIT, pure Rust, typed nf_tables messages (tables, chains, sets, elements,
//!   rules, batch begin/end) with a generic form for other expressions, and ctnetlink
//!   (conntrack) messages. **Chosen**: `numgen`, `hash`, `nat` and `counter` take only flat
//!   32-bit attributes, written with the crate's generic expression; the socket is
//!   `netlink-sys`, already in the tree.
//!
//! # NAT mode
//! As LVS-NAT: the balancer DNATs the first packet of a connection to the chosen real server
//! (conntrack keeps the binding for the rest of it and un-NATs the replies); the real servers
//! must route their replies back through the balancer (their default route, or a route to the
//! clients, via the balancer), and the balancer must forward (`net.ipv4.ip_forward=1`,
//! `net.ipv6.conf.all.forwarding=1`). No SNAT: real servers see the clients' addresses.
//! Only traffic arriving from the network is balanced (the prerouting hook); connections the
//! balancer itself opens to the VIP are not.
//!
//! # What cannot be done
//! Least-connection schedulers (lc, wlc, lblc, lblcr, sed, nq) and the others that need
//! per-backend connection state when a connection's first packet is steered: nftables has no
//! such state in its verdict path. They are rejected by name ([`LbError::UnsupportedScheduler`]).
//! Persistence timeouts (`persistence_timeout`) are not done either; `sh` gives stickiness per
//! source address while the set of servers is unchanged. LVS-DR and LVS-TUN are not done.

mod balancer;
mod check;
mod conntrack;
mod error;
pub mod nft_batch;
mod nft_rules;
mod pool;
pub mod rules;
mod service;

pub use balancer::{BackendStatus, Balancer, BalancerHandle, ServiceStatus};
pub use check::{CheckOutcome, MiscCheck, RealServerCheck, TcpConnectCheck};
pub use error::LbError;
pub use nft_rules::NftRules;
pub use pool::{CheckId, Pool, ServerView};
pub use rules::{ConnCounts, KernelRules, RuleSet, ServiceRules, Target};
pub use service::{CheckPolicy, MAX_NAME_LEN, Protocol, RealServer, Scheduler, VirtualService};
