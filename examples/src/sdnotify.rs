//! systemd's notify protocol, written out: one datagram per message to the socket named by
//! `NOTIFY_SOCKET` (a path, or an abstract name when it starts with `@`).

use std::ffi::OsStr;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

/// A connection to systemd's notify socket.
#[derive(Debug)]
pub struct SdNotify {
    addr: SocketAddr,
    sock: UnixDatagram,
}

impl SdNotify {
    /// From `NOTIFY_SOCKET`; `None` when it is unset or empty (not run by systemd).
    pub fn from_env() -> Option<io::Result<Self>> {
        let v = std::env::var_os("NOTIFY_SOCKET")?;
        if v.is_empty() {
            return None;
        }
        Some(Self::from_socket_value(&v))
    }

    /// From a `NOTIFY_SOCKET` value: `/run/systemd/notify` or `@abstract-name`.
    pub fn from_socket_value(value: &OsStr) -> io::Result<Self> {
        let bytes = value.as_bytes();
        let addr = match bytes.strip_prefix(b"@") {
            Some(name) => SocketAddr::from_abstract_name(name)?,
            None => SocketAddr::from_pathname(value)?,
        };
        let sock = UnixDatagram::unbound()?;
        sock.set_nonblocking(true)?;
        Ok(SdNotify { addr, sock })
    }

    /// Sends one message (newline-separated `KEY=VALUE` assignments).
    pub fn notify(&self, message: &str) -> io::Result<()> {
        self.sock
            .send_to_addr(message.as_bytes(), &self.addr)
            .map(|_| ())
    }

    /// `READY=1` with a status line.
    pub fn ready(&self, status: &str) -> io::Result<()> {
        self.notify(&format!("READY=1\nSTATUS={status}"))
    }

    /// `RELOADING=1` (send [`SdNotify::ready`] when the reload is done).
    pub fn reloading(&self) -> io::Result<()> {
        self.notify("RELOADING=1")
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) -> io::Result<()> {
        self.notify("STOPPING=1")
    }

    /// `WATCHDOG=1`.
    pub fn watchdog(&self) -> io::Result<()> {
        self.notify("WATCHDOG=1")
    }
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when it is set and `WATCHDOG_PID`
/// is unset or names `my_pid`.
pub fn watchdog_period(usec: Option<&str>, pid: Option<&str>, my_pid: u32) -> Option<Duration> {
    if let Some(p) = pid
        && p.trim().parse::<u32>().ok() != Some(my_pid)
    {
        return None;
    }
    let us: u64 = usec?.trim().parse().ok()?;
    (us > 0).then(|| Duration::from_micros(us / 2))
}

/// [`watchdog_period`] from the environment.
pub fn watchdog_period_from_env() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    watchdog_period(usec.as_deref(), pid.as_deref(), std::process::id())
}

/// Sends `WATCHDOG=1` every `period` until the task is aborted. The wiring should make sure
/// the task stops (or is not fed) when the daemon's loops are stuck; here it runs on the same
/// runtime as everything else, so a blocked runtime starves it and systemd restarts us.
pub fn spawn_watchdog(notify: Arc<SdNotify>, period: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut t = tokio::time::interval(period.max(Duration::from_millis(10)));
        loop {
            t.tick().await;
            if let Err(e) = notify.watchdog() {
                tracing::warn!("sd_notify WATCHDOG=1: {e}");
            }
        }
    })
}
