//! Leaf values of the config file that accept more than one TOML type: durations (a number of
//! seconds, or a string with a unit) and VIPs (a CIDR string or a table).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

/// A duration as written in the file: a number of seconds (`2`, `0.5`) or a string with an
/// optional unit (`"0.1"`, `"100ms"`, `"10cs"`, `"2s"`). Parsed exactly (no float rounding) by
/// [`parse_duration`].
#[derive(Debug, Clone, PartialEq)]
pub struct RawDuration(pub String);

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration: seconds as a number, or a string like \"100ms\" or \"2s\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawDuration, E> {
                Ok(RawDuration(format!("{v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses a duration written as `N`, `N.F` (seconds) or with a unit suffix `s`, `ms` or `cs`,
/// exactly, to microsecond resolution.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "{text:?} is not a duration (write seconds like 2 or 0.5, or \"100ms\", \"10cs\", \"2s\")"
        )
    };
    let (num, unit_us): (&str, u128) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1_000)
    } else if let Some(n) = t.strip_suffix("cs") {
        (n, 10_000)
    } else if let Some(n) = t.strip_suffix("us") {
        (n, 1)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1_000_000)
    } else {
        (t, 1_000_000)
    };
    let num = num.trim();
    if num.starts_with('-') {
        return Err(format!("{text:?} is negative"));
    }
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() > 12
        || frac.len() > 12
    {
        return Err(bad());
    }
    let int_v: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let frac_v: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    let scale = 10u128.pow(u32::try_from(frac.len()).map_err(|_| bad())?);
    let frac_us = frac_v * unit_us;
    if !frac_us.is_multiple_of(scale) {
        return Err(format!("{text:?} is finer than one microsecond"));
    }
    let micros = int_v * unit_us + frac_us / scale;
    let micros = u64::try_from(micros).map_err(|_| format!("{text:?} is too long"))?;
    Ok(Duration::from_micros(micros))
}

/// `0.1s`, `2s`: a duration in seconds with only the digits it needs (one formatter, vip-core's).
pub use vip_core::rules::format_secs as format_duration;

/// A VIP as written in the file: `"198.51.100.10/32"` or
/// `{ address = "198.51.100.10/32", label = "eth0:vip", interface = "eth1" }`.
#[derive(Debug, Clone, PartialEq)]
pub enum RawVip {
    /// Just the CIDR.
    Cidr(String),
    /// The table form.
    Table(RawVipTable),
}

/// The table form of a VIP.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVipTable {
    /// The CIDR (`/32` or `/128` if no prefix is given).
    pub address: String,
    /// IPv4 address label (must start with the interface name).
    pub label: Option<String>,
    /// Interface, when it differs from the instance's.
    pub interface: Option<String>,
}

impl<'de> Deserialize<'de> for RawVip {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawVip;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a CIDR string or a table with address, label and interface")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawVip, E> {
                Ok(RawVip::Cidr(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawVip, A::Error> {
                RawVipTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawVip::Table)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_exactly() {
        assert_eq!(parse_duration("0.1"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("10cs"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration(".5"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("1.5.2").is_err());
        assert!(parse_duration("0.0000001").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn durations_format() {
        assert_eq!(format_duration(Duration::from_millis(100)), "0.1s");
        assert_eq!(format_duration(Duration::from_secs(3)), "3s");
        assert_eq!(format_duration(Duration::from_millis(1250)), "1.25s");
    }
}
