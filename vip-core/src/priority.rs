//! VRRP priority (RFC 9568 section 5.2.4).

use std::fmt;

/// A VRRP priority. 0 means "the master is releasing", 1..=254 are ordinary backups and masters,
/// 255 is reserved for the address owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Priority(u8);

impl Priority {
    /// Priority 0: sent by a master that stops being master.
    pub const RELEASE: Priority = Priority(0);
    /// The lowest priority a router may run with.
    pub const MIN: Priority = Priority(1);
    /// The default priority for a backup router (RFC 9568 section 6.1).
    pub const DEFAULT: Priority = Priority(100);
    /// The highest priority a non-owner may run with.
    pub const MAX_BACKUP: Priority = Priority(254);
    /// Priority 255: the router owns the addresses.
    pub const OWNER: Priority = Priority(255);

    /// Wraps a raw priority value.
    pub const fn new(value: u8) -> Self {
        Priority(value)
    }

    /// The raw value.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// True for priority 0.
    pub const fn is_release(self) -> bool {
        self.0 == 0
    }

    /// True for priority 255.
    pub const fn is_owner(self) -> bool {
        self.0 == 255
    }

    /// Base priority plus a signed weight, clamped to 1..=254 (keepalived's tracked-check
    /// semantics). An owner (255) stays 255 and release (0) stays 0.
    pub fn with_weight(self, weight: i32) -> Priority {
        if self.is_owner() || self.is_release() {
            return self;
        }
        let v = (i32::from(self.0) + weight).clamp(1, 254);
        Priority(u8::try_from(v).unwrap_or(254))
    }
}

impl Default for Priority {
    fn default() -> Self {
        Priority::DEFAULT
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_clamps_to_backup_range() {
        assert_eq!(Priority::new(100).with_weight(10), Priority::new(110));
        assert_eq!(Priority::new(250).with_weight(10), Priority::new(254));
        assert_eq!(Priority::new(5).with_weight(-10), Priority::new(1));
        assert_eq!(Priority::OWNER.with_weight(-10), Priority::OWNER);
        assert_eq!(Priority::RELEASE.with_weight(10), Priority::RELEASE);
    }
}
