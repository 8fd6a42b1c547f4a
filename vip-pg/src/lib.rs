//! vip-pg (being built).
