//! vipctl: talks to a running vipd over its control socket.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use vip_examples::cli::vipctl::{Cli, Command, EXIT_USAGE, OnOff};
use vip_examples::control::{self, Request, Response, table, verdict};
use vip_examples::repmgr;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => ExitCode::SUCCESS,
                _ => ExitCode::from(EXIT_USAGE),
            };
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vipctl: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        match cli.command {
            Command::Status { check: true, .. } => check(&cli.socket).await,
            Command::Status { json, .. } => status(&cli.socket, json).await,
            Command::Maintenance { mode, instance } => {
                maintenance(&cli.socket, mode == OnOff::On, instance).await
            }
            Command::Switchover { instance, to } => switchover(&cli.socket, instance, to).await,
            Command::Reprobe { instance } => reprobe(&cli.socket, instance).await,
            Command::Reload => reload(&cli.socket).await,
            Command::Lb { json } => lb(&cli.socket, json).await,
            Command::RepmgrEvent {
                instance,
                node_id,
                event,
                success,
                timestamp,
                details,
            } => {
                let ev = repmgr::Event {
                    node_id,
                    event,
                    success: success.unwrap_or_default(),
                    timestamp: timestamp.unwrap_or_default(),
                    details: details.join(" "),
                };
                if !ev.triggers_reprobe() {
                    eprintln!(
                        "vipctl: repmgr event {:?} ignored (no effect on the VIP)",
                        ev.event
                    );
                    return ExitCode::SUCCESS;
                }
                eprintln!(
                    "vipctl: repmgr event {:?} on node {} (success {}): reprobing",
                    ev.event, ev.node_id, ev.success
                );
                reprobe(&cli.socket, instance).await
            }
        }
    })
}

async fn send(socket: &std::path::Path, req: Request) -> Result<Response, ExitCode> {
    match control::request(socket, &req).await {
        Ok(Response::Error(e)) => {
            eprintln!("vipctl: vipd refused: {e}");
            Err(ExitCode::FAILURE)
        }
        Ok(r) => Ok(r),
        Err(e) => {
            eprintln!("vipctl: {e}");
            Err(ExitCode::from(2))
        }
    }
}

async fn status(socket: &std::path::Path, json: bool) -> ExitCode {
    match send(socket, Request::Status).await {
        Ok(Response::Status(s)) => {
            if json {
                match serde_json::to_string_pretty(&s) {
                    Ok(t) => println!("{t}"),
                    Err(e) => {
                        eprintln!("vipctl: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", table::render(&s));
            }
            ExitCode::SUCCESS
        }
        Ok(other) => unexpected(other),
        Err(code) => code,
    }
}

/// `status --check`: one Nagios line, exit 0 to 3.
async fn check(socket: &std::path::Path) -> ExitCode {
    let (level, line) = match control::request(socket, &Request::Status).await {
        Ok(Response::Status(s)) => verdict::check(&s),
        Ok(Response::Error(e)) => (verdict::Level::Unknown, verdict::unknown(&e)),
        Ok(other) => (
            verdict::Level::Unknown,
            verdict::unknown(&format!("unexpected answer: {other:?}")),
        ),
        Err(e) => (verdict::Level::Unknown, verdict::unknown(&e.to_string())),
    };
    println!("{line}");
    ExitCode::from(level.code())
}

async fn maintenance(socket: &std::path::Path, on: bool, instance: Option<String>) -> ExitCode {
    match send(socket, Request::Maintenance { on, instance }).await {
        Ok(Response::Maintenance { instances, on }) => {
            println!(
                "maintenance {}: {}",
                if on { "on" } else { "off" },
                instances.join(", ")
            );
            ExitCode::SUCCESS
        }
        Ok(other) => unexpected(other),
        Err(code) => code,
    }
}

async fn switchover(
    socket: &std::path::Path,
    instance: Option<String>,
    to: Option<String>,
) -> ExitCode {
    match send(socket, Request::Switchover { instance, to }).await {
        Ok(Response::Switchover(r)) => {
            let show = |n: &Option<String>| n.clone().unwrap_or_else(|| "-".into());
            println!(
                "{}: {} from {} to {} in {} ms",
                r.instance,
                r.action.replace('_', " "),
                show(&r.from),
                show(&r.to),
                r.took_ms
            );
            ExitCode::SUCCESS
        }
        Ok(other) => unexpected(other),
        Err(code) => code,
    }
}

async fn reprobe(socket: &std::path::Path, instance: Option<String>) -> ExitCode {
    match send(socket, Request::Reprobe { instance }).await {
        Ok(Response::Reprobe { instances }) => {
            println!("reprobe requested: {}", instances.join(", "));
            ExitCode::SUCCESS
        }
        Ok(other) => unexpected(other),
        Err(code) => code,
    }
}

async fn reload(socket: &std::path::Path) -> ExitCode {
    match send(socket, Request::Reload).await {
        Ok(Response::Reload(r)) => {
            let show = |v: &[String]| {
                if v.is_empty() {
                    "-".to_owned()
                } else {
                    v.join(", ")
                }
            };
            println!("unchanged: {}", show(&r.unchanged));
            println!("restarted: {}", show(&r.changed));
            println!("added:     {}", show(&r.added));
            println!("removed:   {}", show(&r.removed));
            if !r.needs_restart.is_empty() {
                println!(
                    "needs a restart of vipd: global.{}",
                    r.needs_restart.join(", global.")
                );
            }
            ExitCode::SUCCESS
        }
        Ok(other) => unexpected(other),
        Err(code) => code,
    }
}

async fn lb(socket: &std::path::Path, json: bool) -> ExitCode {
    match send(socket, Request::Lb).await {
        Ok(Response::Lb(services)) => {
            if json {
                match serde_json::to_string_pretty(&services) {
                    Ok(t) => println!("{t}"),
                    Err(e) => {
                        eprintln!("vipctl: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", control::lb_table::render(&services));
            }
            ExitCode::SUCCESS
        }
        Ok(other) => unexpected(other),
        Err(code) => code,
    }
}

fn unexpected(r: Response) -> ExitCode {
    eprintln!("vipctl: unexpected answer from vipd: {r:?}");
    ExitCode::FAILURE
}
