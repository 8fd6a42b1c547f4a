//! Where an instance's election events go: the status board, the metrics and the notify-hook
//! worker (the runtime logs them). The wiring calls [`EventSink::emit`] for every `Action::Event`.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::mpsc;
use vip_core::election::Event;

use crate::commands::notify::{NotifyRunner, Transition};
use crate::config::InstanceConfig;
use crate::control::StatusBoard;
use crate::metrics::Metrics;

/// Transitions queued for the notify worker before new ones are dropped (and counted).
const NOTIFY_QUEUE: usize = 64;

/// One instance's event sink. Cheap to clone; the notify worker ends when every clone is
/// dropped, after running the hooks already queued.
#[derive(Debug, Clone)]
pub struct EventSink {
    config: Arc<InstanceConfig>,
    board: Arc<StatusBoard>,
    metrics: Arc<Metrics>,
    notify: mpsc::Sender<Transition>,
}

impl EventSink {
    /// A sink for `config`, spawning its notify worker on the current tokio runtime.
    pub fn spawn(
        config: Arc<InstanceConfig>,
        board: Arc<StatusBoard>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(NOTIFY_QUEUE);
        let runner = NotifyRunner::new(config.notify.clone());
        let m = metrics.clone();
        let name = config.name.clone();
        tokio::spawn(async move {
            let mut rx = rx;
            while let Some(t) = rx.recv().await {
                for r in runner.run(&t).await {
                    if !r.outcome.success() {
                        m.hook_failed(&name);
                    }
                }
            }
        });
        EventSink {
            config,
            board,
            metrics,
            notify: tx,
        }
    }

    /// The instance's config.
    pub fn config(&self) -> &InstanceConfig {
        &self.config
    }

    /// Records one event: updates the status board and the metrics, and queues the notify
    /// hooks for a transition. Never blocks. It logs the event at debug level only: the
    /// runtime already logs transitions, alarms and priority changes, in the instance's span.
    pub fn emit(&self, event: &Event) {
        let name = &self.config.name;
        tracing::debug!(instance = %name, "event: {event}");
        self.board.apply_event(name, event, SystemTime::now());
        self.metrics.observe_event(name, event);
        if let Some(t) = Transition::from_event(&self.config, event) {
            crate::sdnotify::state_changed();
            if self.config.notify.is_empty() {
                return;
            }
            if let Err(e) = self.notify.try_send(t) {
                tracing::error!(instance = %name, "notify hooks not run for this transition: {e}");
                self.metrics.hook_failed(name);
            }
        }
    }
}
