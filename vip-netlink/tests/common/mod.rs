//! Shared helpers of the lab tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;

use vip_core::lab::{Lab, Ns};

/// Runs an async block on a runtime inside `ns`.
pub fn run_in<F, Fut, R>(ns: &Ns, f: F) -> R
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = R>,
    R: Send + 'static,
{
    ns.block_on(f).unwrap()
}

/// A lab with `names` namespaces on one segment (eth0 each), or None when not root.
pub fn lab(tag: &str, names: &[&str]) -> Option<(Lab, Vec<Ns>)> {
    let mut lab = Lab::new_or_skip(tag).unwrap()?;
    let nodes: Vec<Ns> = names.iter().map(|n| lab.namespace(n).unwrap()).collect();
    let refs: Vec<&Ns> = nodes.iter().collect();
    lab.segment(&refs).unwrap();
    Some((lab, nodes))
}

/// One address as `ip -j addr show` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelAddr {
    pub local: String,
    pub prefixlen: u64,
    pub label: Option<String>,
    pub noprefixroute: bool,
    pub nodad: bool,
    /// Seconds of valid lifetime left (u32::MAX: forever).
    pub valid_lft: u64,
}

/// The addresses on `dev` in `ns`, from `ip -j addr show` (the test may use `ip`).
pub fn kernel_addrs(ns: &Ns, dev: &str) -> Vec<KernelAddr> {
    let out = ns.run(&["ip", "-j", "addr", "show", "dev", dev]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut addrs = Vec::new();
    for link in v.as_array().unwrap() {
        for a in link["addr_info"].as_array().unwrap() {
            addrs.push(KernelAddr {
                local: a["local"].as_str().unwrap().to_string(),
                prefixlen: a["prefixlen"].as_u64().unwrap(),
                label: a["label"].as_str().map(str::to_string),
                noprefixroute: a["noprefixroute"].as_bool().unwrap_or(false),
                nodad: a["nodad"].as_bool().unwrap_or(false),
                valid_lft: a["valid_life_time"].as_u64().unwrap_or(u64::from(u32::MAX)),
            });
        }
    }
    addrs
}

/// The addresses on `dev` equal to `addr`.
pub fn find(ns: &Ns, dev: &str, addr: &str) -> Vec<KernelAddr> {
    kernel_addrs(ns, dev)
        .into_iter()
        .filter(|a| a.local == addr)
        .collect()
}

/// The MAC of `dev` in `ns` as bytes.
pub fn mac(ns: &Ns, dev: &str) -> [u8; 6] {
    let s = ns.mac(dev).unwrap();
    let mut m = [0u8; 6];
    for (i, part) in s.split(':').enumerate() {
        m[i] = u8::from_str_radix(part, 16).unwrap();
    }
    m
}

/// The lladdr of the neighbour entry for `addr` in `ns`, if any.
pub fn neigh_lladdr(ns: &Ns, dev: &str, addr: &str) -> Option<String> {
    let out = ns
        .run(&["ip", "-j", "neigh", "show", "dev", dev, "to", addr])
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).ok()?;
    v.as_array()?
        .iter()
        .find_map(|n| n["lladdr"].as_str().map(str::to_string))
}
