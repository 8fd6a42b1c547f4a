//! The start-up capability check: vipd needs `CAP_NET_ADMIN` (adding and removing addresses,
//! multicast membership) and `CAP_NET_RAW` (raw VRRP sockets, gratuitous ARP / unsolicited NA,
//! the in-use probe). Without one of them a node would start, elect itself and fail only when
//! it must act; instead vipd refuses to start and names what is missing.

/// A capability vipd needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    /// Its name (`CAP_NET_ADMIN`).
    pub name: &'static str,
    /// Its bit number (capability.h).
    pub bit: u32,
    /// What vipd uses it for.
    pub used_for: &'static str,
}

/// The capabilities vipd needs, in the order they are reported.
pub const NEEDED: &[Capability] = &[
    Capability {
        name: "CAP_NET_ADMIN",
        bit: 12,
        used_for: "adding and removing the VIPs (rtnetlink), multicast membership",
    },
    Capability {
        name: "CAP_NET_RAW",
        bit: 13,
        used_for: "raw VRRP sockets, gratuitous ARP / unsolicited NA, the in-use probe",
    },
];

/// vipd lacks capabilities it needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "missing {}: {}. Run vipd as root, or grant them (systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW, as in the shipped unit; or setcap cap_net_admin,cap_net_raw+ep on the binary)",
    names(.0),
    uses(.0)
)]
pub struct MissingCapabilities(pub Vec<Capability>);

fn names(c: &[Capability]) -> String {
    c.iter().map(|c| c.name).collect::<Vec<_>>().join(" and ")
}

fn uses(c: &[Capability]) -> String {
    c.iter()
        .map(|c| format!("{} is needed for {}", c.name, c.used_for))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The needed capabilities missing from an effective set (`CapEff` of /proc/PID/status).
pub fn missing(effective: u64) -> Vec<Capability> {
    NEEDED
        .iter()
        .filter(|c| effective & (1u64 << c.bit) == 0)
        .copied()
        .collect()
}

/// The effective set from the text of /proc/PID/status.
pub fn effective_from_status(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// Checks this process. An unreadable /proc passes (the kernel will say EPERM later, and the
/// socket errors name the capability too).
pub fn check() -> Result<(), MissingCapabilities> {
    let Some(eff) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| effective_from_status(&s))
    else {
        return Ok(());
    };
    let m = missing(eff);
    if m.is_empty() {
        Ok(())
    } else {
        Err(MissingCapabilities(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_missing() {
        let root = effective_from_status("Name:\tvipd\nCapEff:\t000001ffffffffff\n").unwrap();
        assert!(missing(root).is_empty());
        let raw_only = 1u64 << 13;
        let m = missing(raw_only);
        assert_eq!(m.len(), 1);
        let e = MissingCapabilities(m).to_string();
        assert!(
            e.starts_with("missing CAP_NET_ADMIN: CAP_NET_ADMIN is needed for adding"),
            "{e}"
        );
        let e = MissingCapabilities(missing(0)).to_string();
        assert!(
            e.starts_with("missing CAP_NET_ADMIN and CAP_NET_RAW:"),
            "{e}"
        );
    }
}
