//! [`InstanceTask`]: starts one instance from its config, keeps its edges connected, and stops
//! it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;
use vip_core::election::Event;
use vip_core::election::StopMode;
use vip_core::runtime::{InstanceHandle, Runtime};
use vip_netlink::{NetlinkAddressManager, Watcher};
use vip_vrrp::socket::Transport;

use super::build::{BuildError, manager_config, transport_config};
use crate::config::{InstanceConfig, RoleConfig};
use crate::control::StatusBoard;
use crate::events::EventSink;
use crate::metrics::Metrics;

/// How long a failed start waits before it tries again.
const RETRY: Duration = Duration::from_secs(1);
/// How long a stopped instance's remaining events may take to reach the sinks.
const DRAIN: Duration = Duration::from_secs(2);

/// What an instance needs from the daemon.
#[derive(Debug, Clone)]
pub struct Context {
    /// The runtime the election instance is spawned on.
    pub runtime: Arc<Runtime>,
    /// Where its events go.
    pub events: EventSink,
    /// The daemon's metrics.
    pub metrics: Arc<Metrics>,
    /// The daemon's status board (the current master is kept up to date here).
    pub board: Arc<StatusBoard>,
    /// Fired by `vipctl reprobe` and repmgr events when the instance has a role probe.
    pub reprobe: Option<Arc<Notify>>,
}

/// One supervised instance. Dropping it without [`InstanceTask::stop`] leaves the supervisor
/// running; stop it.
#[derive(Debug)]
pub struct InstanceTask {
    name: String,
    stop: watch::Sender<Option<StopMode>>,
    join: JoinHandle<()>,
}

impl InstanceTask {
    /// Starts supervising instance `config` on the current tokio runtime. A start that fails
    /// for a reason that may go away (missing interface, no source address, a socket that
    /// cannot be opened yet) is logged and retried every second; a config problem is logged
    /// once and the instance stays down until the next reload.
    pub fn spawn(config: Arc<InstanceConfig>, ctx: Context) -> Self {
        let (tx, rx) = watch::channel(None);
        let name = config.name.clone();
        let join = tokio::spawn(supervise(config, ctx, rx));
        InstanceTask {
            name,
            stop: tx,
            join,
        }
    }

    /// The instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops the instance per `mode` and waits until it has stopped: with
    /// [`StopMode::Release`] its VIPs are removed and a priority-0 advert sent.
    pub async fn stop(self, mode: StopMode) {
        let _ = self.stop.send(Some(mode));
        if let Err(e) = self.join.await {
            tracing::error!(instance = %self.name, "instance supervisor ended abnormally: {e}");
        }
    }
}

/// Why a running instance ended.
enum Ended {
    /// Stopped on request.
    Stopped,
    /// An edge broke; the instance was released and will be restarted.
    Failed(String),
}

/// The parts of a started instance.
struct Started {
    handle: InstanceHandle,
    events: broadcast::Receiver<Event>,
    transport: Arc<Transport>,
    manager: Arc<NetlinkAddressManager>,
    watcher: Watcher,
}

