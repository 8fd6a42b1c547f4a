//! A real keepalived (2.2.7, Debian package) as a lab peer.
//!
//! [`Keepalived::start`] writes the caller's configuration into a fresh directory of its own,
//! removes stale pid files, and runs
//! `ip netns exec NS keepalived -n -l -D -P -f CONF -p PID -r VRRP_PID` with its console log
//! (`-l`) captured to a file. The test can wait for log lines, read the log, stop keepalived
//! gracefully (SIGTERM: it sends priority 0, then removes its VIPs) or kill it (SIGKILL: the VIPs
//! stay on the interface). Dropping the runner kills keepalived if it still runs and removes the
//! directory, unless the thread is panicking: then the directory and its log are kept and their
//! path is printed, so a failed test leaves keepalived's log behind for reading.
//!
//! ```no_run
//! # fn main() -> Result<(), vip_core::lab::LabError> {
//! use std::time::Duration;
//! use vip_core::lab::{Keepalived, Lab};
//! let Some(mut lab) = Lab::new_or_skip("doc_keepalived")? else { return Ok(()) };
//! let a = lab.namespace("a")?;
//! lab.segment(&[&a])?;
//! let conf = "vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n \
//!             advert_int 1\n virtual_ipaddress {\n  198.51.100.100/32 dev eth0\n }\n}\n";
//! let mut k = Keepalived::start(&a, "k1", conf)?;
//! k.wait_for_log("Entering MASTER STATE", Duration::from_secs(5))?;
//! k.stop(Duration::from_secs(5))?;
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::{LabError, LabProcess, Ns};

/// The keepalived binary (Debian's path).
pub const KEEPALIVED_BIN: &str = "/usr/sbin/keepalived";

/// Substrings of keepalived 2.2.7 log lines that report a received VRRP packet it rejected or
/// a configuration mismatch with its peers (bad checksum, TTL, authentication, version, VRID
/// length, address list or interval). An interop test asserts none of them appear.
pub const PACKET_ERROR_PATTERNS: &[&str] = &[
    // "(VI_1) invalid TTL/HL. Received 64 and expect 255", "Invalid VRRPv2 checksum",
    // "received an invalid passwd!"
    "invalid",
    "Invalid",
    "checksum",
    "TTL",
    "passwd",
    "auth",
    // "advertisement interval mismatch mine=1 sec rcv'd=2 sec"
    "mismatch",
    // "ip address associated with VRID 51 not present in MASTER advert: 198.51.100.100"
    "ip address associated",
    "bogus",
    "too short",
    "wrong",
    "unknown",
];

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A keepalived process running in a lab namespace, with its own configuration, pid files and
/// captured log.
#[derive(Debug)]
pub struct Keepalived {
    process: LabProcess,
    dir: PathBuf,
    conf: PathBuf,
    log: PathBuf,
    ns: String,
}

impl Keepalived {
    /// True if the keepalived binary is installed. Tests that need it skip politely otherwise.
    pub fn available() -> bool {
        Path::new(KEEPALIVED_BIN).exists()
    }

