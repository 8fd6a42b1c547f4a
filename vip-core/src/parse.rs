//! `FromStr` for [`Vip`], [`Priority`] and [`Interval`], so that an embedder can write
//! `"198.51.100.10/24".parse()` and a config file's strings map straight onto the types.

use std::net::IpAddr;
use std::str::FromStr;

use crate::{Interval, Priority, Vip};

/// A string that is not a valid [`Vip`], [`Priority`] or [`Interval`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a valid {what} (hint: {hint})")]
pub struct ParseError {
    /// What was being parsed (`VIP`, `priority`, `interval`).
    pub what: &'static str,
    /// The input.
    pub input: String,
    /// The accepted forms.
    pub hint: &'static str,
}

impl ParseError {
    fn new(what: &'static str, input: &str, hint: &'static str) -> Self {
        ParseError {
            what,
            input: input.to_owned(),
            hint,
        }
    }
}

const VIP_HINT: &str = "ADDR, ADDR/PREFIX or ADDR/PREFIX dev IFACE, e.g. 198.51.100.10/24";

impl FromStr for Vip {
    type Err = ParseError;

    /// `ADDR`, `ADDR/PREFIX` or `ADDR/PREFIX dev IFACE` (the [`Display`](std::fmt::Display)
    /// form). Without `dev` the interface is empty: the instance that carries the VIP fills in
    /// its own interface. Without a prefix it is a host VIP (/32 or /128).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = || ParseError::new("VIP", s, VIP_HINT);
        let mut words = s.split_whitespace();
        let cidr = words.next().ok_or_else(err)?;
        let interface = match (words.next(), words.next(), words.next()) {
            (None, _, _) => String::new(),
            (Some("dev"), Some(i), None) => i.to_owned(),
            _ => return Err(err()),
        };
        let (addr, prefix) = match cidr.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (cidr, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err())?;
        let mut vip = Vip::host(addr, interface);
        if let Some(p) = prefix {
            let p: u8 = p.parse().map_err(|_| err())?;
            if p == 0 || p > vip.max_prefix_len() {
                return Err(err());
            }
            vip.prefix_len = p;
        }
        Ok(vip)
    }
}

impl FromStr for Priority {
    type Err = ParseError;

    /// `1` to `255` (0 is the release priority, which only a releasing master sends).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s.trim().parse::<u8>() {
            Ok(v @ 1..=255) => Ok(Priority::new(v)),
            _ => Err(ParseError::new(
                "priority",
                s,
                "a whole number 1..=255 (255 = address owner)",
            )),
        }
    }
}

impl FromStr for Interval {
    type Err = ParseError;

    /// A positive number of centiseconds with its unit: `100cs`, `100ms`, `1s`, `0.5s` (a
    /// whole number of centiseconds; whether the VRRP version can carry it is
    /// [`crate::rules::advert_interval`]'s call).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = || {
            ParseError::new(
                "interval",
                s,
                "a multiple of 10 ms with its unit: 100cs, 100ms, 1s or 0.5s",
            )
        };
        let t = s.trim();
        let (number, micros_per_unit) = if let Some(n) = t.strip_suffix("cs") {
            (n, 10_000u64)
        } else if let Some(n) = t.strip_suffix("ms") {
            (n, 1_000)
        } else if let Some(n) = t.strip_suffix('s') {
            (n, 1_000_000)
        } else {
            return Err(err());
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 6 {
            return Err(err());
        }
        let whole: u64 = whole.parse().map_err(|_| err())?;
        // The fraction in millionths of the unit, then in microseconds.
        let millionths: u64 = format!("{frac:0<6}").parse().map_err(|_| err())?;
        let scaled = millionths * micros_per_unit;
        if !scaled.is_multiple_of(1_000_000) {
            return Err(err());
        }
        let frac_micros = scaled / 1_000_000;
        let micros = whole
            .checked_mul(micros_per_unit)
            .and_then(|m| m.checked_add(frac_micros))
            .ok_or_else(err)?;
        if micros == 0 || !micros.is_multiple_of(10_000) {
            return Err(err());
        }
        u32::try_from(micros / 10_000)
            .map(Interval::from_centis)
            .map_err(|_| err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vips() {
        let v: Vip = "198.51.100.10/24".parse().unwrap();
        assert_eq!(
            v,
            Vip::with_prefix("198.51.100.10".parse().unwrap(), 24, "")
        );
        let v: Vip = "198.51.100.10".parse().unwrap();
        assert_eq!(v.prefix_len, 32);
        let v: Vip = "2001:db8::10/64 dev eth1".parse().unwrap();
        assert_eq!(
            v,
            Vip::with_prefix("2001:db8::10".parse().unwrap(), 64, "eth1")
        );
        // The Display form parses back.
        assert_eq!(v.to_string().parse::<Vip>().unwrap(), v);
        for bad in [
            "",
            "x",
            "198.51.100.10/33",
            "198.51.100.10/0",
            "198.51.100.10/24 eth0",
            "1.2.3.4 dev",
        ] {
            assert!(bad.parse::<Vip>().is_err(), "{bad}");
        }
        let e = "nope".parse::<Vip>().unwrap_err().to_string();
        assert!(e.contains("\"nope\" is not a valid VIP (hint: "), "{e}");
    }

    #[test]
    fn priorities() {
        assert_eq!("150".parse::<Priority>().unwrap(), Priority::new(150));
        assert_eq!("255".parse::<Priority>().unwrap(), Priority::OWNER);
        for bad in ["0", "256", "-1", "high", ""] {
            assert!(bad.parse::<Priority>().is_err(), "{bad}");
        }
    }

    #[test]
    fn intervals() {
        let cs = Interval::from_centis;
        assert_eq!("100cs".parse::<Interval>().unwrap(), cs(100));
        assert_eq!("100ms".parse::<Interval>().unwrap(), cs(10));
        assert_eq!("1s".parse::<Interval>().unwrap(), cs(100));
        assert_eq!("0.25s".parse::<Interval>().unwrap(), cs(25));
        // Display form round-trips.
        assert_eq!(cs(37).to_string().parse::<Interval>().unwrap(), cs(37));
        for bad in [
            "", "1", "0s", "15ms", "0.001s", "1.5cs", "s", "-1s", "1 min", ".5s",
        ] {
            assert!(bad.parse::<Interval>().is_err(), "{bad}");
        }
    }
}
