//! Protocol rules that configurations must obey, stated once for every crate that checks a
//! configuration (vip-vrrp's transport, vip-node's assembly, vipd's config file).
//!
//! - [`advert_interval`]: the advertisement interval a VRRP version can carry (v2: whole
//!   seconds 1..=255; v3: centiseconds 1..=4095, RFC 9568 section 5.2.7).
//! - [`vrid_conflicts`]: each (interface, VRID, address family) is one virtual router, so two
//!   instances of one node may not share it.
//!
//! The third rule, which source address adverts go out from (the configured one, else the
//! interface's first IPv4 address that is not a VIP, or its IPv6 link-local address, as RFC
//! 9568 section 5.1.2.1 requires), needs the interface's addresses and so lives where they are
//! read: `vip_vrrp::socket::Transport::new`.

use std::time::Duration;

use crate::election::Version;
use crate::{Error, Interval};

/// The advertisement interval `d` as VRRP `version` carries it.
///
/// # Errors
/// [`Error::Config`] with key `advert_interval` when `d` is not a whole number of the
/// version's unit (v2: seconds, v3: centiseconds) or outside its range.
///
/// ```
/// use std::time::Duration;
/// use vip_core::election::Version;
/// use vip_core::{Interval, rules};
///
/// assert_eq!(
///     rules::advert_interval(Version::V3, Duration::from_millis(100)),
///     Ok(Interval::from_centis(10))
/// );
/// assert!(rules::advert_interval(Version::V2, Duration::from_millis(100)).is_err());
/// ```
pub fn advert_interval(version: Version, d: Duration) -> Result<Interval, Error> {
    let shown = format_secs(d);
    let micros = d.as_micros();
    let bad = |problem: String| {
        Err(Error::Config {
            key: "advert_interval".into(),
            problem,
        })
    };
    match version {
        Version::V2 => {
            if !micros.is_multiple_of(1_000_000) {
                return bad(format!("VRRPv2 needs whole seconds, got {shown}"));
            }
            match u32::try_from(micros / 1_000_000) {
                Ok(secs @ 1..=255) => Ok(Interval::from_secs(secs)),
                _ => bad(format!("{shown} is out of range 1s..=255s for VRRPv2")),
            }
        }
        Version::V3 => {
            if !micros.is_multiple_of(10_000) {
                return bad(format!(
                    "VRRPv3 counts in centiseconds, got {shown} (use a multiple of 10ms)"
                ));
            }
            match u32::try_from(micros / 10_000) {
                Ok(cs @ 1..=4095) => Ok(Interval::from_centis(cs)),
                _ => bad(format!("{shown} is out of range 0.01s..=40.95s for VRRPv3")),
            }
        }
    }
}

/// Checks an [`Interval`] already in centiseconds against `version` (see [`advert_interval`]).
///
/// # Errors
/// As [`advert_interval`].
pub fn check_advert_interval(version: Version, interval: Interval) -> Result<(), Error> {
    advert_interval(version, interval.as_duration()).map(|_| ())
}

/// One virtual router of a node: the key that must be unique among its instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouterKey<'a> {
    /// The interface adverts go out on.
    pub interface: &'a str,
    /// The VRID.
    pub vrid: u8,
    /// True for an IPv6 instance (IPv4 and IPv6 VRIDs are separate spaces).
    pub ipv6: bool,
}

/// The instances (by index) whose [`RouterKey`] an earlier instance already uses, each with the
/// index of that earlier instance.
///
/// ```
/// use vip_core::rules::{RouterKey, vrid_conflicts};
///
/// let k = |interface, vrid, ipv6| RouterKey { interface, vrid, ipv6 };
/// let keys = [k("eth0", 51, false), k("eth0", 51, true), k("eth0", 51, false)];
/// assert_eq!(vrid_conflicts(keys), vec![(2, 0)]);
/// ```
pub fn vrid_conflicts<'a>(keys: impl IntoIterator<Item = RouterKey<'a>>) -> Vec<(usize, usize)> {
    let mut seen = std::collections::BTreeMap::new();
    let mut conflicts = Vec::new();
    for (i, key) in keys.into_iter().enumerate() {
        if let Some(first) = seen.get(&key) {
            conflicts.push((i, *first));
        } else {
            seen.insert(key, i);
        }
    }
    conflicts
}

/// `0.1s`, `2s`: a duration in seconds with only the digits it needs.
pub fn format_secs(d: Duration) -> String {
    let micros = d.as_micros();
    let secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    if frac == 0 {
        format!("{secs}s")
    } else {
        let f = format!("{frac:06}");
        format!("{secs}.{}s", f.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(r: Result<Interval, Error>) -> String {
        match r {
            Err(Error::Config { key, problem }) => format!("{key}: {problem}"),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn intervals_per_version() {
        let ms = Duration::from_millis;
        assert_eq!(
            advert_interval(Version::V2, ms(2000)),
            Ok(Interval::from_secs(2))
        );
        assert_eq!(
            problem(advert_interval(Version::V2, ms(500))),
            "advert_interval: VRRPv2 needs whole seconds, got 0.5s"
        );
        assert_eq!(
            problem(advert_interval(Version::V2, ms(256_000))),
            "advert_interval: 256s is out of range 1s..=255s for VRRPv2"
        );
        assert_eq!(
            advert_interval(Version::V3, ms(10)),
            Ok(Interval::from_centis(1))
        );
        assert!(advert_interval(Version::V3, ms(15)).is_err());
        assert!(advert_interval(Version::V3, ms(0)).is_err());
        assert!(advert_interval(Version::V3, ms(40_960)).is_err());
        assert!(check_advert_interval(Version::V2, Interval::from_centis(150)).is_err());
        assert!(check_advert_interval(Version::V3, Interval::from_centis(150)).is_ok());
    }

    #[test]
    fn vrids_per_interface_and_family() {
        let k = |interface, vrid, ipv6| RouterKey {
            interface,
            vrid,
            ipv6,
        };
        let keys = [
            k("eth0", 1, false),
            k("eth1", 1, false),
            k("eth0", 2, false),
            k("eth0", 1, false),
            k("eth1", 1, false),
        ];
        assert_eq!(vrid_conflicts(keys), vec![(3, 0), (4, 1)]);
    }
}
