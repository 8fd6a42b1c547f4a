//! vipd's run loop: metrics endpoint, control socket, sd_notify, signals and reload.
//!
//! The election instances themselves are assembled and supervised by `vip-node` (from
//! [`InstanceConfig::to_node`]) on one shared runtime, whose registry and `Status` serve
//! `status`; the daemon keeps one list, the running instances in config order, and reload
//! touches only that.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use vip_core::runtime::Runtime;
use vip_node::{NodeHandle, Observer};

use crate::config::{self, Config, GlobalConfig, InstanceConfig, diff_instances};
use crate::control::LbService;
use crate::control::{
    self, ControlHandler, DaemonInfo, InstanceStatus, ReloadReport, StatusReport, SwitchoverReport,
    planned,
};
use crate::dump;
use crate::lb::LoadBalancer;
use crate::metrics::{self, Metrics};
use crate::sdnotify;
use crate::signals::{Action, Signals};

/// One configured instance.
#[derive(Debug)]
pub struct Running {
    /// Its config.
    pub config: Arc<InstanceConfig>,
    /// The supervised instance, or why it could not be built (a role probe the config
    /// describes but vip-pg refuses, say: fix the config and reload).
    pub node: Result<NodeHandle, String>,
}

impl Running {
    fn status(&self, runtime: &Runtime) -> InstanceStatus {
        let (status, error) = match &self.node {
            Ok(n) => (n.status(), n.last_error()),
            Err(e) => (None, Some(e.clone())),
        };
        control::instance_status(&self.config, status.as_ref(), runtime.clock(), error)
    }

    /// Stops the instance per its `on_stop`; `retire` when the config no longer has it (its
    /// metrics series go too).
    async fn stop(self, retire: bool, observer: &dyn Observer) {
        let (name, mode) = (self.config.name.clone(), Some(self.config.on_stop));
        match self.node {
            Ok(node) if retire => node.retire(mode).await,
            Ok(node) => node.stop(mode).await,
            Err(_) if retire => observer.node_retired(&name),
            Err(_) => {}
        }
        tracing::info!(instance = %name, on_stop = ?self.config.on_stop, "instance stopped");
    }
}

/// The daemon's shared state; also the control socket's handler.
#[derive(Debug)]
pub struct Daemon {
    config_path: PathBuf,
    global: Mutex<GlobalConfig>,
    /// The instances, in config order.
    running: Mutex<Vec<Running>>,
    /// The load balancer of the `[[virtual_server]]` tables, if any (or why it is not running).
    lb: Mutex<Option<Result<LoadBalancer, String>>>,
    /// What `/metrics` serves (the instances' observer).
    pub metrics: Arc<Metrics>,
    started: SystemTime,
    runtime: Arc<Runtime>,
}

impl Daemon {
    /// A daemon for `config` (read from `config_path`); nothing is started yet.
    pub fn new(config_path: &Path, config: &Config) -> Arc<Self> {
        // A timerfd per instance: one wake-up per advert (see vip_core::runtime).
        let runtime = Arc::new(Runtime::new().kernel_timers(true));
        Arc::new(Daemon {
            config_path: config_path.to_path_buf(),
            global: Mutex::new(config.global.clone()),
            running: Mutex::new(Vec::new()),
            lb: Mutex::new(None),
            metrics: Arc::new(Metrics::for_runtime(runtime.clone())),
            started: SystemTime::now(),
            runtime,
        })
    }

    /// The runtime every instance runs on (its registry serves `status`).
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Starts every instance of `config`, then the load balancer of its virtual servers.
    pub async fn start_all(&self, config: &Config) {
        {
            let mut running = self.running.lock().await;
            for inst in &config.instances {
                running.push(self.start_instance(inst));
            }
        }
        self.start_lb(config).await;
    }

    /// Starts the load balancer for `config`'s virtual servers (none: nothing runs). A balancer
    /// that cannot start is logged and reported by `vipctl lb`; the instances run regardless.
    async fn start_lb(&self, config: &Config) {
        let started = LoadBalancer::start(&config.virtual_servers, &self.runtime).await;
        let mut lb = self.lb.lock().await;
        *lb = match started {
            Ok(None) => None,
            Ok(Some(b)) => {
                tracing::info!(
                    virtual_servers = b.config.len(),
                    "load balancer started (services inactive until their instance holds its VIPs)"
                );
                self.metrics.set_lb(Some(b.source()));
                Some(Ok(b))
            }
            Err(e) => {
                tracing::error!("{e} (fix the config and reload)");
                Some(Err(e))
            }
        };
    }

