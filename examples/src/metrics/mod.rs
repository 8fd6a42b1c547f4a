//! Prometheus metrics: a registry the instances update (it is their vip-node `Observer`),
//! rendered in the text exposition format, and a minimal HTTP/1.1 endpoint serving it on
//! `GET /metrics`.

mod http;
mod lb;
mod observer;
mod registry;

pub use http::{ENDPOINTS, bind, serve};
pub use registry::{Metrics, PROBE_BUCKETS};
