//! Checks of one real server: the trait, and the two keepalived checkers shipped here
//! (`TCP_CHECK`, `MISC_CHECK` with `misc_dynamic`).

use std::net::SocketAddr;
use std::time::Duration;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The server may take connections; `weight` is a new weight when the check sets one
    /// (`misc_dynamic`), else the weight stays what it was.
    Up {
        /// A dynamic weight, if the check sets one.
        weight: Option<u32>,
    },
    /// The server failed the check, and why.
    Down(String),
}

/// One check of one real server. Several checks on one server must all pass.
///
/// keepalived's `MISC_CHECK` with `misc_dynamic` maps exit 0 to `Up { weight: None }`, 1 to
/// `Down`, and 2..=255 to `Up { weight: Some(code - 2) }`.
#[async_trait::async_trait]
pub trait RealServerCheck: Send + Sync {
    /// Runs the check once. The balancer bounds it with the service's `timeout` as well.
    async fn check(&self) -> CheckOutcome;
    /// A short name for status and logs (e.g. `tcp 203.0.113.2:80`).
    fn name(&self) -> &str;
}

/// keepalived's `TCP_CHECK`: the server is up if a TCP connection to `addr` opens within
/// `timeout` (the connection is closed at once).
#[derive(Debug, Clone)]
pub struct TcpConnectCheck {
    addr: SocketAddr,
    timeout: Duration,
    name: String,
}

impl TcpConnectCheck {
    /// A connect check of `addr` (usually the real server's own address; keepalived's
    /// `connect_ip`/`connect_port` may point elsewhere).
    pub fn new(addr: SocketAddr, timeout: Duration) -> Self {
        TcpConnectCheck {
            addr,
            timeout,
            name: format!("tcp {addr}"),
        }
    }
}

#[async_trait::async_trait]
impl RealServerCheck for TcpConnectCheck {
    async fn check(&self) -> CheckOutcome {
        match tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(self.addr)).await {
            Ok(Ok(_stream)) => CheckOutcome::Up { weight: None },
            Ok(Err(e)) => CheckOutcome::Down(format!("connect {}: {e}", self.addr)),
            Err(_) => CheckOutcome::Down(format!(
                "connect {}: no answer within {:?}",
                self.addr, self.timeout
            )),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// keepalived's `MISC_CHECK`: runs a command (`argv`, no shell) and reads its exit status.
/// Exit 0 is up, anything else down; with `dynamic` (keepalived's `misc_dynamic`), exit 1 is down
/// and 2..=255 is up with weight `code - 2`. A command still running after `timeout`
/// (`misc_timeout`) is killed and counts as down.
#[derive(Debug, Clone)]
pub struct MiscCheck {
    argv: Vec<String>,
    timeout: Duration,
    dynamic: bool,
    name: String,
}

impl MiscCheck {
    /// A command check. An empty `argv` always fails.
    pub fn new(argv: Vec<String>, timeout: Duration, dynamic: bool) -> Self {
        let name = format!("misc {}", argv.join(" "));
        MiscCheck {
            argv,
            timeout,
            dynamic,
            name,
        }
    }

    /// The outcome for an exit code, as keepalived reads it.
    pub fn outcome_of_exit(code: i32, dynamic: bool) -> CheckOutcome {
        match (code, dynamic) {
            (0, _) => CheckOutcome::Up { weight: None },
            (2..=255, true) => CheckOutcome::Up {
                weight: Some(code.unsigned_abs() - 2),
            },
            (c, _) => CheckOutcome::Down(format!("exit status {c}")),
        }
    }
}

#[async_trait::async_trait]
impl RealServerCheck for MiscCheck {
    async fn check(&self) -> CheckOutcome {
        let Some((prog, args)) = self.argv.split_first() else {
            return CheckOutcome::Down("empty misc_path".into());
        };
        let mut cmd = tokio::process::Command::new(prog);
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return CheckOutcome::Down(format!("spawning {prog}: {e}")),
        };
        match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(Ok(status)) => match status.code() {
                Some(code) => Self::outcome_of_exit(code, self.dynamic),
                None => CheckOutcome::Down(format!("{prog} killed by a signal")),
            },
            Ok(Err(e)) => CheckOutcome::Down(format!("waiting for {prog}: {e}")),
            Err(_) => {
                let _ = child.kill().await;
                CheckOutcome::Down(format!("{prog} still running after {:?}", self.timeout))
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misc_dynamic_exit_codes_map_as_keepalived() {
        assert_eq!(
            MiscCheck::outcome_of_exit(0, true),
            CheckOutcome::Up { weight: None }
        );
        assert!(matches!(
            MiscCheck::outcome_of_exit(1, true),
            CheckOutcome::Down(_)
        ));
        assert_eq!(
            MiscCheck::outcome_of_exit(2, true),
            CheckOutcome::Up { weight: Some(0) }
        );
        assert_eq!(
            MiscCheck::outcome_of_exit(255, true),
            CheckOutcome::Up { weight: Some(253) }
        );
        assert!(matches!(
            MiscCheck::outcome_of_exit(7, false),
            CheckOutcome::Down(_)
        ));
    }

    #[tokio::test]
    async fn misc_check_runs_commands_and_times_out() {
        let t = Duration::from_secs(5);
        let up = MiscCheck::new(vec!["true".into()], t, false);
        assert_eq!(up.check().await, CheckOutcome::Up { weight: None });
        let down = MiscCheck::new(vec!["false".into()], t, false);
        assert!(matches!(down.check().await, CheckOutcome::Down(_)));
        let dynamic = MiscCheck::new(vec!["sh".into(), "-c".into(), "exit 12".into()], t, true);
        assert_eq!(dynamic.check().await, CheckOutcome::Up { weight: Some(10) });
        let slow = MiscCheck::new(
            vec!["sleep".into(), "5".into()],
            Duration::from_millis(50),
            false,
        );
        match slow.check().await {
            CheckOutcome::Down(why) => assert!(why.contains("still running"), "{why}"),
            other => panic!("{other:?}"),
        }
        let missing = MiscCheck::new(vec!["/nonexistent/check".into()], t, false);
        assert!(matches!(missing.check().await, CheckOutcome::Down(_)));
    }
}
