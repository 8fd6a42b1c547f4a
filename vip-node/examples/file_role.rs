//! One VIP held by whichever node's file says `primary`: a third-party-style embedding of vip.
//!
//! `file_role INTERFACE VIP ROLE_FILE` (for example `file_role eth0 198.51.100.10/24 /run/role`).
//! Runs until SIGTERM, then releases the VIP.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use vip_core::runtime::RoleSchedule;
use vip_core::{Role, RoleProbe, RoleReport, async_trait};
use vip_node::{Node, NodeConfig};

/// Primary while the file says `primary`; standby otherwise; unknown when it cannot be read.
struct FileRole(PathBuf);

#[async_trait]
impl RoleProbe for FileRole {
    async fn probe(&self, _timeout: Duration) -> RoleReport {
        RoleReport::from_role(match tokio::fs::read_to_string(&self.0).await {
            Ok(text) if text.trim() == "primary" => Role::Primary,
            Ok(_) => Role::Standby,
            Err(e) => Role::unknown(format!("{}: {e}", self.0.display())),
        })
    }

    fn name(&self) -> &str {
        "file"
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [interface, vip, file] = args.as_slice() else {
        return Err("usage: file_role INTERFACE VIP ROLE_FILE".into());
    };
    let config = NodeConfig::new("file", interface, 51, vec![vip.parse()?])
        .advert_interval("100ms".parse()?);
    let every = Duration::from_millis(200);
    let schedule = RoleSchedule {
        interval: every,
        timeout: every / 2,
    };
    let node = Node::new(config)
        .role_probe(Arc::new(FileRole(file.into())), schedule)
        .start()
        .await?;
    signal(SignalKind::terminate())?.recv().await;
    node.stop(None).await;
    Ok(())
}
