//! Running the PostgreSQL and repmgr binaries as the `postgres` OS user, optionally inside a
//! network namespace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::HarnessError;

/// Where the PostgreSQL 15 binaries live on Debian.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
/// The repmgr extension's control file (installed by `postgresql-15-repmgr`).
pub const REPMGR_CONTROL: &str = "/usr/share/postgresql/15/extension/repmgr.control";
/// The OS user the servers run as.
pub const OS_USER: &str = "postgres";

/// A PostgreSQL binary by name.
pub fn pg_bin(name: &str) -> PathBuf {
    Path::new(PG_BIN).join(name)
}

/// Why the harness cannot run here, if it cannot (not root, binaries or user missing).
pub fn skip_reason() -> Option<String> {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        return Some("not root (the harness runs servers as the postgres user)".into());
    }
    for bin in [
        "initdb",
        "pg_ctl",
        "postgres",
        "pg_basebackup",
        "psql",
        "repmgr",
    ] {
        if !pg_bin(bin).exists() {
            return Some(format!(
                "{} missing (run scripts/setup)",
                pg_bin(bin).display()
            ));
        }
    }
    if !Path::new(REPMGR_CONTROL).exists() {
        return Some(format!(
            "{REPMGR_CONTROL} missing (install postgresql-15-repmgr)"
        ));
    }
    if !Path::new("/usr/sbin/runuser").exists() && !Path::new("/sbin/runuser").exists() {
        return Some("runuser missing (util-linux)".into());
    }
    if os_user_ids().is_none() {
        return Some(format!("OS user {OS_USER:?} missing"));
    }
    None
}

/// The uid and gid of [`OS_USER`], from /etc/passwd.
pub fn os_user_ids() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != OS_USER {
            return None;
        }
        let _ = f.next()?;
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    })
}

/// A command that runs `program` as [`OS_USER`] (inside `netns` when given), from `cwd`, with no
/// inherited libpq environment.
pub fn as_postgres(netns: Option<&str>, cwd: &Path, program: &Path) -> Command {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "runuser", "-u", OS_USER, "--"]);
            c
        }
        None => {
            let mut c = Command::new("runuser");
            c.args(["-u", OS_USER, "--"]);
            c
        }
    };
    cmd.arg(program);
    cmd.current_dir(cwd);
    for var in [
        "PGPASSWORD",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGSERVICE",
        "PGPASSFILE",
        "PGDATA",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs `cmd` to completion; a non-zero exit is an error naming `what` and carrying stderr.
pub fn run(what: &str, cmd: &mut Command) -> Result<Output, HarnessError> {
    let out = cmd
        .output()
        .map_err(|e| HarnessError::Io(format!("{what}: {e}")))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(HarnessError::Command {
            what: what.to_owned(),
            status: out.status.code(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        })
    }
}