    /// Stops the load balancer (its rules are removed).
    async fn stop_lb(&self) {
        self.metrics.set_lb(None);
        if let Some(Ok(b)) = self.lb.lock().await.take() {
            b.stop().await;
            tracing::info!("load balancer stopped");
        }
    }

    /// Every virtual server's state, in config order (empty without any), or why the load
    /// balancer is not running.
    pub async fn lb_status(&self) -> Result<Vec<LbService>, String> {
        match &*self.lb.lock().await {
            Some(Ok(b)) => Ok(b.status()),
            Some(Err(e)) => Err(format!("{e} (fix the config and reload)")),
            None => Ok(Vec::new()),
        }
    }

    /// Starts one instance (in the background: a start that fails is retried by vip-node).
    fn start_instance(&self, inst: &InstanceConfig) -> Running {
        let observer: Arc<dyn Observer> = self.metrics.clone();
        let node = inst
            .role
            .as_ref()
            .map(|r| r.build_probe().map_err(|e| format!("role probe: {e}")))
            .transpose()
            .and_then(|role| inst.to_node(role, observer).map_err(|e| e.to_string()))
            .and_then(|node| {
                node.runtime(self.runtime.clone())
                    .spawn()
                    .map_err(|e| e.to_string())
            });
        match &node {
            Ok(_) => {
                tracing::info!(instance = %inst.name, interface = %inst.interface, vrid = inst.vrid, "instance started (state initialize)")
            }
            Err(e) => {
                // Its series exist all the same (a running node reports its own start).
                self.metrics.node_started(&inst.node);
                tracing::error!(instance = %inst.name, "instance not started: {e} (fix the config and reload)");
            }
        }
        Running {
            config: Arc::new(inst.clone()),
            node,
        }
    }

    /// The configured instances' names, in config order.
    async fn names(&self) -> Vec<String> {
        let running = self.running.lock().await;
        running.iter().map(|r| r.config.name.clone()).collect()
    }

    /// The maintenance state file (beside the control socket).
    async fn maintenance_file(&self) -> PathBuf {
        planned::maintenance_file(&self.global.lock().await.control_socket)
    }

    /// Every instance's status, in config order.
    pub async fn statuses(&self) -> Vec<InstanceStatus> {
        let running = self.running.lock().await;
        running.iter().map(|r| r.status(&self.runtime)).collect()
    }

