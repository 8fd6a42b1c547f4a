//! tracing-subscriber setup: human or JSON lines on stderr (human lines coloured only on a
//! terminal), or records to the systemd journal (tracing-journald).

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Installs the global subscriber. `RUST_LOG`, when set, overrides `level`. Human lines are
/// coloured only when stderr is a terminal and `NO_COLOR` is unset or empty ([`use_ansi`]).
pub fn init(format: LogFormat, level: &str) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => {
            EnvFilter::try_new(&v).map_err(|e| format!("RUST_LOG={v:?}: {e}"))?
        }
        _ => EnvFilter::try_new(level).map_err(|e| format!("log level {level:?}: {e}"))?,
    };
    let no_color = std::env::var_os("NO_COLOR");
    let ansi = use_ansi(format, std::io::stderr().is_terminal(), no_color.as_deref());
    let builder = || {
        tracing_subscriber::fmt()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
    };
    let res = match format {
        LogFormat::Human => builder()
            .with_env_filter(filter)
            .with_target(false)
            .try_init()
            .map_err(|e| e.to_string()),
        LogFormat::Json => builder()
            .with_env_filter(filter)
            .json()
            .flatten_event(true)
            .try_init()
            .map_err(|e| e.to_string()),
        LogFormat::Journald => {
            let journal = tracing_journald::layer().map_err(|e| {
                format!(
                    "global.log_format = \"journald\": cannot reach the journal at /run/systemd/journal/socket ({e}); use \"human\" or \"json\" outside systemd"
                )
            })?;
            tracing_subscriber::registry()
                .with(filter)
                .with(journal.with_syslog_identifier("vipd".to_owned()))
                .try_init()
                .map_err(|e| e.to_string())
        }
    };
    res.map_err(|e| format!("cannot install the log subscriber: {e}"))
}

/// Whether log lines may carry ANSI colour codes: only human lines, only when stderr is a
/// terminal (not under journald or redirected to a file), and only when `NO_COLOR` (the value
/// of that environment variable, see <https://no-color.org>) is unset or empty.
pub fn use_ansi(format: LogFormat, stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    format == LogFormat::Human && stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_for_human_lines_on_a_terminal_without_no_color() {
        let human = LogFormat::Human;
        assert!(use_ansi(human, true, None));
        assert!(use_ansi(human, true, Some(OsStr::new(""))));
        // Redirected to a file, a pipe or journald.
        assert!(!use_ansi(human, false, None));
        assert!(!use_ansi(human, false, Some(OsStr::new(""))));
        // NO_COLOR set to anything non-empty.
        assert!(!use_ansi(human, true, Some(OsStr::new("1"))));
        assert!(!use_ansi(human, true, Some(OsStr::new("false"))));
        // JSON lines never carry escape codes.
        assert!(!use_ansi(LogFormat::Json, true, None));
    }
}
