//! vipd's run loop: metrics endpoint, control socket, sd_notify, signals and reload.
//!
//! The election instances themselves (vip-core runtime + vip-vrrp transport + vip-netlink
//! addressing + vip-pg probes) are assembled by [`crate::wiring`] and started and stopped in
//! `Daemon::start_instance` and `Daemon::stop_instance`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;
use vip_core::runtime::Runtime;

use crate::config::{self, Config, GlobalConfig, InstanceConfig, diff_instances};
use crate::control::{
    self, ControlHandler, DaemonInfo, ReloadReport, ReprobeHub, StatusBoard, StatusReport,
};
use crate::dump;
use crate::events::EventSink;
use crate::metrics::{self, Metrics};
use crate::sdnotify;
use crate::signals::{Action, Signals};
use crate::wiring::{self, InstanceTask};

/// One running instance: what the wiring needs to drive it.
#[derive(Debug)]
pub struct Running {
    /// Its config.
    pub config: Arc<InstanceConfig>,
    /// Where its events go (board, metrics, logs, notify hooks).
    pub events: EventSink,
    /// Fired by `vipctl reprobe` / repmgr events when it has a role probe.
    pub reprobe: Option<Arc<Notify>>,
    /// The supervised election instance (stopped with `on_stop`).
    pub task: InstanceTask,
}

/// The daemon's shared state; also the control socket's handler.
#[derive(Debug)]
pub struct Daemon {
    config_path: PathBuf,
    global: Mutex<GlobalConfig>,
    running: Mutex<BTreeMap<String, Running>>,
    /// What `status` reports.
    pub board: Arc<StatusBoard>,
    /// What `/metrics` serves.
    pub metrics: Arc<Metrics>,
    /// Reprobe signals for the role probes.
    pub reprobe: ReprobeHub,
    started: SystemTime,
    runtime: Arc<Runtime>,
}

impl Daemon {
    /// A daemon for `config` (read from `config_path`); nothing is started yet.
    pub fn new(config_path: &Path, config: &Config) -> Arc<Self> {
        Arc::new(Daemon {
            config_path: config_path.to_path_buf(),
            global: Mutex::new(config.global.clone()),
            running: Mutex::new(BTreeMap::new()),
            board: Arc::new(StatusBoard::new()),
            metrics: Arc::new(Metrics::new()),
            reprobe: ReprobeHub::new(),
            started: SystemTime::now(),
            // A timerfd per instance: one wake-up per advert (see vip_core::runtime).
            runtime: Arc::new(Runtime::new().kernel_timers(true)),
        })
    }

    /// Starts every instance of `config`.
    pub async fn start_all(&self, config: &Config) {
        let mut running = self.running.lock().await;
        for inst in &config.instances {
            let r = self.start_instance(inst);
            running.insert(inst.name.clone(), r);
        }
    }

    /// Starts one instance.
    fn start_instance(&self, inst: &InstanceConfig) -> Running {
        self.board.register(inst);
        self.metrics.add_instance(&inst.name, inst.priority.get());
        let reprobe = self.reprobe.register(&inst.name, inst.role.is_some());
        let config = Arc::new(inst.clone());
        let events = EventSink::spawn(config.clone(), self.board.clone(), self.metrics.clone());
        let task = InstanceTask::spawn(
            config.clone(),
            wiring::Context {
                runtime: self.runtime.clone(),
                events: events.clone(),
                metrics: self.metrics.clone(),
                board: self.board.clone(),
                reprobe: reprobe.clone(),
            },
        );
        tracing::info!(instance = %inst.name, interface = %inst.interface, vrid = inst.vrid, "instance started (state initialize)");
        Running {
            config,
            events,
            reprobe,
            task,
        }
    }

    /// The event sink of a running instance (for the wiring and tests).
    pub async fn events(&self, name: &str) -> Option<EventSink> {
        self.running
            .lock()
            .await
            .get(name)
            .map(|r| r.events.clone())
    }

    /// Stops one instance (graceful, per its `on_stop`).
    async fn stop_instance(&self, name: &str, r: Running) {
        r.task.stop(r.config.on_stop).await;
        tracing::info!(instance = %name, on_stop = ?r.config.on_stop, "instance stopped");
        self.reprobe.unregister(name);
    }

    /// Stops every instance (SIGTERM / SIGINT).
    pub async fn stop_all(&self) {
        let all = std::mem::take(&mut *self.running.lock().await);
        // Concurrently, so that every instance releases at once.
        futures::future::join_all(
            all.into_iter()
                .map(|(name, r)| async move { self.stop_instance(&name, r).await }),
        )
        .await;
    }

    /// Re-reads the config file and applies the difference: unchanged instances keep running
    /// untouched, changed ones restart, removed ones stop, new ones start. A config with errors
    /// changes nothing.
    /// systemd hears `RELOADING=1` before and `READY=1` after, whichever way the reload came
    /// (SIGHUP or `vipctl reload`).
    pub async fn reload(&self) -> Result<ReloadReport, String> {
        sdnotify::reloading();
        let r = self.reload_config().await;
        sdnotify::ready(&sdnotify::status_line(&ControlHandler::status(self).await));
        r
    }

