//! From a validated [`InstanceConfig`] to the library's configurations and backends.

use std::time::Duration;

use vip_core::runtime::Timeouts;
use vip_netlink::ManagerConfig;
use vip_vrrp::socket::{Mode, TransportConfig, TransportError};

use crate::config::InstanceConfig;

/// Extra time the runtime grants a fence beyond the fence command's own timeout, so that the
/// command fencer kills the command and reports why first.
const FENCE_GRACE: Duration = Duration::from_millis(500);

/// Why an instance could not be built or started.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The VRRP transport could not be opened (missing interface, no source address, no
    /// CAP_NET_RAW, ...).
    #[error("VRRP transport: {0}")]
    Transport(#[from] TransportError),
    /// The address manager or its watcher could not be created.
    #[error("addressing: {0}")]
    Addresses(vip_core::Error),
    /// The role probe could not be built from the `[instance.role]` section.
    #[error("role probe: {0}")]
    Role(#[from] vip_pg::PgError),
    /// A config value the library refuses.
    #[error("{key}: {problem}")]
    Config {
        /// The config key.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// The runtime refused the instance.
    #[error("starting the election: {0}")]
    Spawn(vip_core::Error),
}

impl BuildError {
    /// True when retrying later may help (the interface or its address may appear, a socket
    /// may open once capabilities are granted); false for config problems.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            BuildError::Config { .. }
                | BuildError::Role(_)
                | BuildError::Transport(TransportError::Config { .. })
                | BuildError::Transport(TransportError::Encode(_))
        )
    }
}

/// The transport configuration of `inst`.
pub fn transport_config(inst: &InstanceConfig) -> Result<TransportConfig, BuildError> {
    let mut c = TransportConfig::new(
        inst.interface.clone(),
        inst.version,
        inst.vrid,
        inst.vips.clone(),
    )
    .with_advert_interval(inst.advert_interval)
    .with_checksum(inst.wire_checksum())
    .with_auth(inst.wire_auth());
    if !inst.unicast_peers.is_empty() {
        c.mode = Mode::Unicast {
            peers: inst.unicast_peers.clone(),
        };
    }
    c.source = inst.source;
    Ok(c)
}

/// The address manager configuration of `inst` (announcements from its `garp` section).
pub fn manager_config(inst: &InstanceConfig) -> ManagerConfig {
    ManagerConfig {
        announce: inst.announce_config(),
        ..ManagerConfig::default()
    }
}

/// Bounds on backend calls, scaled to the advert interval: an address operation or an advert
/// that hangs must not hold the instance's lane for a whole Master_Down_Interval.
pub fn timeouts(inst: &InstanceConfig) -> Timeouts {
    let advert = inst.advert_interval.as_duration();
    let clamp = |d: Duration, lo: u64, hi: u64| {
        d.clamp(Duration::from_millis(lo), Duration::from_millis(hi))
    };
    Timeouts {
        address: clamp(advert * 2, 100, 1000),
        advert: clamp(advert, 50, 500),
        // The command fencer kills its child at its own timeout; the runtime's bound is a
        // backstop just after it.
        fence: inst
            .fencer
            .as_ref()
            .map_or(Timeouts::default().fence, |f| f.timeout + FENCE_GRACE),
        ..Timeouts::default()
    }
}