async fn supervise(
    config: Arc<InstanceConfig>,
    ctx: Context,
    mut stop: watch::Receiver<Option<StopMode>>,
) {
    let name = config.name.clone();
    let mut last_error: Option<String> = None;
    loop {
        if stop.borrow().is_some() {
            return;
        }
        match start(&config, &ctx).await {
            Ok(started) => {
                last_error = None;
                match run(&config, &ctx, started, &mut stop).await {
                    Ended::Stopped => return,
                    Ended::Failed(why) => {
                        tracing::error!(instance = %name, "{why}; instance released, restarting it in {RETRY:?}");
                    }
                }
            }
            Err(e) if !e.is_retryable() => {
                tracing::error!(instance = %name, "instance not started: {e} (fix the config and reload)");
                let _ = stop.wait_for(Option::is_some).await;
                return;
            }
            Err(e) => {
                let text = e.to_string();
                if last_error.as_deref() != Some(text.as_str()) {
                    tracing::warn!(instance = %name, "instance cannot start yet: {text}; retrying every {RETRY:?}");
                } else {
                    tracing::debug!(instance = %name, "instance still cannot start: {text}");
                }
                last_error = Some(text);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Builds the backends and spawns the election instance.
async fn start(config: &InstanceConfig, ctx: &Context) -> Result<Started, BuildError> {
    let name = config.name.as_str();
    let transport = Arc::new(Transport::new(transport_config(config)?)?);
    let manager = Arc::new(
        NetlinkAddressManager::new(manager_config(config)).map_err(BuildError::Addresses)?,
    );
    let watcher = manager
        .watch(&config.interface)
        .await
        .map_err(BuildError::Addresses)?;

    let role = config
        .role
        .as_ref()
        .map(RoleConfig::build_probe)
        .transpose()?;
    let mut spec = config
        .to_instance_spec(
            transport.source(),
            manager.clone(),
            transport.clone(),
            role,
            &ctx.metrics,
        )
        .map_err(BuildError::Spawn)?
        // The instance task reads the socket itself: one wake-up per received advert.
        .advert_source(transport.clone())
        // The events task drains each instance's events on the same thread, so a short
        // backlog does (the channel's slots are allocated up front: with many instances the
        // default 256 costs megabytes).
        .event_capacity(64);
    if transport.supports_steady() {
        // An idle master's adverts and an idle backup's receptions on the interface's receive
        // thread, while the async runtime sleeps (see vip_core::runtime::steady).
        spec = spec.steady_loop(transport.clone());
    }
    // Subscribed before the instance starts: the first transitions reach the sinks too.
    let (handle, events) = ctx
        .runtime
        .spawn_with_events(spec)
        .map_err(BuildError::Spawn)?;
    tracing::info!(
        instance = %name, interface = %config.interface, vrid = config.vrid,
        source = %transport.source(), "election instance started"
    );
    Ok(Started {
        handle,
        events,
        transport,
        manager,
        watcher,
    })
}

/// Connects the started instance's edges and runs until a stop is asked for or an edge breaks.
async fn run(
    config: &Arc<InstanceConfig>,
    ctx: &Context,
    started: Started,
    stop: &mut watch::Receiver<Option<StopMode>>,
) -> Ended {
    let Started {
        handle,
        mut events,
        transport,
        manager,
        watcher,
    } = started;
    let name = config.name.clone();

    // Events -> logs, board, metrics, notify hooks (in order; they never steer the machine).
    let sink = ctx.events.clone();
    let events_task = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => sink.emit(&event),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(instance = %sink.config().name, missed = n, "event consumer fell behind; {n} events not logged");
                }
                Err(RecvError::Closed) => break,
            }
        }
    });

    let mut side: Vec<JoinHandle<()>> = Vec::new();

    // Status snapshots -> the board (state, effective priority, current master).
    let mut status = handle.watch_status();
    let board = ctx.board.clone();
    side.push(tokio::spawn(async move {
        loop {
            board.apply_status(&status.borrow_and_update());
            if status.changed().await.is_err() {
                break;
            }
        }
    }));

    // Reprobe requests -> the role probe.
    if let Some(signal) = ctx.reprobe.clone() {
        let h = handle.clone();
        side.push(tokio::spawn(async move {
            loop {
                signal.notified().await;
                h.reprobe();
            }
        }));
    }

    // Transport counters -> metrics, read at each scrape.
    ctx.metrics
        .attach_transport(&name, &config.interface, transport.stats());
    ctx.metrics
        .attach_receive_path(&config.interface, transport.receiver().stats());

    let (fail_tx, mut fail_rx) = tokio::sync::mpsc::unbounded_channel::<String>();

    // Link and address events -> the instance; a watcher that loses notifications is replaced.
    let watch_task = {
        let (m, h, fail) = (manager.clone(), handle.clone(), fail_tx);
        let iface = config.interface.clone();
        tokio::spawn(async move {
            let mut watcher = watcher;
            while watcher.feed(&h, |_| {}).await {
                tracing::warn!(interface = %iface, "netlink watcher lost notifications; re-subscribing");
                match m.watch(&iface).await {
                    Ok(w) => watcher = w,
                    Err(e) => {
                        let _ = fail.send(format!("cannot watch {iface}: {e}"));
                        return;
                    }
                }
            }
        })
    };

    let (mode, ended) = tokio::select! {
        asked = stop.wait_for(Option::is_some) => {
            let mode = asked.ok().and_then(|m| *m).unwrap_or(config.on_stop);
            (mode, Ended::Stopped)
        }
        why = fail_rx.recv() => {
            (StopMode::Release, Ended::Failed(why.unwrap_or_else(|| "instance edges ended".into())))
        }
        // Only a broken VRRP socket stops an instance on its own (it has released by then).
        _ = handle.stopped() => {
            (StopMode::Release, Ended::Failed("VRRP socket failed (see the error above)".into()))
        }
    };
    let last = handle.stop(mode).await;
    watch_task.abort();
    for t in side {
        t.abort();
    }
    if tokio::time::timeout(DRAIN, events_task).await.is_err() {
        tracing::warn!(instance = %name, "events of the stopped instance not drained in {DRAIN:?}");
    }
    ctx.metrics.detach_transport(&name);
    tracing::info!(
        instance = %name, mode = ?mode, state = %last.state, holds_vips = last.holds_vips,
        "election instance stopped"
    );
    ended
}
