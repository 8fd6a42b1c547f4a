//! The control socket's server side.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

use super::protocol::{LbService, ReloadReport, Request, Response, StatusReport, SwitchoverReport};

/// Longest request line accepted.
const MAX_LINE: usize = 64 * 1024;

/// Connections served at once. One more is answered with an error line and closed, so that
/// idle clients cannot grow the daemon (each costs a task and its buffers).
pub const MAX_CONNECTIONS: usize = 32;

/// A connection that sends no complete request for this long is closed, so that idle clients
/// cannot hold the [`MAX_CONNECTIONS`] slots for good.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the daemon does for each request.
#[async_trait]
pub trait ControlHandler: Send + Sync + 'static {
    /// Every instance's status.
    async fn status(&self) -> StatusReport;
    /// Fire the reprobe signal(s); the instances signalled, or why not.
    async fn reprobe(&self, instance: Option<String>) -> Result<Vec<String>, String>;
    /// Re-read the config.
    async fn reload(&self) -> Result<ReloadReport, String>;
    /// Maintenance on or off for `instance` (`None`: all); the instances concerned.
    async fn maintenance(&self, on: bool, instance: Option<String>) -> Result<Vec<String>, String>;
    /// A planned switchover of `instance` (`None`: the only one) to `to` (`None`: hand over
    /// from this node); answers once the VIPs have moved.
    async fn switchover(
        &self,
        instance: Option<String>,
        to: Option<String>,
    ) -> Result<SwitchoverReport, String>;
    /// The virtual servers (none by default), or why the load balancer is not running.
    async fn lb(&self) -> Result<Vec<LbService>, String> {
        Ok(Vec::new())
    }
}

/// Binds the control socket at `path`: creates the parent directory, replaces a stale socket
/// (one nobody listens on), refuses to steal a live one, and sets mode 0660.
pub async fn bind(path: &Path) -> io::Result<UnixListener> {
    let ctx = |e: io::Error, what: &str| {
        io::Error::new(
            e.kind(),
            format!("control socket {}: {what}: {e}", path.display()),
        )
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ctx(e, "cannot create its directory"))?;
    }
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "control socket {}: another vipd is listening there (stop it, or set global.control_socket)",
                    path.display()
                ),
            ));
        }
        std::fs::remove_file(path).map_err(|e| ctx(e, "cannot remove the stale socket"))?;
    }
    let l = UnixListener::bind(path).map_err(|e| ctx(e, "cannot listen"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| ctx(e, "cannot set its mode"))?;
    Ok(l)
}

/// Serves requests until the task is dropped: at most [`MAX_CONNECTIONS`] at once, each closed
/// after [`IDLE_TIMEOUT`] without a request.
pub async fn serve(listener: UnixListener, handler: Arc<dyn ControlHandler>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut refusing = false;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    if !refusing {
                        tracing::warn!(
                            "control socket: {MAX_CONNECTIONS} connections open; refusing more until one closes"
                        );
                        refusing = true;
                    }
                    // A fresh socket's send buffer takes one short line without blocking.
                    let line = format!(
                        "{{\"error\":\"too many control connections ({MAX_CONNECTIONS} open); try again\"}}\n"
                    );
                    let _ = stream.try_write(line.as_bytes());
                    continue;
                };
                refusing = false;
                let h = handler.clone();
                tokio::spawn(async move {
                    if let Err(e) = connection(stream, h.as_ref()).await {
                        tracing::debug!("control connection: {e}");
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!("control socket: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(stream: UnixStream, handler: &dyn ControlHandler) -> io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r);
    let mut line = String::new();
    loop {
        line.clear();
        let mut limited = (&mut lines).take(MAX_LINE as u64);
        let read = limited.read_line(&mut line);
        let Ok(n) = tokio::time::timeout(IDLE_TIMEOUT, read).await else {
            return Ok(()); // idle: give the slot back
        };
        let n = n?;
        if n == 0 {
            return Ok(());
        }
        let resp = match serde_json::from_str::<Request>(line.trim()) {
            Err(e) => Response::Error(format!(
                "bad request ({e}); send one JSON object per line, for example {{\"cmd\":\"status\"}}"
            )),
            Ok(Request::Status) => Response::Status(handler.status().await),
            Ok(Request::Reprobe { instance }) => match handler.reprobe(instance).await {
                Ok(instances) => Response::Reprobe { instances },
                Err(e) => Response::Error(e),
            },
            Ok(Request::Reload) => match handler.reload().await {
                Ok(r) => Response::Reload(r),
                Err(e) => Response::Error(e),
            },
            Ok(Request::Maintenance { on, instance }) => {
                match handler.maintenance(on, instance).await {
                    Ok(instances) => Response::Maintenance { instances, on },
                    Err(e) => Response::Error(e),
                }
            }
            Ok(Request::Switchover { instance, to }) => {
                match handler.switchover(instance, to).await {
                    Ok(r) => Response::Switchover(r),
                    Err(e) => Response::Error(e),
                }
            }
            Ok(Request::Lb) => match handler.lb().await {
                Ok(services) => Response::Lb(services),
                Err(e) => Response::Error(e),
            },
        };
        let mut out = serde_json::to_string(&resp)
            .unwrap_or_else(|e| format!("{{\"error\":\"cannot encode response: {e}\"}}"));
        out.push('\n');
        w.write_all(out.as_bytes()).await?;
        if !line.ends_with('\n') {
            return Ok(());
        }
    }
}
