//! vipd: keeps floating VIPs on exactly one healthy node (VRRP with role gating and fence-first
//! takeover). Config in, library builders out: everything lives in `vip_examples`.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use vip_examples::cli::vipd::{Cli, Command};
use vip_examples::{caps, config, daemon, keepalived, logging, vipmanager};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(&cli.config),
        Command::CheckConfig { file } => check_config(file.as_deref().unwrap_or(&cli.config)),
        Command::ImportKeepalived {
            file,
            allow_partial,
        } => import_with(&file, allow_partial, keepalived::import),
        Command::ImportVipManager {
            file,
            allow_partial,
        } => import_with(&file, allow_partial, |t, _| vipmanager::import(t)),
    }
}

fn check_config(path: &Path) -> ExitCode {
    match config::load(path) {
        Ok(c) => {
            println!("{}: {}", path.display(), c.summary());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{}: {} error(s):", path.display(), errors.0.len());
            for e in &errors.0 {
                eprintln!("  {e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Reads `path`, translates it with `translate`, prints the config and the diagnostics.
fn import_with(
    path: &Path,
    allow_partial: bool,
    translate: impl Fn(&str, &str) -> keepalived::Import,
) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vipd: cannot read {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let result = translate(&text, &path.display().to_string());
    print!("{}", result.toml);
    for d in &result.diagnostics {
        eprintln!("{}: {d}", path.display());
    }
    if result.has_errors() && !allow_partial {
        eprintln!(
            "vipd: some settings could not be translated (see the errors above); rerun with --allow-partial to accept the partial config"
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn run(path: &Path) -> ExitCode {
    let cfg = match config::load(path) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("vipd: {} has {} error(s):", path.display(), errors.0.len());
            for e in &errors.0 {
                eprintln!("  {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = caps::check() {
        eprintln!("vipd: {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = logging::init(cfg.global.log_format, &cfg.global.log_level) {
        eprintln!("vipd: {e}");
        return ExitCode::FAILURE;
    }
    // One thread: the steady state needs no other, and every worker would add a thread, its
    // allocator arena and cross-thread wake-ups (see vip_core::runtime, "Idle cost"). The
    // blocking pool only closes packet sockets (slow in the kernel, not urgent): two threads at
    // most, however many instances claim at once.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vipd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(daemon::run(path, cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("vipd: {e}");
            ExitCode::FAILURE
        }
    }
}
