//! Running one external command without a shell: argv in, bounded by a timeout, in its own
//! process group so that a timeout kills the command and everything it started.

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// Bytes of stdout/stderr kept (the tail) for logs.
const OUTPUT_TAIL: usize = 4096;
/// How long to wait for output pipes after the process ended or was killed.
const DRAIN_GRACE: Duration = Duration::from_millis(200);
/// Environment variables of our own that children must not inherit.
const SCRUBBED_ENV: &[&str] = &[
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "LISTEN_FDS",
];

/// How a command run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// It exited (or was killed by a signal it did not get from us).
    Exited(ExitStatus),
    /// It ran past the timeout and was killed (SIGKILL to its process group).
    TimedOut,
    /// It could not be started.
    SpawnFailed(String),
}

/// The result of [`run`].
#[derive(Debug, Clone)]
pub struct CommandOutcome {
    /// How it ended.
    pub ended: Ended,
    /// How long it ran.
    pub elapsed: Duration,
    /// The last bytes of its stdout.
    pub stdout: String,
    /// The last bytes of its stderr.
    pub stderr: String,
}

impl CommandOutcome {
    /// True when it exited with status 0.
    pub fn success(&self) -> bool {
        matches!(&self.ended, Ended::Exited(s) if s.success())
    }

    /// A short description for logs and failure reasons: `exit status 1: <stderr tail>`.
    pub fn describe(&self) -> String {
        let base = match &self.ended {
            Ended::Exited(s) => match s.code() {
                Some(c) => format!("exit status {c}"),
                None => format!("{s}"),
            },
            Ended::TimedOut => format!("timed out after {:?}, killed", self.elapsed),
            Ended::SpawnFailed(e) => format!("could not start: {e}"),
        };
        let err = self.stderr.trim();
        if err.is_empty() {
            base
        } else {
            let last = err.lines().last().unwrap_or(err);
            format!("{base}: {last}")
        }
    }
}

/// Runs `argv` (no shell) with extra environment variables, waiting at most `timeout`. On
/// timeout the whole process group is killed. stdin is `/dev/null`.
pub async fn run(argv: &[String], env: &[(String, String)], timeout: Duration) -> CommandOutcome {
    let start = Instant::now();
    let Some((program, args)) = argv.split_first() else {
        return CommandOutcome {
            ended: Ended::SpawnFailed("empty argv".into()),
            elapsed: Duration::ZERO,
            stdout: String::new(),
            stderr: String::new(),
        };
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for k in SCRUBBED_ENV {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return CommandOutcome {
                ended: Ended::SpawnFailed(format!("{program}: {e}")),
                elapsed: start.elapsed(),
                stdout: String::new(),
                stderr: String::new(),
            };
        }
    };
    let pgid = child.id().and_then(|id| i32::try_from(id).ok());
    // If this future is dropped mid-run (a caller's own timeout), kill the whole group.
    let mut guard = GroupGuard(pgid);
    let out = child.stdout.take().map(|s| tokio::spawn(read_tail(s)));
    let err = child.stderr.take().map(|s| tokio::spawn(read_tail(s)));
    let ended = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => Ended::Exited(status),
        Ok(Err(e)) => Ended::SpawnFailed(format!("wait: {e}")),
        Err(_) => {
            if let Some(pg) = pgid {
                // The group may already be gone; nothing to do then.
                let _ = killpg(Pid::from_raw(pg), Signal::SIGKILL);
            }
            let _ = child.kill().await;
            Ended::TimedOut
        }
    };
    guard.0 = None;
    let elapsed = start.elapsed();
    // Grandchildren that outlive a normal exit may still hold the pipes: do not wait for them.
    let stdout = collect(out).await;
    let stderr = collect(err).await;
    CommandOutcome {
        ended,
        elapsed,
        stdout,
        stderr,
    }
}

/// Kills a process group when dropped while armed.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pg) = self.0 {
            let _ = killpg(Pid::from_raw(pg), Signal::SIGKILL);
        }
    }
}

async fn collect(task: Option<tokio::task::JoinHandle<String>>) -> String {
    let Some(mut t) = task else {
        return String::new();
    };
    match tokio::time::timeout(DRAIN_GRACE, &mut t).await {
        Ok(Ok(s)) => s,
        _ => {
            t.abort();
            String::new()
        }
    }
}

async fn read_tail<R: AsyncRead + Unpin>(mut r: R) -> String {
    let mut keep: Vec<u8> = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                keep.extend_from_slice(buf.get(..n).unwrap_or_default());
                if keep.len() > OUTPUT_TAIL {
                    let cut = keep.len() - OUTPUT_TAIL;
                    keep.drain(..cut);
                }
            }
        }
    }
    String::from_utf8_lossy(&keep).into_owned()
}
