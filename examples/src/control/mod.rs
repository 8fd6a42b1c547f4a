//! The control Unix socket: line-delimited JSON requests and responses (`status`, `reprobe`,
//! `reload`), the server side, a client for `vipctl`, the status board the daemon keeps up to
//! date, and the reprobe signals (`vipctl reprobe`, repmgr events).

mod board;
mod client;
mod protocol;
mod reprobe;
mod server;
pub mod table;

pub use board::{StatusBoard, unix_ms as board_unix_ms};
pub use client::{ClientError, request};
pub use protocol::{
    DaemonInfo, InstanceStatus, ReloadReport, Request, Response, StatusReport, TransitionRecord,
    format_unix_ms,
};
pub use reprobe::ReprobeHub;
pub use server::{ControlHandler, IDLE_TIMEOUT, MAX_CONNECTIONS, bind, serve};
