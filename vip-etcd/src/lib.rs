//! vip's ownership arbiter on etcd v3 leases, and Patroni leader-key following.
//!
//! [`EtcdArbiter`] implements [`vip_core::OwnershipArbiter`]: a node may hold the VIPs only
//! while it holds an etcd key created under its own lease, and must have removed them by the
//! deadline D = send time of the last acknowledged keepalive + TTL x (1 - drift) - margin.
//! [`PatroniLeader`] implements the same trait by following the leader key a Patroni cluster
//! keeps in etcd: the grant is "the key names this member", until its lease could run out.
//!
//! # The client: etcd's JSON gateway over HTTP/1.1, not `etcd-client`
//!
//! etcd serves its v3 API both as gRPC and, on the same client port, as JSON through its
//! built-in gRPC gateway (`POST /v3/lease/grant`, `/v3/kv/txn`, `/v3/watch`, ...; int64 as
//! strings, bytes as base64; etcd 3.4 and later). vip needs nine calls of it. We chose the
//! gateway with a small HTTP/1.1 client of our own ([`client`], [`http`]) over the
//! `etcd-client` crate (tonic) because:
//! - **build**: `etcd-client` 0.21 compiles etcd's `.proto` files in its build script with
//!   `tonic-prost-build`, which needs `protoc` at build time (Debian: `protobuf-compiler`) and
//!   pulls in tonic, prost, hyper, h2, tower and their build-time code generation: a large
//!   share of a clean build on a 2-core machine. The gateway needs only what vip already has
//!   (tokio, serde_json) plus base64 and tokio-rustls for TLS.
//! - **size**: vipd's resident memory is mostly its binary's pages (see the workspace
//!   `Cargo.toml`); an HTTP/2 + gRPC stack would grow it for nine unary-or-streaming calls.
//!   Measured with this client (release vipd, same machine and run): 6.92 MB against 5.36 MB
//!   without vip-etcd (x1.29; most of it rustls and ring for TLS); resident memory 6.4 MiB
//!   with an unused `[instance.etcd]`-capable binary and 6.6-6.8 MiB holding a lease, against
//!   5.9-6.1 MiB (x1.07 to x1.12). vipd therefore has it behind its cargo feature `etcd`.
//! - **maintenance**: the gateway's JSON is etcd's own, versioned API (`/v3/`, stable since
//!   3.4); `etcd-client` is well kept but releases track tonic's breaking changes.
//!
//! The costs: each request opens its own connection (a TLS handshake per keepalive with
//! `https://`), and require-leader travels as the `Grpc-Metadata-hasleader` header, which the
//! gateway forwards as gRPC metadata.
//!
//! Every error is typed ([`EtcdError`]) with a hint, and maps onto
//! [`vip_core::ArbiterError`]: bad credentials, TLS failures and a key held under a foreign
//! value (no lease) are `Refused`; unreachable endpoints, a slow etcd and a lost leader are
//! `Unavailable`. In every such case the node does not hold the VIPs.

pub mod arbiter;
pub mod client;
pub mod config;
pub mod error;
#[cfg(feature = "harness")]
pub mod harness;
pub mod http;
pub mod patroni;
mod renew;
pub mod standing;

pub use arbiter::EtcdArbiter;
pub use client::Client;
pub use config::{EtcdConfig, TlsConfig};
pub use error::{ConfigError, EtcdError};
pub use patroni::{PatroniConfig, PatroniLeader};
