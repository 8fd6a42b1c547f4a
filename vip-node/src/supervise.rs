//! Restart supervision: keeps one instance running from its [`Parts`] until asked to stop. A
//! start that fails for a reason that may go away (an interface that does not exist yet, no
//! address to send from) is retried every second; an instance whose socket broke or whose
//! watcher could not re-subscribe is released and rebuilt.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use vip_core::election::StopMode;

use crate::build::{Parts, Started, start};
use crate::events::EventSink;
use crate::left_behind;

/// How long a failed start waits before it tries again.
pub(crate) const RETRY: Duration = Duration::from_secs(1);

/// Why the instance is not running, shared with the handle.
pub(crate) type LastError = Arc<Mutex<Option<String>>>;

/// Why a running instance ended.
enum Ended {
    /// Stopped on request.
    Stopped,
    /// An edge broke; the instance was released and will be restarted.
    Failed(String),
}

/// Runs the instance (from `first` if already started), its events going to `events`, until a
/// stop is asked for.
pub(crate) async fn supervise(
    parts: Parts,
    events: EventSink,
    mut first: Option<Started>,
    mut stop: watch::Receiver<Option<StopMode>>,
    last_error: LastError,
) {
    let name = parts.config.name.clone();
    let set_error = |e: Option<String>| {
        *last_error.lock().unwrap_or_else(|p| p.into_inner()) = e;
    };
    let mut last: Option<String> = None;
    loop {
        if stop.borrow().is_some() {
            return;
        }
        let started = match first.take() {
            Some(s) => Ok(s),
            None => start(&parts, &events).await,
        };
        match started {
            Ok(started) => {
                last = None;
                set_error(None);
                match run(&parts, started, &mut stop).await {
                    Ended::Stopped => return,
                    Ended::Failed(why) => {
                        tracing::error!(instance = %name, "{why}; instance released, restarting it in {RETRY:?}");
                        set_error(Some(why));
                    }
                }
            }
            Err(e) if !e.is_retryable() => {
                tracing::error!(instance = %name, "instance not started: {e} (fix the config)");
                set_error(Some(e.to_string()));
                let _ = stop.wait_for(Option::is_some).await;
                return;
            }
            Err(e) => {
                let text = e.to_string();
                if last.as_deref() != Some(text.as_str()) {
                    tracing::warn!(instance = %name, "instance cannot start yet: {text}; retrying every {RETRY:?}");
                } else {
                    tracing::debug!(instance = %name, "instance still cannot start: {text}");
                }
                set_error(Some(text.clone()));
                last = Some(text);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Connects the started instance's edges and runs until a stop is asked for or an edge breaks.
/// (Its events reach the sink from the instance's own task, see `build::start`.)
async fn run(
    parts: &Parts,
    started: Started,
    stop: &mut watch::Receiver<Option<StopMode>>,
) -> Ended {
    let Started {
        handle,
        manager,
        watcher,
    } = started;
    let config = &parts.config;

    // Link and address events -> the instance; a watcher that loses notifications is replaced.
    let remover = Arc::clone(&manager);
    let mut watch_task = {
        let (h, iface) = (handle.clone(), config.interface.clone());
        tokio::spawn(async move {
            manager
                .follow_with(watcher, &iface, &h)
                .await
                .map_err(|e| format!("cannot watch {iface}: {e}"))
        })
    };

    let (mode, ended) = tokio::select! {
        asked = stop.wait_for(Option::is_some) => {
            let mode = asked.ok().and_then(|m| *m).unwrap_or(config.on_stop);
            (mode, Ended::Stopped)
        }
        why = &mut watch_task => {
            let why = match why {
                Ok(Err(e)) => e,
                // The watcher ends by itself only once the instance has stopped.
                Ok(Ok(())) => "VRRP socket failed (see the error above)".into(),
                Err(e) => format!("link watcher ended: {e}"),
            };
            (StopMode::Release, Ended::Failed(why))
        }
        // Only a broken VRRP socket stops an instance on its own (it has released by then).
        _ = handle.stopped() => {
            (StopMode::Release, Ended::Failed("VRRP socket failed (see the error above)".into()))
        }
    };
    let last = handle.stop(mode).await;
    watch_task.abort();
    if mode == StopMode::Release && last.holds_vips {
        left_behind::remove(&*remover, &config.name, &config.vips).await;
    }
    parts.observer.transport_closed(&config.name);
    tracing::info!(
        instance = %config.name, mode = ?mode, state = %last.state, holds_vips = last.holds_vips,
        "election instance stopped"
    );
    ended
}
