//! The sans-IO election machine: RFC 9568 section 6 plus role gating, fault and fence-first
//! claiming (see `design.md`).
//!
//! The machine reads no clock, opens no socket and spawns nothing: time comes in as an argument
//! to [`Election::handle`], actions come out of [`Election::poll_action`], and
//! [`Election::poll_timeout`] says when to call again with [`Input::Timer`].
//!
//! # Behaviour beyond RFC 9568
//!
//! - **Claiming.** A Backup whose Master_Down_Timer is about to expire enters
//!   [`State::Claiming`] one *claim lead* early (`in_use_probe_timeout`, at most one
//!   Master_Adver_Interval): it advertises at its effective priority (repeating the advert
//!   halfway through the lead) and asks for an in-use probe. When the timer expires and the
//!   probe said Free, it adds and announces the VIPs and becomes Master: a hard failover still
//!   takes exactly 3 x Master_Adver_Interval + Skew_Time, and two backups whose timers expire
//!   together hear each other's claim before either adds (the RFC tie-break sends the lower one
//!   back to Backup). `claim_hold` can demand a longer hold for slow LANs. At fast intervals,
//!   where the probe's bound exceeds that lead (below 5 cs with the default 50 ms), the probe
//!   starts earlier, still as a Backup: half an interval after the first missed advert (at
//!   the latest `in_use_probe_timeout` before the timer expires), waiting only until then,
//!   so that a free VIP is still added at Master_Down_Interval (30 ms at 1 cs).
//! - **Fence first.** A VIP found in use (or a probe that failed) is fenced when a Fencer is
//!   available, then probed again; only Free adds. Otherwise the claim backs off (doubling,
//!   seeded jitter) and raises [`EventKind::Alarm`]s, never adding while in use. With
//!   [`FencePolicy::Always`] a silent master is fenced even when the probe says Free.
//! - **Preemption and owner start** probe only after their claiming advert had one lead to make
//!   the current master step down, so a cooperating master is not fenced.
//! - **Ownership arbiter** (optional, `ElectionConfig::arbiter`): a claim adds the VIPs only
//!   under a grant ([`Action::Acquire`]); a master removes them at the grant's deadline unless
//!   a renewal came, and at once when the grant is lost (see `arbiter.rs`).
//! - **Priority 0** from a peer other than the master a Backup follows is ignored.
//! - **Effective priority** (tracked checks), **role gating** (self-release at once) and
//!   **Fault** as described in `design.md`; every state change is an [`Event`] with a
//!   [`Reason`].

mod action;
mod arbiter;
mod claim;
mod config;
mod event;
mod health;
mod input;
mod jitter;
mod lifetime;
mod machine;
mod phase;
mod planned;
#[cfg(test)]
mod props;
mod state;
mod steady;
mod timers;

pub use action::Action;
pub use arbiter::{ArbiterGrant, ArbiterStanding};
pub use config::{CheckSpec, ElectionConfig, FencePolicy, Version};
pub use event::{Event, EventKind, Reason};
pub use input::{AddressOp, Advert, CheckStatus, Input, StopMode};
pub use machine::Election;
pub use planned::{Switchover, TAKEOVER_PRIORITY};
pub use state::State;
pub use steady::Steady;
pub use timers::{master_down_interval, skew_time};
