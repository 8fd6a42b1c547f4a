//! Notify hooks: on every transition, the instance's hooks run in order, each awaited with its
//! timeout (killed after it), with the transition in the environment. Unlike keepalived's
//! fire-and-forget notify scripts, a hook's outcome is known and logged, and hooks for two
//! transitions never overlap.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vip_core::Vip;
use vip_core::election::{Event, EventKind, State};

use super::process::{self, CommandOutcome};
use crate::NodeConfig;

/// A notify hook: a command run on transitions, awaited with a timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyHook {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Time bound; the child is killed after it.
    pub timeout: Duration,
    /// Run only for transitions into these states; empty = every transition.
    pub on: Vec<State>,
}

/// A transition as hooks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Instance name (`VIP_INSTANCE`).
    pub instance: String,
    /// Interface (`VIP_INTERFACE`).
    pub interface: String,
    /// VRID (`VIP_VRID`).
    pub vrid: u8,
    /// Old state (`VIP_PREVIOUS_STATE`).
    pub from: State,
    /// New state (`VIP_STATE`).
    pub to: State,
    /// Why (`VIP_REASON`).
    pub reason: String,
    /// The instance's VIPs (`VIP_VIPS`, space-separated `addr/prefix`).
    pub vips: Vec<Vip>,
}

impl Transition {
    /// The transition carried by `event`, if it is one.
    pub fn from_event(instance: &NodeConfig, event: &Event) -> Option<Transition> {
        match &event.kind {
            EventKind::Transition { from, to } => Some(Transition {
                instance: instance.name.clone(),
                interface: instance.interface.clone(),
                vrid: instance.vrid,
                from: *from,
                to: *to,
                reason: event.reason.to_string(),
                vips: instance.vips(),
            }),
            _ => None,
        }
    }

    /// The environment hooks get.
    pub fn env(&self) -> Vec<(String, String)> {
        let vips: Vec<String> = self
            .vips
            .iter()
            .map(|v| format!("{}/{}", v.addr, v.prefix_len))
            .collect();
        vec![
            ("VIP_STATE".into(), self.to.as_str().into()),
            ("VIP_PREVIOUS_STATE".into(), self.from.as_str().into()),
            ("VIP_REASON".into(), self.reason.clone()),
            ("VIP_INSTANCE".into(), self.instance.clone()),
            ("VIP_INTERFACE".into(), self.interface.clone()),
            ("VIP_VRID".into(), self.vrid.to_string()),
            ("VIP_VIPS".into(), vips.join(" ")),
        ]
    }
}

/// What one hook did.
#[derive(Debug, Clone)]
pub struct HookReport {
    /// The hook's argv.
    pub argv: Vec<String>,
    /// How it ended.
    pub outcome: CommandOutcome,
}

/// Runs an instance's notify hooks.
#[derive(Debug, Clone, Default)]
pub struct NotifyRunner {
    hooks: Vec<NotifyHook>,
}

impl NotifyRunner {
    /// A runner for these hooks.
    pub fn new(hooks: Vec<NotifyHook>) -> Self {
        NotifyRunner { hooks }
    }

    /// Runs the hooks that want this transition, one after the other, each awaited with its
    /// timeout. Failures are logged and do not stop later hooks.
    pub async fn run(&self, t: &Transition) -> Vec<HookReport> {
        let env = t.env();
        let mut reports = Vec::new();
        for hook in &self.hooks {
            if !hook.on.is_empty() && !hook.on.contains(&t.to) {
                continue;
            }
            let outcome = process::run(&hook.argv, &env, hook.timeout).await;
            if outcome.success() {
                tracing::debug!(instance = %t.instance, hook = ?hook.argv, elapsed = ?outcome.elapsed, "notify hook done");
            } else {
                tracing::warn!(instance = %t.instance, hook = ?hook.argv, "notify hook failed: {}", outcome.describe());
            }
            reports.push(HookReport {
                argv: hook.argv.clone(),
                outcome,
            });
        }
        reports
    }

    /// Spawns a worker that runs the hooks for each transition received, in order. The
    /// election never waits for it: send with `try_send` or from a task. The worker ends when
    /// every sender is dropped.
    pub fn spawn(self, mut rx: mpsc::Receiver<Transition>) -> JoinHandle<()> {
        tokio::spawn(async move {
            while let Some(t) = rx.recv().await {
                self.run(&t).await;
            }
        })
    }
}
