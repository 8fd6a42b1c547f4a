//! Library half of vipd and vipctl: config, keepalived import, command runners (notify hooks,
//! tracked checks, fencer), metrics, control socket, sd_notify and logging. The binaries in
//! `src/bin` only parse arguments and call into here.

pub mod caps;
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod daemon;
pub mod dump;
pub mod events;
pub mod keepalived;
pub mod logging;
pub mod metrics;
pub mod repmgr;
pub mod sdnotify;
pub mod signals;
pub mod spec;
pub mod wiring;
