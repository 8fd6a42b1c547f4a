//! vip-vrrp (being built).