    async fn reload_config(&self) -> Result<ReloadReport, String> {
        let new = config::load(&self.config_path).map_err(|e| {
            format!(
                "reload of {} refused, nothing changed:\n{e}",
                self.config_path.display()
            )
        })?;
        let mut running = self.running.lock().await;
        let old: Vec<InstanceConfig> = running.values().map(|r| (*r.config).clone()).collect();
        let diff = diff_instances(&old, &new.instances);
        let changed: Vec<String> = diff.changed.iter().map(|c| c.name.clone()).collect();
        for name in diff.removed.iter().chain(changed.iter()) {
            if let Some(r) = running.remove(name) {
                self.stop_instance(name, r).await;
            }
            if diff.removed.contains(name) {
                self.board.remove(name);
                self.metrics.remove_instance(name);
            }
        }
        for c in &diff.changed {
            tracing::info!(instance = %c.name, keys = ?c.keys, "instance config changed: restarting it");
        }
        for inst in &new.instances {
            if changed.contains(&inst.name) || diff.added.contains(&inst.name) {
                let r = self.start_instance(inst);
                running.insert(inst.name.clone(), r);
            }
        }
        let names: Vec<String> = new.instances.iter().map(|i| i.name.clone()).collect();
        self.board.reorder(&names);
        let needs_restart = global_changes(&*self.global.lock().await, &new.global);
        for k in &needs_restart {
            tracing::warn!("global.{k} changed: takes effect after a restart");
        }
        Ok(ReloadReport {
            unchanged: diff.unchanged,
            changed,
            added: diff.added,
            removed: diff.removed,
            needs_restart,
        })
    }
}

/// Global keys that differ (they take effect only after a restart).
pub fn global_changes(old: &GlobalConfig, new: &GlobalConfig) -> Vec<String> {
    let mut v = Vec::new();
    if old.log_format != new.log_format {
        v.push("log_format".to_owned());
    }
    if old.log_level != new.log_level {
        v.push("log_level".to_owned());
    }
    if old.metrics_listen != new.metrics_listen {
        v.push("metrics_listen".to_owned());
    }
    if old.control_socket != new.control_socket {
        v.push("control_socket".to_owned());
    }
    if old.sd_notify != new.sd_notify {
        v.push("sd_notify".to_owned());
    }
    v
}

#[async_trait]
impl ControlHandler for Daemon {
    async fn status(&self) -> StatusReport {
        StatusReport {
            daemon: DaemonInfo {
                pid: std::process::id(),
                version: env!("CARGO_PKG_VERSION").into(),
                config: self.config_path.display().to_string(),
                started_unix_ms: control::board_unix_ms(self.started),
            },
            instances: self.board.snapshot(),
        }
    }

    async fn reprobe(&self, instance: Option<String>) -> Result<Vec<String>, String> {
        let r = self.reprobe.trigger(instance.as_deref());
        match &r {
            Ok(names) => tracing::info!(instances = ?names, "reprobe requested"),
            Err(e) => tracing::warn!("reprobe request refused: {e}"),
        }
        r
    }

    async fn reload(&self) -> Result<ReloadReport, String> {
        Daemon::reload(self).await
    }
}

/// Services started by [`run`] that outlive startup.
struct Services {
    tasks: Vec<JoinHandle<()>>,
    control_path: PathBuf,
}

async fn start_services(daemon: &Arc<Daemon>, global: &GlobalConfig) -> Result<Services, String> {
    let mut tasks = Vec::new();
    if let Some(addr) = global.metrics_listen {
        let l = metrics::bind(addr).await.map_err(|e| e.to_string())?;
        tracing::info!(%addr, "metrics endpoint listening on /metrics");
        tasks.push(tokio::spawn(metrics::serve(l, daemon.metrics.clone())));
    }
    let l = control::bind(&global.control_socket)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(path = %global.control_socket.display(), "control socket listening");
    let handler: Arc<dyn ControlHandler> = daemon.clone();
    tasks.push(tokio::spawn(control::serve(l, handler)));
    Ok(Services {
        tasks,
        control_path: global.control_socket.clone(),
    })
}

/// Runs the daemon until a stop signal (see [`crate::signals`]): starts the metrics endpoint and
/// control socket, the instances, tells systemd it is ready, feeds the watchdog, reloads on
/// SIGHUP, dumps the status on SIGUSR1 and the counters on SIGUSR2.
pub async fn run(config_path: &Path, config: Config) -> Result<(), String> {
    let daemon = Daemon::new(config_path, &config);
    let mut signals = Signals::install().map_err(|e| e.to_string())?;

    let services = start_services(&daemon, &config.global).await?;
    daemon.start_all(&config).await;

    let mut sd_tasks = Vec::new();
    if sdnotify::enable(config.global.sd_notify) {
        let handler: Arc<dyn ControlHandler> = daemon.clone();
        sdnotify::ready(&sdnotify::status_line(&handler.status().await));
        sd_tasks.push(sdnotify::spawn_status(handler));
        if let Some(period) = sdnotify::watchdog_period() {
            tracing::info!(?period, "feeding the systemd watchdog");
            sd_tasks.push(sdnotify::spawn_watchdog(period));
        }
    }
    tracing::info!(config = %config_path.display(), instances = config.instances.len(), "vipd ready");

    loop {
        let (action, name) = signals.recv().await;
        match action {
            Action::Stop => {
                tracing::info!("{name}: stopping");
                break;
            }
            Action::Reload => {
                tracing::info!("{name}: reloading {}", config_path.display());
                match daemon.reload().await {
                    Ok(r) => {
                        tracing::info!(unchanged = ?r.unchanged, changed = ?r.changed, added = ?r.added, removed = ?r.removed, "reload done")
                    }
                    Err(e) => tracing::error!("{e}"),
                }
            }
            Action::DumpStatus => dump::status(&ControlHandler::status(&*daemon).await),
            Action::DumpCounters => dump::counters(&daemon.metrics.render()),
        }
    }

    sdnotify::stopping();
    daemon.stop_all().await;
    for t in sd_tasks.into_iter().chain(services.tasks) {
        t.abort();
    }
    let _ = std::fs::remove_file(&services.control_path);
    tracing::info!("vipd stopped");
    Ok(())
}
