//! The election machine itself. PLACEHOLDER: being implemented (issue 2).

use std::collections::VecDeque;

use crate::{Priority, Timestamp};

use super::{Action, ElectionConfig, Input, State};

/// One election instance (one VRID on one interface).
#[derive(Debug)]
pub struct Election {
    config: ElectionConfig,
    state: State,
    actions: VecDeque<Action>,
}

impl Election {
    /// A new instance in [`State::Initialize`]. `seed` feeds the machine's deterministic
    /// pseudo-random choices (claim back-off jitter).
    pub fn new(config: ElectionConfig, seed: u64) -> Self {
        let _ = seed;
        Election {
            config,
            state: State::Initialize,
            actions: VecDeque::new(),
        }
    }

    /// Feeds one input at time `now`.
    pub fn handle(&mut self, now: Timestamp, input: Input) {
        let _ = (now, input);
    }

    /// The next action to carry out, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`Election::handle`] with [`Input::Timer`] next.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        None
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &ElectionConfig {
        &self.config
    }

    /// Base priority plus tracked-check weights, clamped to 1..=254 (255 stays 255).
    pub fn effective_priority(&self) -> Priority {
        self.config.priority
    }
}
