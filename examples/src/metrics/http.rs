//! A minimal HTTP/1.1 responder on the metrics listener, one request per connection:
//! `GET /metrics` (and `HEAD`), and the health endpoints with Patroni's semantics (`GET`,
//! `HEAD` and `OPTIONS`, which HAProxy's `option httpchk` sends by default):
//!
//! - `/primary[/INSTANCE]`: 200 while this node holds the VIPs (running, master, VIPs on the
//!   interface) of the instance, or without a name of every instance; else 503.
//! - `/replica[/INSTANCE]`: 200 while the instance (every instance) runs as a backup without
//!   the VIPs; else 503.
//! - `/health[/INSTANCE]`: 200 while vipd runs and no instance (that instance) is in fault or
//!   kept from starting by an error; else 503.
//! - `/status[/INSTANCE]`: 200 with the `vipctl status --json` object (one instance's row).
//!
//! The health endpoints answer with the rows they judged (JSON); an unknown instance is 404,
//! another path 404, another method 405.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Metrics;
use crate::control::{ControlHandler, InstanceStatus, verdict};

/// Largest request head accepted.
const MAX_HEAD: usize = 8192;
/// Time a client gets to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds the metrics listener (so that a bad address fails at startup, not later).
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("metrics endpoint: cannot listen on {addr}: {e}"),
        )
    })
}

/// Serves `metrics` and the health endpoints (from `status`) on `listener` until the task
/// is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, status: Arc<dyn ControlHandler>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let (m, s) = (metrics.clone(), status.clone());
                tokio::spawn(async move {
                    if let Err(e) = handle(stream, &m, s.as_ref()).await {
                        tracing::debug!("metrics connection: {e}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("metrics endpoint: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn handle(
    mut stream: TcpStream,
    metrics: &Metrics,
    status: &dyn ControlHandler,
) -> io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(buf.get(..n).unwrap_or_default());
            if head.len() > MAX_HEAD {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "request head too large",
                ));
            }
        }
        Ok(())
    };
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(r) => r?,
        Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "request timed out")),
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, ctype, body) = route(method, path, metrics, status).await;
    let mut resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status.starts_with("405") {
        resp.push_str("Allow: GET, HEAD, OPTIONS\r\n");
    }
    resp.push_str("\r\n");
    if method != "HEAD" {
        resp.push_str(&body);
    }
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}

/// The endpoints vipd serves on the metrics listener (the docs test checks them against the
/// README).
pub const ENDPOINTS: &[&str] = &["/metrics", "/primary", "/replica", "/health", "/status"];

const JSON: &str = "application/json";
const TEXT: &str = "text/plain";

/// The answer to `method` on `path`: status line, content type, body.
async fn route(
    method: &str,
    path: &str,
    metrics: &Metrics,
    status: &dyn ControlHandler,
) -> (&'static str, &'static str, String) {
    let (endpoint, instance) = match path.get(1..).and_then(|p| p.split_once('/')) {
        Some((e, i)) => (&path[..e.len() + 1], Some(i)),
        None => (path, None),
    };
    if !ENDPOINTS.contains(&endpoint) || (endpoint == "/metrics" && instance.is_some()) {
        let known = ENDPOINTS.join(", ");
        return ("404 Not Found", TEXT, format!("not found; try {known}\n"));
    }
    let allowed = match method {
        "GET" | "HEAD" => true,
        "OPTIONS" => endpoint != "/metrics",
        _ => false,
    };
    if !allowed {
        return (
            "405 Method Not Allowed",
            TEXT,
            "method not allowed\n".into(),
        );
    }
    let report = status.status().await;
    if endpoint == "/metrics" {
        return (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render_with(&report.instances),
        );
    }
    let rows: Vec<&InstanceStatus> = match instance {
        None => report.instances.iter().collect(),
        Some(name) => match report.instances.iter().find(|i| i.name == name) {
            Some(i) => vec![i],
            None => {
                return (
                    "404 Not Found",
                    TEXT,
                    format!("no instance named {name:?}\n"),
                );
            }
        },
    };
    let ok = match endpoint {
        "/primary" => !rows.is_empty() && rows.iter().all(|i| verdict::is_primary(i)),
        "/replica" => !rows.is_empty() && rows.iter().all(|i| verdict::is_replica(i)),
        "/health" => rows.iter().all(|i| verdict::is_healthy(i)),
        _ => true,
    };
    let body = match (endpoint, rows.as_slice()) {
        ("/status", [one]) if instance.is_some() => serde_json::to_string(one),
        ("/status", _) => serde_json::to_string(&report),
        _ => serde_json::to_string(&rows),
    }
    .unwrap_or_else(|e| format!("{{\"error\":\"cannot encode: {e}\"}}"));
    let line = if ok {
        "200 OK"
    } else {
        "503 Service Unavailable"
    };
    (line, JSON, body + "\n")
}
