//! vipd's command line (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The default config file.
pub const DEFAULT_CONFIG: &str = "/etc/vipd/vipd.toml";

/// vipd's command line.
#[derive(Debug, Parser)]
#[command(
    name = "vipd",
    version,
    about = "Floating VIP daemon (VRRP, role-gated, fence-first)"
)]
pub struct Cli {
    /// Config file (for `run`, the default command).
    #[arg(long, short, global = true, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// vipd's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run in the foreground, logging to stderr (the default).
    Run,
    /// Validate a config file: lists every error and exits 1, or prints a summary.
    CheckConfig {
        /// The file to check (default: --config).
        file: Option<PathBuf>,
    },
    /// Print the vipd config equivalent to a keepalived.conf; report what cannot be translated.
    ImportKeepalived {
        /// keepalived.conf to translate.
        file: PathBuf,
        /// Exit 0 even when something could not be translated.
        #[arg(long)]
        allow_partial: bool,
    },
    /// Print the vipd config equivalent to a vip-manager YAML (Patroni leader-key following).
    ImportVipManager {
        /// vip-manager.yml to translate.
        file: PathBuf,
        /// Exit 0 even when something could not be translated.
        #[arg(long)]
        allow_partial: bool,
    },
}
