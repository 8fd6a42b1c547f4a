//! The command fencer: runs a configured command with placeholders substituted per argv element
//! (no shell); exit 0 within the timeout means fenced.

use std::time::Duration;

use vip_core::{FenceOutcome, FenceRequest, Fencer, MacAddr, async_trait};

use super::process;

/// The placeholders an argv element may contain, substituted per element:
/// - `{peer}`: the last known holder's address (empty if unknown);
/// - `{vip}`: the first VIP's address; `{vips}`: all VIPs as `addr/prefix`, comma-separated;
/// - `{interface}`: the instance's interface; `{instance}`: its name; `{vrid}`: its VRID;
/// - `{holder_mac}`: the MAC that answered the in-use probe, `aa:bb:cc:dd:ee:ff` (empty if unknown).
pub const PLACEHOLDERS: &[&str] = &[
    "peer",
    "vip",
    "vips",
    "interface",
    "holder_mac",
    "instance",
    "vrid",
];

/// A [`Fencer`] that runs a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFencer {
    argv: Vec<String>,
    timeout: Duration,
    instance: String,
    interface: String,
    vrid: u8,
}

impl CommandFencer {
    /// A fencer running `argv` for the named instance.
    pub fn new(
        argv: Vec<String>,
        timeout: Duration,
        instance: impl Into<String>,
        interface: impl Into<String>,
        vrid: u8,
    ) -> Self {
        CommandFencer {
            argv,
            timeout,
            instance: instance.into(),
            interface: interface.into(),
            vrid,
        }
    }

    /// The command's own timeout (the runtime's bound is set just after it).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The argv with placeholders substituted for `request`.
    pub fn command_for(&self, request: &FenceRequest) -> Vec<String> {
        let values = self.values(request);
        self.argv
            .iter()
            .map(|a| {
                let mut s = a.clone();
                for (k, v) in &values {
                    s = s.replace(&format!("{{{k}}}"), v);
                }
                s
            })
            .collect()
    }

    fn values(&self, request: &FenceRequest) -> Vec<(&'static str, String)> {
        let vips: Vec<String> = request
            .vips
            .iter()
            .map(|v| format!("{}/{}", v.addr, v.prefix_len))
            .collect();
        vec![
            (
                "peer",
                request.peer.map(|p| p.to_string()).unwrap_or_default(),
            ),
            (
                "vip",
                request
                    .vips
                    .first()
                    .map(|v| v.addr.to_string())
                    .unwrap_or_default(),
            ),
            ("vips", vips.join(",")),
            ("interface", self.interface.clone()),
            (
                "holder_mac",
                request.holder_mac.map(format_mac).unwrap_or_default(),
            ),
            ("instance", self.instance.clone()),
            ("vrid", self.vrid.to_string()),
        ]
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: MacAddr) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[async_trait]
impl Fencer for CommandFencer {
    async fn fence(&self, request: &FenceRequest) -> FenceOutcome {
        let argv = self.command_for(request);
        let env: Vec<(String, String)> = self
            .values(request)
            .into_iter()
            .map(|(k, v)| (format!("VIP_FENCE_{}", k.to_ascii_uppercase()), v))
            .collect();
        let outcome = process::run(&argv, &env, self.timeout).await;
        if outcome.success() {
            tracing::info!(instance = %self.instance, command = ?argv, elapsed = ?outcome.elapsed, "fenced");
            FenceOutcome::Fenced
        } else {
            let reason = format!("fence command {:?}: {}", argv.first(), outcome.describe());
            tracing::warn!(instance = %self.instance, "{reason}");
            FenceOutcome::Failed { reason }
        }
    }
}