    /// Starts keepalived in `ns` with the configuration text `config`. `name` (letters, digits,
    /// `-` or `_`) tells instances apart in file names. The files live in a new directory under
    /// the system temp dir, whose pid files are removed before the start so that keepalived
    /// never refuses with "daemon is already running" (namespaces share `/run`).
    pub fn start(ns: &Ns, name: &str, config: &str) -> Result<Keepalived, LabError> {
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "vip-keepalived-{}-{name}-{}-{seq}",
            ns.name(),
            std::process::id()
        ));
        let io = |context: String| move |source| LabError::Io { context, source };
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(format!("removing {}", dir.display())))?;
        }
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        let conf = dir.join("keepalived.conf");
        let log = dir.join("keepalived.log");
        let pid = dir.join("keepalived.pid");
        let vrrp_pid = dir.join("vrrp.pid");
        std::fs::write(&conf, config).map_err(io(format!("writing {}", conf.display())))?;
        for stale in [&pid, &vrrp_pid] {
            match std::fs::remove_file(stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io(format!("removing {}", stale.display()))(e));
                }
                _ => {}
            }
        }
        let path = |p: &Path| p.to_string_lossy().into_owned();
        let (conf_s, pid_s, vrrp_s) = (path(&conf), path(&pid), path(&vrrp_pid));
        let argv = [
            KEEPALIVED_BIN,
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            &conf_s,
            "-p",
            &pid_s,
            "-r",
            &vrrp_s,
        ];
        let process = ns.spawn(&argv, Some(&log))?;
        Ok(Keepalived {
            process,
            dir,
            conf,
            log,
            ns: ns.name().to_string(),
        })
    }

    /// The pid of the keepalived parent process.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The namespace it runs in.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The path of its captured console log.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The path of its configuration file.
    pub fn config_path(&self) -> &Path {
        &self.conf
    }

    /// The log so far (empty if nothing was written yet).
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The log lines that contain any of `patterns`.
    pub fn log_lines_matching(&self, patterns: &[&str]) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| patterns.iter().any(|p| l.contains(p)))
            .map(str::to_string)
            .collect()
    }

    /// The log lines that report rejected packets or peer mismatches
    /// ([`PACKET_ERROR_PATTERNS`]).
    pub fn packet_errors(&self) -> Vec<String> {
        self.log_lines_matching(PACKET_ERROR_PATTERNS)
    }

    /// How many log lines contain `needle`.
    pub fn count_in_log(&self, needle: &str) -> usize {
        self.log().lines().filter(|l| l.contains(needle)).count()
    }

    /// Waits until the log contains `needle` at least `count` times, polling every 20 ms.
    ///
    /// # Errors
    /// A timed-out [`LabError::Io`] carrying the end of the log, or an early-exit error if
    /// keepalived exits first.
    pub fn wait_for_log_count(
        &mut self,
        needle: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<(), LabError> {
        let start = Instant::now();
        loop {
            if self.count_in_log(needle) >= count {
                return Ok(());
            }
            if self.process.has_exited() {
                // One last look: the line may have been written just before the exit.
                if self.count_in_log(needle) >= count {
                    return Ok(());
                }
                return Err(self.failure(needle, "keepalived exited", std::io::ErrorKind::Other));
            }
            if start.elapsed() >= timeout {
                return Err(self.failure(
                    needle,
                    &format!("timed out after {timeout:?}"),
                    std::io::ErrorKind::TimedOut,
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the log contains `needle`, polling every 20 ms.
    ///
    /// # Errors
    /// As [`Keepalived::wait_for_log_count`].
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<(), LabError> {
        self.wait_for_log_count(needle, 1, timeout)
    }

    fn failure(&self, needle: &str, what: &str, kind: std::io::ErrorKind) -> LabError {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines
            .get(lines.len().saturating_sub(15)..)
            .unwrap_or_default()
            .join("\n");
        LabError::Io {
            context: format!(
                "waiting for {needle:?} in keepalived log {}: {what}; log tail:\n{tail}",
                self.log.display()
            ),
            source: std::io::Error::from(kind),
        }
    }

    /// True while keepalived runs.
    pub fn is_running(&mut self) -> bool {
        !self.process.has_exited()
    }

    /// Graceful stop: SIGTERM (keepalived sends priority 0, then removes its VIPs), then waits
    /// up to `timeout` for it to exit.
    ///
    /// # Errors
    /// A timed-out [`LabError::Io`] if it is still running after `timeout` (it is then
    /// killed, so that the pid files are free again).
    pub fn stop(&mut self, timeout: Duration) -> Result<(), LabError> {
        if self.process.has_exited() {
            return Ok(());
        }
        let _ = self.process.signal(Signal::SIGTERM);
        if self.process.wait_timeout(timeout) {
            return Ok(());
        }
        self.kill();
        Err(LabError::Io {
            context: format!("keepalived in {} did not exit within {timeout:?}", self.ns),
            source: std::io::Error::from(std::io::ErrorKind::TimedOut),
        })
    }

    /// SIGKILL to the parent and its VRRP child (keepalived leaves its VIPs on the interface),
    /// then waits for the parent to exit.
    pub fn kill(&mut self) {
        // The VRRP child would otherwise notice its parent's death and clean up, and the parent
        // would restart a dead child: freeze the parent, SIGKILL the child, then the parent, so
        // that the VIPs stay as after a crash of the whole daemon.
        let _ = self.process.signal(Signal::SIGSTOP);
        if let Some(raw) = self.vrrp_child_pid().and_then(|c| i32::try_from(c).ok()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), Signal::SIGKILL);
        }
        let _ = self.process.signal(Signal::SIGKILL);
        let _ = self.process.wait_timeout(Duration::from_secs(5));
    }

    /// The pid of keepalived's VRRP child process, read from its pid file, if it runs.
    pub fn vrrp_child_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("vrrp.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        if !self.process.has_exited() {
            self.kill();
        }
        if std::thread::panicking() {
            eprintln!(
                "keepalived files (log, config) kept in {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
