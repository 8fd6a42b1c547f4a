//! Processes started inside lab namespaces.

use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A process started with [`super::Ns::spawn`]. The lab kills it when dropped; the test may
/// signal or wait for it before that.
#[derive(Debug)]
pub struct LabProcess {
    child: Child,
}

impl LabProcess {
    pub(super) fn new(child: Child) -> Self {
        LabProcess { child }
    }

    /// The pid of the process (`ip netns exec` execs the command, so this is the command itself).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (for example `Signal::SIGSTOP`).
    pub fn signal(&self, signal: Signal) -> std::io::Result<()> {
        let pid = i32::try_from(self.child.id()).map_err(std::io::Error::other)?;
        kill(Pid::from_raw(pid), signal).map_err(|e| std::io::Error::from_raw_os_error(e as i32))
    }

    /// True if it has exited.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits up to `limit` for it to exit; returns whether it did.
    pub fn wait_timeout(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.has_exited() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.has_exited()
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`. Waits for it.
    pub fn stop(&mut self, grace: Duration) {
        let _ = self.signal(Signal::SIGCONT);
        let _ = self.signal(Signal::SIGTERM);
        if !self.wait_timeout(grace) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Ends a lab process by pid: SIGCONT (it may be frozen), SIGTERM, then SIGKILL after 2 s.
pub(super) fn terminate(pid: u32) {
    let Ok(raw) = i32::try_from(pid) else { return };
    let pid = Pid::from_raw(raw);
    if kill(pid, None).is_err() {
        return;
    }
    let _ = kill(pid, Signal::SIGCONT);
    let _ = kill(pid, Signal::SIGTERM);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        if kill(pid, None).is_err() || is_zombie(raw) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = kill(pid, Signal::SIGKILL);
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .map(|r| r.trim_start().starts_with('Z'))
                .unwrap_or(true)
        })
        .unwrap_or(true)
}
