//! vipctl's command line (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// vipctl's exit code for a command line it cannot parse (BSD `EX_USAGE`), distinct from the
/// `status --check` codes 0 to 3.
pub const EXIT_USAGE: u8 = 64;

/// vipctl's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Each instance's state, whether it holds its VIPs, maintenance, address, priority, role
    /// verdict and rank, master, VIPs, checks, uptime, last transition and last alarm; with
    /// `--check`, a monitoring check.
    Status {
        /// Print JSON instead of a table.
        #[arg(long, conflicts_with = "check")]
        json: bool,
        /// Monitoring check (Nagios plugin): one line, exit 0 ok, 1 warning, 2 critical (an
        /// instance in fault, a backup that hears no master, VIPs held while the role says
        /// standby), 3 unknown (vipd unreachable).
        #[arg(long)]
        check: bool,
    },
    /// Maintenance: `on` releases the VIPs if this node holds them and keeps it from taking
    /// them (kept across restarts of vipd, not a reboot); `off` lets it take part again.
    Maintenance {
        /// on or off.
        mode: OnOff,
        /// Instance name (default: every instance).
        instance: Option<String>,
    },
    /// Planned switchover: on the holder, hand the VIPs over to the best backup (which keeps
    /// them); with `--to NODE` on NODE itself, take them over. Waits until they have moved.
    Switchover {
        /// Instance name (needed when there are several).
        instance: Option<String>,
        /// The node to move the VIPs to: this node's address in the instance (the `ADDRESS`
        /// column of `vipctl status`) or its host name.
        #[arg(long, value_name = "NODE")]
        to: Option<String>,
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