    /// Stops the load balancer, then every instance (SIGTERM / SIGINT).
    pub async fn stop_all(&self) {
        self.stop_lb().await;
        let all = std::mem::take(&mut *self.running.lock().await);
        // Concurrently, so that every instance releases at once.
        let observer: &dyn Observer = &*self.metrics;
        futures::future::join_all(all.into_iter().map(|r| r.stop(false, observer))).await;
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
        let old: Vec<InstanceConfig> = running.iter().map(|r| (*r.config).clone()).collect();
        let diff = diff_instances(&old, &new.instances);
        let changed: Vec<String> = diff.changed.iter().map(|c| c.name.clone()).collect();
        let mut kept = Vec::new();
        for r in std::mem::take(&mut *running) {
            let name = r.config.name.clone();
            if changed.contains(&name) || diff.removed.contains(&name) {
                let removed = diff.removed.contains(&name);
                r.stop(removed, &*self.metrics).await;
                if removed {
                    // A removed instance's maintenance goes with it (an instance added
                    // later under the same name starts afresh).
                    self.runtime.set_maintenance(&name, false);
                }
            } else {
                kept.push(r);
            }
        }
        for c in &diff.changed {
            tracing::info!(instance = %c.name, keys = ?c.keys, "instance config changed: restarting it");
        }
        // The new list, in the new config's order.
        for inst in &new.instances {
            match kept.iter().position(|r| r.config.name == inst.name) {
                Some(i) => running.push(kept.swap_remove(i)),
                None => running.push(self.start_instance(inst)),
            }
        }
        drop(running);
        let lb_changed = match &*self.lb.lock().await {
            Some(Ok(b)) => b.config != new.virtual_servers,
            Some(Err(_)) => true,
            None => !new.virtual_servers.is_empty(),
        };
        if lb_changed {
            tracing::info!("virtual servers changed: restarting the load balancer");
            self.stop_lb().await;
            self.start_lb(&new).await;
        }
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

    /// Runs the role probe of `instance`, or of every instance with one, now.
    pub async fn reprobe(&self, instance: Option<&str>) -> Result<Vec<String>, String> {
        let running = self.running.lock().await;
        let fire = |r: &Running| {
            if let Ok(n) = &r.node {
                n.reprobe();
            }
            r.config.name.clone()
        };
        match instance {
            Some(name) => match running.iter().find(|r| r.config.name == name) {
                None => Err(format!(
                    "no instance named {name:?} (instances: {})",
                    running
                        .iter()
                        .map(|r| r.config.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Some(r) if r.config.role.is_none() => Err(format!(
                    "instance {name:?} has no role probe ([instance.role] section)"
                )),
                Some(r) => Ok(vec![fire(r)]),
            },
            None => {
                let fired: Vec<String> = running
                    .iter()
                    .filter(|r| r.config.role.is_some())
                    .map(fire)
                    .collect();
                if fired.is_empty() {
                    Err("no instance has a role probe ([instance.role] section)".into())
                } else {
                    Ok(fired)
                }
            }
        }
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
                started_unix_ms: control::unix_ms(self.started),
            },
            instances: self.statuses().await,
        }
    }

    async fn reprobe(&self, instance: Option<String>) -> Result<Vec<String>, String> {
        let r = Daemon::reprobe(self, instance.as_deref()).await;
        match &r {
            Ok(names) => tracing::info!(instances = ?names, "reprobe requested"),
            Err(e) => tracing::warn!("reprobe request refused: {e}"),
        }
        r
    }

    async fn reload(&self) -> Result<ReloadReport, String> {
        Daemon::reload(self).await
    }

    async fn maintenance(&self, on: bool, instance: Option<String>) -> Result<Vec<String>, String> {
        let names = self.names().await;
        let chosen = planned::select(&names, instance.as_deref())?;
        for name in &chosen {
            self.runtime.set_maintenance(name, on);
        }
        tracing::info!(instances = ?chosen, on, "maintenance requested");
        let file = self.maintenance_file().await;
        planned::save_maintenance(&self.runtime, &file, &names).map_err(|e| {
            format!(
                "maintenance is {} now, but {} could not be written (it will not survive a restart of vipd): {e}",
                if on { "on" } else { "off" },
                file.display()
            )
        })?;
        Ok(chosen)
    }

    async fn switchover(
        &self,
        instance: Option<String>,
        to: Option<String>,
    ) -> Result<SwitchoverReport, String> {
        let name = planned::select_one(&self.names().await, instance.as_deref())?;
        let handle = self
            .runtime
            .get(&name)
            .filter(vip_core::runtime::InstanceHandle::is_running)
            .ok_or_else(|| format!("instance {name:?} is not running"))?;
        tracing::info!(instance = %name, to = ?to, "switchover requested");
        let r = planned::switchover(&handle, to.as_deref(), planned::SWITCHOVER_LIMIT).await;
        match &r {
            Ok(r) => {
                tracing::info!(instance = %name, action = %r.action, from = ?r.from, to = ?r.to, took_ms = r.took_ms, "switchover done")
            }
            Err(e) => tracing::warn!(instance = %name, "switchover: {e}"),
        }
        r
    }

    async fn lb(&self) -> Result<Vec<LbService>, String> {
        self.lb_status().await
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
        tracing::info!(%addr, "metrics endpoint listening on /metrics (health: /primary, /replica, /health, /status)");
        let status: Arc<dyn ControlHandler> = daemon.clone();
        tasks.push(tokio::spawn(metrics::serve(
            l,
            daemon.metrics.clone(),
            status,
        )));
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
    let names: Vec<String> = config.instances.iter().map(|i| i.name.clone()).collect();
    let file = planned::maintenance_file(&config.global.control_socket);
    let restored = planned::restore_maintenance(daemon.runtime(), &file, &names);
    if !restored.is_empty() {
        tracing::info!(instances = ?restored, file = %file.display(), "maintenance restored");
    }
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
            Action::DumpCounters => {
                let rows = daemon.statuses().await;
                dump::counters(&daemon.metrics.render_with(&rows));
            }
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
