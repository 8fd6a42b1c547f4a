//! The validated config mapped to the backends' own types, so that the wiring only plugs them
//! in.

use vip_netlink::{AnnounceConfig, GarpForm};
use vip_vrrp::wire::{Auth, ChecksumMode as WireChecksum};

use super::types::{ChecksumMode, GarpConfig, GarpFormConfig, InstanceConfig};

impl From<ChecksumMode> for WireChecksum {
    fn from(m: ChecksumMode) -> Self {
        match m {
            ChecksumMode::Keepalived => WireChecksum::PseudoHeader,
            ChecksumMode::Rfc => WireChecksum::MessageOnly,
        }
    }
}

impl From<GarpFormConfig> for GarpForm {
    fn from(f: GarpFormConfig) -> Self {
        match f {
            GarpFormConfig::Request => GarpForm::Request,
            GarpFormConfig::Reply => GarpForm::Reply,
            GarpFormConfig::Both => GarpForm::Both,
        }
    }
}

impl From<&GarpConfig> for AnnounceConfig {
    fn from(g: &GarpConfig) -> Self {
        AnnounceConfig {
            garp_form: g.form.into(),
            repeat: g.repeat,
            interval: g.interval,
            refresh: g.refresh,
        }
    }
}

impl InstanceConfig {
    /// The VRRPv2 authentication for the codec ([`Auth::None`] without `auth` or with v3).
    pub fn wire_auth(&self) -> Auth {
        match &self.auth {
            // Validation guarantees at most 8 printable bytes.
            Some(p) => Auth::simple(p.as_bytes()).unwrap_or(Auth::None),
            None => Auth::None,
        }
    }

    /// The v3-over-IPv4 checksum form for the codec.
    pub fn wire_checksum(&self) -> WireChecksum {
        self.checksum.into()
    }

    /// The announcer settings for vip-netlink.
    pub fn announce_config(&self) -> AnnounceConfig {
        (&self.garp).into()
    }
}
