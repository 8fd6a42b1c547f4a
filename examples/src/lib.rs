//! Library half of the vip examples (being built).
