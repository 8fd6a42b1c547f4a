//! [`VridSet`]: the virtual router ids configured on an interface, as a 256-bit bitmap.

/// A set of VRIDs: a 256-bit bitmap, so membership is one shift and one mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VridSet([u64; 4]);

impl VridSet {
    /// The empty set.
    pub const fn new() -> VridSet {
        VridSet([0; 4])
    }

    /// Every VRID (0..=255), for receivers that accept any VRID (captures, tools).
    pub const fn all() -> VridSet {
        VridSet([u64::MAX; 4])
    }

    /// The set holding only `vrid`.
    pub const fn single(vrid: u8) -> VridSet {
        VridSet::new().with(vrid)
    }

    /// This set plus `vrid`.
    pub const fn with(mut self, vrid: u8) -> VridSet {
        self.0[(vrid >> 6) as usize] |= 1 << (vrid & 63);
        self
    }

    /// Adds `vrid`.
    pub fn insert(&mut self, vrid: u8) {
        *self = self.with(vrid);
    }

    /// Removes `vrid`.
    pub fn remove(&mut self, vrid: u8) {
        self.0[usize::from(vrid >> 6)] &= !(1 << (vrid & 63));
    }

    /// True if `vrid` is in the set.
    pub const fn contains(&self, vrid: u8) -> bool {
        self.0[(vrid >> 6) as usize] & (1 << (vrid & 63)) != 0
    }

    /// True if the set is empty.
    pub const fn is_empty(&self) -> bool {
        self.0[0] | self.0[1] | self.0[2] | self.0[3] == 0
    }

    /// The VRIDs in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|&v| self.contains(v))
    }
}

impl FromIterator<u8> for VridSet {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> VridSet {
        let mut set = VridSet::new();
        for vrid in iter {
            set.insert(vrid);
        }
        set
    }
}

impl Extend<u8> for VridSet {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, iter: I) {
        for vrid in iter {
            self.insert(vrid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership() {
        let mut set: VridSet = [0u8, 51, 63, 64, 255].into_iter().collect();
        for v in [0u8, 51, 63, 64, 255] {
            assert!(set.contains(v));
        }
        assert!(!set.contains(52) && !set.contains(254) && !set.contains(1));
        set.remove(51);
        assert!(!set.contains(51));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 63, 64, 255]);
        assert!(VridSet::new().is_empty() && !VridSet::all().is_empty());
        assert!((0..=255).all(|v| VridSet::all().contains(v)));
    }
}
