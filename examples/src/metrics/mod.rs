//! Prometheus metrics: a registry the daemon updates, rendered in the text exposition format,
//! and a minimal HTTP/1.1 endpoint serving it on `GET /metrics`.

mod http;
mod registry;

pub use http::{bind, serve};
pub use registry::{Metrics, PROBE_BUCKETS};
