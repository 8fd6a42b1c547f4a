//! vipctl's command line (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::DEFAULT_CONTROL_SOCKET;

/// vipctl's command line.
#[derive(Debug, Parser)]
#[command(name = "vipctl", version, about = "Control a running vipd")]
pub struct Cli {
    /// vipd's control socket (global.control_socket).
    #[arg(long, short, global = true, default_value = DEFAULT_CONTROL_SOCKET)]
    pub socket: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// vipctl's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Each instance's state, whether it holds its VIPs, priority, role verdict and rank, master,
    /// VIPs, checks, uptime, last transition and last alarm.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Re-run the role probe now (one instance, or all with a role probe).
    Reprobe {
        /// Instance name.
        instance: Option<String>,
    },
    /// Re-read vipd's config file (like SIGHUP).
    Reload,
    /// The virtual servers and their real servers, like `ipvsadm -Ln`: weight in the kernel,
    /// connections from conntrack, each check's verdict.
    Lb {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// For repmgr's event_notification_command: reprobe on promote/follow/switchover events.
    ///
    /// repmgr.conf: event_notification_command='/usr/bin/vipctl repmgr-event %n %e %s "%t" "%d"'
    RepmgrEvent {
        /// Only this instance (default: every instance with a role probe).
        #[arg(long)]
        instance: Option<String>,
        /// %n: node id.
        node_id: String,
        /// %e: event type.
        event: String,
        /// %s: success (1 or 0).
        success: Option<String>,
        /// %t: timestamp.
        timestamp: Option<String>,
        /// %d: details (may be several words).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        details: Vec<String>,
    },
}
