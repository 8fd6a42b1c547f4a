//! `vipd import-vip-manager`: translates vip-manager's YAML (the Patroni leader-key follower)
//! into a vipd instance with `[instance.etcd.patroni]`.

mod import;
mod yaml;

pub use import::import;
