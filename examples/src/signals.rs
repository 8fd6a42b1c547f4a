//! What vipd does on each signal. Every signal whose default action ends the process is either
//! handled here or named in [`LEFT_AT_DEFAULT`] with the reason, so that a stray `kill -USR1`
//! (keepalived's "dump your state") never leaves the VIP on a node without a daemon.
//!
//! | signal | action |
//! |---|---|
//! | `TERM`, `INT`, `QUIT`, `PWR`, `XCPU` | stop gracefully per `on_stop` (release: remove the VIPs, send priority 0) |
//! | `HUP` | reload the config |
//! | `USR1` | log every instance's status (one line each) |
//! | `USR2` | log the counters (the metrics' counter samples) |
//! | `PIPE` | ignored (`SIG_IGN`, as the Rust runtime sets it) |
//! | `ALRM`, `VTALRM`, `PROF`, `IO`, `STKFLT`, `XFSZ`, `SIGRTMIN`..`SIGRTMAX` | ignored (logged) |
//! | `KILL`, `SEGV`, `ILL`, `FPE`, `BUS`, `TRAP`, `SYS`, `ABRT` | default: see [`LEFT_AT_DEFAULT`] |
//!
//! The handlers are tokio's (a flag and a wake-up): a program that vipd starts (a check, a hook,
//! the fencer) gets the default dispositions back at `exec`, as it expects.

use std::future::poll_fn;
use std::io;
use std::task::Poll;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// What a handled signal asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stop gracefully: every instance per its `on_stop`.
    Stop,
    /// Re-read the config file.
    Reload,
    /// Log every instance's status.
    DumpStatus,
    /// Log the counters.
    DumpCounters,
}

/// The signals vipd acts on, with their names (as `kill -l` spells them).
pub const HANDLED: &[(libc::c_int, &str, Action)] = &[
    (libc::SIGTERM, "SIGTERM", Action::Stop),
    (libc::SIGINT, "SIGINT", Action::Stop),
    (libc::SIGQUIT, "SIGQUIT", Action::Stop),
    // Power failure (sent by UPS daemons): stopping releases the VIP to a node that stays up.
    (libc::SIGPWR, "SIGPWR", Action::Stop),
    // The CPU-time soft limit: stop cleanly before the hard limit's SIGKILL.
    (libc::SIGXCPU, "SIGXCPU", Action::Stop),
    (libc::SIGHUP, "SIGHUP", Action::Reload),
    (libc::SIGUSR1, "SIGUSR1", Action::DumpStatus),
    (libc::SIGUSR2, "SIGUSR2", Action::DumpCounters),
];

/// Signals vipd ignores (each occurrence is logged, except `PIPE`, which the Rust runtime sets
/// to `SIG_IGN`). `XFSZ`: an over-long write then fails with `EFBIG` instead.
pub const IGNORED: &[(libc::c_int, &str)] = &[
    (libc::SIGPIPE, "SIGPIPE"),
    (libc::SIGALRM, "SIGALRM"),
    (libc::SIGVTALRM, "SIGVTALRM"),
    (libc::SIGPROF, "SIGPROF"),
    (libc::SIGIO, "SIGIO"),
    (libc::SIGSTKFLT, "SIGSTKFLT"),
    (libc::SIGXFSZ, "SIGXFSZ"),
];

/// Signals that end the process and are left at their default action, with the reason.
pub const LEFT_AT_DEFAULT: &[(libc::c_int, &str, &str)] = &[
    (libc::SIGKILL, "SIGKILL", "cannot be caught"),
    (
        libc::SIGSEGV,
        "SIGSEGV",
        "a memory fault: the process cannot go on (tokio refuses a handler)",
    ),
    (
        libc::SIGILL,
        "SIGILL",
        "an illegal instruction (as SIGSEGV)",
    ),
    (libc::SIGFPE, "SIGFPE", "an arithmetic fault (as SIGSEGV)"),
    (
        libc::SIGBUS,
        "SIGBUS",
        "a bus error: a handler that returns re-runs the faulting access forever",
    ),
    (
        libc::SIGTRAP,
        "SIGTRAP",
        "a debugger's breakpoint (as SIGBUS)",
    ),
    (libc::SIGSYS, "SIGSYS", "a bad system call (as SIGBUS)"),
    (
        libc::SIGABRT,
        "SIGABRT",
        "abort(): the process already decided to end",
    ),
];

