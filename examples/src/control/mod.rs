//! The control Unix socket: line-delimited JSON requests and responses (`status`, `reprobe`,
//! `reload`, `lb`), the server side, a client for `vipctl`, and the `status` rows read from the
//! runtime's registry.

mod client;
pub mod lb_table;
pub mod planned;
mod protocol;
mod server;
mod status;
pub mod table;
pub mod verdict;

pub use client::{ClientError, request};
pub use protocol::{
    AlarmRecord, CheckState, DaemonInfo, InstanceStatus, LbBackend, LbService, ReloadReport,
    Request, Response, StatusReport, SwitchoverReport, TransitionRecord, format_unix_ms,
};
pub use server::{ControlHandler, IDLE_TIMEOUT, MAX_CONNECTIONS, bind, serve};
pub use status::{instance_status, unix_ms};
