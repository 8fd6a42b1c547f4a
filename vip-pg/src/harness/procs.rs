//! Process helpers: the postmaster pid of a data directory, its children, signals by pid.

use std::path::Path;
use std::process::Command;

use super::HarnessError;

/// The postmaster pid from `DATA/postmaster.pid`, if the file exists and the process is alive.
pub fn postmaster_pid(data_dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let pid: u32 = text.lines().next()?.trim().parse().ok()?;
    alive(pid).then_some(pid)
}

/// True when `/proc/PID` exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat_field(&stat, 0).is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

/// Field `n` after the `(comm)` part of /proc/PID/stat (0 = state, 1 = ppid).
fn stat_field(stat: &str, n: usize) -> Option<&str> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(n)
}

/// The direct children of `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| stat_field(&s, 1).map(|pp| pp == pid.to_string()))
                .unwrap_or(false)
        })
        .collect()
}

/// True when `pid`'s command line mentions `needle` (guards against pid reuse before a kill).
pub fn cmdline_mentions(pid: u32, needle: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).contains(needle))
        .unwrap_or(false)
}

/// Sends `signal` (a name such as `STOP`, `CONT`, `KILL`) to each pid.
pub fn signal(signal: &str, pids: &[u32]) -> Result<(), HarnessError> {
    if pids.is_empty() {
        return Ok(());
    }
    let out = Command::new("kill")
        .arg(format!("-{signal}"))
        .args(pids.iter().map(ToString::to_string))
        .output()
        .map_err(|e| HarnessError::Io(format!("kill -{signal}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(HarnessError::Command {
            what: format!("kill -{signal} {pids:?}"),
            status: out.status.code(),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}
