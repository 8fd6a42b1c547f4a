//! External commands, always run without a shell and bounded by a timeout: notify hooks,
//! tracked checks and the command fencer.

pub mod check;
pub mod fence;
pub mod notify;
pub mod process;
