//! Library half of vipd and vipctl: config, keepalived import, metrics, control socket,
//! sd_notify and logging. The instances themselves (transport, addressing, watcher,
//! supervision, command fencer, checks and notify hooks) are assembled by `vip-node`. The
//! binaries in `src/bin` only parse arguments and call into here.

pub mod caps;
pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod dump;
pub mod keepalived;
pub mod lb;
pub mod logging;
pub mod metrics;
pub mod node;
pub mod repmgr;
pub mod sdnotify;
pub mod signals;
pub mod vipmanager;
