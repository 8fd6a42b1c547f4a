//! vip-netlink (being built).
