//! Configuration knobs of the manager, the announcer and the in-use probe.

use std::time::Duration;

use crate::Tag;

/// Which gratuitous ARP form the announcer sends for IPv4 VIPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GarpForm {
    /// ARP request, sender = target = VIP, to broadcast (what keepalived sends).
    #[default]
    Request,
    /// ARP reply, sender = target = VIP and target MAC = sender MAC, to broadcast (what
    /// `arping -A` sends).
    Reply,
    /// Both forms, request first (for segments with switches that accept only one of them).
    Both,
}

/// How VIPs are announced after they are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceConfig {
    /// Gratuitous ARP form for IPv4.
    pub garp_form: GarpForm,
    /// How many rounds of announcements to send (keepalived `garp_master_repeat`, default 5).
    pub repeat: u32,
    /// Gap between rounds (keepalived `garp_interval`, default 0: all at once).
    pub interval: Duration,
    /// If set, re-announce held VIPs this often after the initial burst (keepalived
    /// `garp_master_refresh`), until they are removed.
    pub refresh: Option<Duration>,
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        AnnounceConfig {
            garp_form: GarpForm::Request,
            repeat: 5,
            interval: Duration::ZERO,
            refresh: None,
        }
    }
}

/// How the in-use probe asks the segment.
///
/// IPv4 sends RFC 5227 ARP probes (sender IP 0.0.0.0); IPv6 sends neighbour solicitations from
/// `::` to the VIP's solicited-node group, as duplicate address detection does (RFC 4862 5.4.2),
/// so the holder answers with a neighbour advertisement to ff02::1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Number of probes sent within the timeout, evenly spread (the first at once). At least 1.
    pub probes: u32,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig { probes: 2 }
    }
}

/// Configuration of [`crate::NetlinkAddressManager`]. The default tags with [`Tag::detect`],
/// adds without `noprefixroute`, and uses the default announce and probe settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManagerConfig {
    /// How vip marks its addresses ([`Tag::detect`] by default).
    pub tag: Tag,
    /// Add VIPs with `noprefixroute` (no prefix route for the VIP's subnet). Default false, as
    /// keepalived.
    pub noprefixroute: bool,
    /// Announcements.
    pub announce: AnnounceConfig,
    /// In-use probe.
    pub probe: ProbeConfig,
}