/// The real-time signals vipd may handle: `SIGRTMIN()..=SIGRTMAX()` (the C library keeps the
/// ones below `SIGRTMIN()` for itself).
pub fn realtime() -> std::ops::RangeInclusive<libc::c_int> {
    libc::SIGRTMIN()..=libc::SIGRTMAX()
}

/// The installed handlers.
#[derive(Debug)]
pub struct Signals {
    handled: Vec<(Signal, &'static str, Action)>,
}

impl Signals {
    /// Installs every handler: the handled signals here, the ignored ones on a task that logs
    /// them. Call inside the tokio runtime, before anything can send a signal.
    pub fn install() -> io::Result<Signals> {
        let mut handled = Vec::with_capacity(HANDLED.len());
        for &(sig, name, action) in HANDLED {
            let s = signal(SignalKind::from_raw(sig))
                .map_err(|e| io::Error::new(e.kind(), format!("{name} handler: {e}")))?;
            handled.push((s, name, action));
        }
        let mut ignored = Vec::new();
        // SIGPIPE stays as the Rust runtime set it before `main` (SIG_IGN, no wake-up at all):
        // a control client that hangs up is an error on that connection only.
        for &(sig, name) in IGNORED.iter().filter(|s| s.0 != libc::SIGPIPE) {
            ignored.push((signal(SignalKind::from_raw(sig))?, name.to_owned()));
        }
        for sig in realtime() {
            let name = format!("SIGRTMIN+{}", sig - libc::SIGRTMIN());
            ignored.push((signal(SignalKind::from_raw(sig))?, name));
        }
        tokio::spawn(async move {
            loop {
                let name = next(&mut ignored).await;
                tracing::info!("{name}: ignored");
            }
        });
        Ok(Signals { handled })
    }

    /// Waits for the next handled signal: what to do, and the signal's name.
    pub async fn recv(&mut self) -> (Action, &'static str) {
        poll_fn(|cx| {
            for (s, name, action) in &mut self.handled {
                if s.poll_recv(cx).is_ready() {
                    return Poll::Ready((*action, *name));
                }
            }
            Poll::Pending
        })
        .await
    }
}

/// The next signal among `signals` (its name).
async fn next(signals: &mut [(Signal, String)]) -> String {
    poll_fn(|cx| {
        for (s, name) in signals.iter_mut() {
            if s.poll_recv(cx).is_ready() {
                return Poll::Ready(name.clone());
            }
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signals 1..=31 whose default action is to terminate or dump core (signal(7)).
    const ENDS_THE_PROCESS: &[libc::c_int] = &[
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGILL,
        libc::SIGTRAP,
        libc::SIGABRT,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGKILL,
        libc::SIGUSR1,
        libc::SIGSEGV,
        libc::SIGUSR2,
        libc::SIGPIPE,
        libc::SIGALRM,
        libc::SIGTERM,
        libc::SIGSTKFLT,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
        libc::SIGSYS,
    ];

    #[test]
    fn every_signal_that_ends_the_process_has_a_disposition() {
        for sig in ENDS_THE_PROCESS {
            let n = HANDLED.iter().filter(|h| h.0 == *sig).count()
                + IGNORED.iter().filter(|h| h.0 == *sig).count()
                + LEFT_AT_DEFAULT.iter().filter(|h| h.0 == *sig).count();
            assert_eq!(n, 1, "signal {sig} must be in exactly one table");
        }
        assert!(realtime().count() >= 8);
        assert!(
            *realtime().start() > 32,
            "glibc's own signals are never taken"
        );
    }
}
