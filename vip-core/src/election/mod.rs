//! The sans-IO election machine: RFC 9568 section 6 plus role gating, fault and fence-first
//! claiming (see `design.md`).
//!
//! The machine reads no clock, opens no socket and spawns nothing: time comes in as an argument
//! to [`Election::handle`], actions come out of [`Election::poll_action`], and
//! [`Election::poll_timeout`] says when to call again with [`Input::Timer`].

mod action;
mod claim;
mod config;
mod event;
mod health;
mod input;
mod jitter;
mod machine;
#[cfg(test)]
mod props;
mod state;
mod timers;

pub use action::Action;
pub use config::{CheckSpec, ElectionConfig, FencePolicy, Version};
pub use event::{Event, EventKind, Reason};
pub use input::{AddressOp, Advert, CheckStatus, Input, StopMode};
pub use machine::Election;
pub use state::State;
pub use timers::{master_down_interval, skew_time};
