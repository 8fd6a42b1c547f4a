//! systemd's notify protocol through the sd-notify crate: `READY=1`, `RELOADING=1` with
//! `MONOTONIC_USEC` (so `Type=notify-reload` works), `STOPPING=1`, `WATCHDOG=1`, and `STATUS=`
//! naming each instance's state, updated on every transition.
//!
//! Sending is a process-wide switch ([`enable`]): `NOTIFY_SOCKET` is process-wide too, and the
//! reload path (SIGHUP and `vipctl reload`) and the event path reach it without plumbing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::control::{ControlHandler, StatusReport};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Woken on every transition; the status task re-sends `STATUS=`.
static STATE_CHANGED: Notify = Notify::const_new();

/// Turns sending on when `wanted` (`global.sd_notify`) and `NOTIFY_SOCKET` is set and not
/// empty; returns whether it is on.
pub fn enable(wanted: bool) -> bool {
    let on = wanted && std::env::var_os("NOTIFY_SOCKET").is_some_and(|v| !v.is_empty());
    ENABLED.store(on, Ordering::Relaxed);
    on
}

/// Whether messages are sent.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn send(states: &[NotifyState]) {
    if !enabled() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        let what: Vec<String> = states.iter().map(ToString::to_string).collect();
        tracing::warn!("sd_notify {}: {e}", what.join(" "));
    }
}

/// `READY=1` with a status line.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `RELOADING=1` and `MONOTONIC_USEC` (send [`ready`] when the reload is done).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(e) => {
            tracing::warn!("CLOCK_MONOTONIC unreadable ({e}): RELOADING=1 without MONOTONIC_USEC");
            send(&[NotifyState::Reloading]);
        }
    }
}

/// `STOPPING=1`.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// `WATCHDOG=1`.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// Tells the status task that an instance changed state (cheap; a no-op when nothing listens).
pub fn state_changed() {
    STATE_CHANGED.notify_one();
}

/// The `STATUS=` line: each instance with its state, in config order (`db: master, web: backup`).
pub fn status_line(report: &StatusReport) -> String {
    if report.instances.is_empty() {
        return "no instances".to_owned();
    }
    let parts: Vec<String> = report
        .instances
        .iter()
        .map(|i| format!("{}: {}", i.name, i.state))
        .collect();
    parts.join(", ")
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when it is set for this process.
pub fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| d / 2)
}

/// Sends `WATCHDOG=1` every `period` until the task is aborted. It runs on the same runtime as
/// everything else, so a blocked runtime starves it and systemd restarts vipd.
pub fn spawn_watchdog(period: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut t = tokio::time::interval(period.max(Duration::from_millis(10)));
        loop {
            t.tick().await;
            watchdog();
        }
    })
}

/// Sends `STATUS=` (each instance's state) whenever [`state_changed`] is called and the line
/// differs from the last one sent, until the task is aborted.
pub fn spawn_status(handler: Arc<dyn ControlHandler>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = String::new();
        loop {
            STATE_CHANGED.notified().await;
            let line = status_line(&handler.status().await);
            if line != last {
                send(&[NotifyState::Status(&line)]);
                last = line;
            }
        }
    })
}
