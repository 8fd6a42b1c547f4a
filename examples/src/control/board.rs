//! The status board: what `status` reports, kept up to date from election events.

use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use vip_core::election::{Event, EventKind, State, Version};

use super::protocol::{InstanceStatus, TransitionRecord};
use crate::config::InstanceConfig;

/// Every instance's status, in config order.
#[derive(Debug, Default)]
pub struct StatusBoard {
    rows: RwLock<Vec<InstanceStatus>>,
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl StatusBoard {
    /// An empty board.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Vec<InstanceStatus>) -> R) -> R {
        f(&mut self.rows.write().unwrap_or_else(|p| p.into_inner()))
    }

    /// Adds (or resets) an instance in state `initialize`.
    pub fn register(&self, inst: &InstanceConfig) {
        let row = InstanceStatus {
            name: inst.name.clone(),
            interface: inst.interface.clone(),
            vrid: inst.vrid,
            version: match inst.version {
                Version::V2 => 2,
                Version::V3 => 3,
            },
            state: State::Initialize.as_str().into(),
            base_priority: inst.priority.get(),
            effective_priority: inst.priority.get(),
            master: None,
            vips: inst
                .vips
                .iter()
                .map(|v| format!("{}/{}", v.addr, v.prefix_len))
                .collect(),
            last_transition: None,
        };
        self.with(|rows| match rows.iter_mut().find(|r| r.name == inst.name) {
            Some(r) => *r = row,
            None => rows.push(row),
        });
    }

    /// Removes an instance.
    pub fn remove(&self, name: &str) {
        self.with(|rows| rows.retain(|r| r.name != name));
    }

    /// Keeps only these instances, ordered as given (after a reload).
    pub fn reorder(&self, names: &[String]) {
        self.with(|rows| {
            rows.retain(|r| names.contains(&r.name));
            rows.sort_by_key(|r| names.iter().position(|n| *n == r.name));
        });
    }

    /// Updates from an election event that happened at wall-clock time `at`.
    pub fn apply_event(&self, name: &str, event: &Event, at: SystemTime) {
        self.with(|rows| {
            let Some(r) = rows.iter_mut().find(|r| r.name == name) else {
                return;
            };
            match &event.kind {
                EventKind::Transition { from, to } => {
                    r.state = to.as_str().into();
                    r.last_transition = Some(TransitionRecord {
                        from: from.as_str().into(),
                        to: to.as_str().into(),
                        reason: event.reason.to_string(),
                        at_unix_ms: unix_ms(at),
                    });
                }
                EventKind::PriorityChanged { priority } => r.effective_priority = priority.get(),
                _ => {}
            }
        });
    }

    /// Records the current master's address (`None` when unknown).
    pub fn set_master(&self, name: &str, master: Option<String>) {
        self.with(|rows| {
            if let Some(r) = rows.iter_mut().find(|r| r.name == name) {
                r.master = master;
            }
        });
    }

    /// Updates state, effective priority and master from a runtime status snapshot (for
    /// example from `InstanceHandle::watch_status`).
    pub fn apply_status(&self, status: &vip_core::runtime::Status) {
        self.with(|rows| {
            if let Some(r) = rows.iter_mut().find(|r| r.name == status.name) {
                r.state = status.state.as_str().into();
                r.effective_priority = status.effective_priority.get();
                r.master = status.master.map(|m| m.to_string());
            }
        });
    }

    /// A copy of every row.
    pub fn snapshot(&self) -> Vec<InstanceStatus> {
        self.rows.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
