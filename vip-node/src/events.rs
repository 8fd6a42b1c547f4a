//! Where an instance's election events go besides the runtime's own logs: the [`Observer`]
//! and the notify-hook worker. The supervisor calls [`EventSink::emit`] for every event; an
//! embedder that drives an instance of its own can do the same.

use std::sync::Arc;

use tokio::sync::mpsc;
use vip_core::election::Event;

use crate::commands::notify::{NotifyRunner, Transition};
use crate::{NodeConfig, Observer};

/// Transitions queued for the notify worker before new ones are dropped (and reported).
const NOTIFY_QUEUE: usize = 64;

/// One instance's event sink. Cheap to clone; the notify worker ends when every clone is
/// dropped, after running the hooks already queued.
#[derive(Clone)]
pub struct EventSink {
    config: Arc<NodeConfig>,
    observer: Arc<dyn Observer>,
    notify: Option<mpsc::Sender<Transition>>,
}

impl EventSink {
    /// A sink for `config`, spawning its notify worker (when it has hooks) on the current
    /// tokio runtime.
    pub fn spawn(config: Arc<NodeConfig>, observer: Arc<dyn Observer>) -> Self {
        let notify = (!config.notify.is_empty()).then(|| {
            let (tx, mut rx) = mpsc::channel(NOTIFY_QUEUE);
            let runner = NotifyRunner::new(config.notify.clone());
            let (o, name) = (observer.clone(), config.name.clone());
            tokio::spawn(async move {
                while let Some(t) = rx.recv().await {
                    for r in runner.run(&t).await {
                        if !r.outcome.success() {
                            o.hook_failed(&name);
                        }
                    }
                }
            });
            tx
        });
        EventSink {
            config,
            observer,
            notify,
        }
    }

    /// The instance's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Reports one event to the observer and queues the notify hooks for a transition. Never
    /// blocks. It logs the event at debug level only: the runtime already logs transitions,
    /// alarms and priority changes, in the instance's span.
    pub fn emit(&self, event: &Event) {
        let name = &self.config.name;
        tracing::debug!(instance = %name, "event: {event}");
        self.observer.event(name, event);
        let Some(tx) = &self.notify else {
            return;
        };
        if let Some(t) = Transition::from_event(&self.config, event)
            && let Err(e) = tx.try_send(t)
        {
            tracing::error!(instance = %name, "notify hooks not run for this transition: {e}");
            self.observer.hook_failed(name);
        }
    }
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSink")
            .field("instance", &self.config.name)
            .field("hooks", &self.config.notify.len())
            .finish_non_exhaustive()
    }
}
