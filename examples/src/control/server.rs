//! The control socket's server side.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::protocol::{ReloadReport, Request, Response, StatusReport};

/// Longest request line accepted.
const MAX_LINE: usize = 64 * 1024;

/// What the daemon does for each request.
#[async_trait]
pub trait ControlHandler: Send + Sync + 'static {
    /// Every instance's status.
    async fn status(&self) -> StatusReport;
    /// Fire the reprobe signal(s); the instances signalled, or why not.
    async fn reprobe(&self, instance: Option<String>) -> Result<Vec<String>, String>;
    /// Re-read the config.
    async fn reload(&self) -> Result<ReloadReport, String>;
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

/// Serves requests until the task is dropped.
pub async fn serve(listener: UnixListener, handler: Arc<dyn ControlHandler>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let h = handler.clone();
                tokio::spawn(async move {
                    if let Err(e) = connection(stream, h.as_ref()).await {
                        tracing::debug!("control connection: {e}");
                    }
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
        let n = (&mut lines)
            .take(MAX_LINE as u64)
            .read_line(&mut line)
            .await?;
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
