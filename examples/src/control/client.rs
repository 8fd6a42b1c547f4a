//! The control socket's client side (`vipctl`), with errors that say what to do.

use std::io;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::protocol::{Request, Response};

/// How long a request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No socket at the path.
    #[error(
        "control socket {0} does not exist: is vipd running, with global.control_socket set to this path? (use --socket PATH)"
    )]
    Missing(String),
    /// Not allowed to connect.
    #[error(
        "permission denied on control socket {0}: run as root or as a member of the socket's group"
    )]
    PermissionDenied(String),
    /// A socket file nobody listens on.
    #[error("nobody listens on control socket {0}: vipd is not running (stale socket)")]
    Refused(String),
    /// The daemon did not answer in time.
    #[error("vipd did not answer on {0} within {1:?}")]
    Timeout(String, Duration),
    /// Anything else on the wire.
    #[error("control socket {0}: {1}")]
    Io(String, io::Error),
    /// The answer was not understood.
    #[error("control socket {0}: unexpected answer: {1}")]
    Protocol(String, String),
}

/// Sends one request and reads its response.
pub async fn request(path: &Path, req: &Request) -> Result<Response, ClientError> {
    let shown = path.display().to_string();
    let io_err = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => ClientError::Missing(shown.clone()),
        io::ErrorKind::PermissionDenied => ClientError::PermissionDenied(shown.clone()),
        io::ErrorKind::ConnectionRefused => ClientError::Refused(shown.clone()),
        _ => ClientError::Io(shown.clone(), e),
    };
    let work = async {
        let stream = UnixStream::connect(path).await.map_err(io_err)?;
        let (r, mut w) = stream.into_split();
        let mut line = serde_json::to_string(req)
            .map_err(|e| ClientError::Protocol(shown.clone(), e.to_string()))?;
        line.push('\n');
        // A daemon that refuses the connection (too many open) answers before reading and
        // closes: the write may fail, and its answer is still there to read.
        let written = w.write_all(line.as_bytes()).await;
        let mut answer = String::new();
        let read = BufReader::new(r).read_line(&mut answer).await;
        if answer.is_empty() {
            written.map_err(io_err)?;
            read.map_err(io_err)?;
        }
        serde_json::from_str::<Response>(answer.trim())
            .map_err(|e| ClientError::Protocol(shown.clone(), format!("{e}: {answer:?}")))
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, work).await {
        Ok(r) => r,
        Err(_) => Err(ClientError::Timeout(shown.clone(), REQUEST_TIMEOUT)),
    }
}
