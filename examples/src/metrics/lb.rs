//! The load balancer's series, read from the running balancer when `/metrics` is rendered:
//! per virtual server whether it is active here and whether its quorum is up; per real server
//! its effective weight, whether its checks pass and its connections (conntrack).

use std::sync::Mutex;

use super::registry::{header, line};
use crate::lb::LbSource;

/// Where the series come from (nothing while no balancer runs).
#[derive(Default)]
pub struct LbMetrics {
    source: Mutex<Option<LbSource>>,
}

impl std::fmt::Debug for LbMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LbMetrics").finish_non_exhaustive()
    }
}

impl LbMetrics {
    /// Replaces the source.
    pub fn set(&self, source: Option<LbSource>) {
        *self.source.lock().unwrap_or_else(|p| p.into_inner()) = source;
    }

    /// Appends the series (none without a balancer).
    pub fn render(&self, out: &mut String) {
        let source = self
            .source
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(source) = source else { return };
        let services = source();
        header(
            out,
            "vip_lb_service_active",
            "gauge",
            "1 while the virtual server is active here (this node holds its instance's VIPs; its rules are in the kernel).",
        );
        for s in &services {
            line(
                out,
                "vip_lb_service_active",
                &[("service", &s.name), ("vrrp_instance", &s.instance)],
                u8::from(s.active),
            );
        }
        header(
            out,
            "vip_lb_service_quorum_up",
            "gauge",
            "1 while the healthy real servers' weight reaches the virtual server's quorum.",
        );
        for s in &services {
            line(
                out,
                "vip_lb_service_quorum_up",
                &[("service", &s.name)],
                u8::from(s.quorum_up),
            );
        }
        header(
            out,
            "vip_lb_backend_weight",
            "gauge",
            "The real server's effective weight, what vip-lb steers by (0: no new connections).",
        );
        for s in &services {
            for b in &s.backends {
                line(
                    out,
                    "vip_lb_backend_weight",
                    &[("service", &s.name), ("backend", &b.addr)],
                    b.weight,
                );
            }
        }
        header(
            out,
            "vip_lb_backend_healthy",
            "gauge",
            "1 while the real server's checks pass.",
        );
        for s in &services {
            for b in &s.backends {
                line(
                    out,
                    "vip_lb_backend_healthy",
                    &[("service", &s.name), ("backend", &b.addr)],
                    u8::from(b.healthy),
                );
            }
        }
        header(
            out,
            "vip_lb_backend_connections",
            "gauge",
            "Connections to the real server through the virtual server (conntrack), by state: active (established) or inactive (others), as ipvsadm's ActiveConn and InActConn.",
        );
        for s in &services {
            for b in &s.backends {
                for (state, n) in [
                    ("active", b.active_connections),
                    ("inactive", b.inactive_connections),
                ] {
                    line(
                        out,
                        "vip_lb_backend_connections",
                        &[("service", &s.name), ("backend", &b.addr), ("state", state)],
                        n,
                    );
                }
            }
        }
    }
}
