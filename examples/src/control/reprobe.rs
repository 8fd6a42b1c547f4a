//! Reprobe signals: one [`Notify`] per instance with a role probe. `vipctl reprobe` and repmgr
//! events fire them; the instance's probe loop waits on its signal beside the interval timer,
//! so the probe runs at once instead of on the next tick.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use tokio::sync::Notify;

/// The reprobe signals, by instance name.
#[derive(Debug, Default)]
pub struct ReprobeHub {
    /// Instance name -> signal; `None` when the instance has no role probe.
    signals: RwLock<BTreeMap<String, Option<Arc<Notify>>>>,
}

impl ReprobeHub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an instance; returns its signal if it has a role probe. The probe loop should
    /// `select!` on `signal.notified()` and its interval timer.
    pub fn register(&self, instance: &str, has_role: bool) -> Option<Arc<Notify>> {
        let sig = has_role.then(|| Arc::new(Notify::new()));
        self.signals
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(instance.to_owned(), sig.clone());
        sig
    }

    /// Forgets an instance.
    pub fn unregister(&self, instance: &str) {
        self.signals
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(instance);
    }

    /// Fires the signal of `instance`, or of every instance with a role probe. Returns the
    /// instances signalled, or why nothing could be.
    pub fn trigger(&self, instance: Option<&str>) -> Result<Vec<String>, String> {
        let map = self.signals.read().unwrap_or_else(|p| p.into_inner());
        match instance {
            Some(name) => match map.get(name) {
                None => Err(format!(
                    "no instance named {name:?} (instances: {})",
                    map.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
                Some(None) => Err(format!(
                    "instance {name:?} has no role probe ([instance.role] section)"
                )),
                Some(Some(sig)) => {
                    sig.notify_one();
                    Ok(vec![name.to_owned()])
                }
            },
            None => {
                let fired: Vec<String> = map
                    .iter()
                    .filter_map(|(n, s)| {
                        s.as_ref().map(|s| {
                            s.notify_one();
                            n.clone()
                        })
                    })
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
