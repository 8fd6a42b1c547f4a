//! Lab-test support (feature `lab`): network namespaces joined by veth pairs and a bridge, with
//! cleanup that always runs.
//!
//! Lab tests build their own small networks inside namespaces, use documentation address ranges
//! only ([`LAB_RANGES`]; the guard refuses any other address, and any command aimed at a
//! namespace the lab did not create, with [`LabError::Refused`]), and remove everything when the [`Lab`] is dropped, even when the test fails. Names carry
//! a per-test prefix and the process id, so tests run in parallel.
//!
//! ```no_run
//! # fn main() -> Result<(), vip_core::lab::LabError> {
//! use vip_core::lab::Lab;
//! let Some(mut lab) = Lab::new_or_skip("doc_example")? else { return Ok(()) };
//! let a = lab.namespace("a")?;
//! let b = lab.namespace("b")?;
//! lab.segment(&[&a, &b])?; // eth0 in each, joined by a bridge
//! a.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])?;
//! b.run(&["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"])?;
//! a.run(&["ping", "-c1", "-W1", "198.51.100.2"])?;
//! # Ok(()) }
//! ```

mod addr_events;
mod guard;
mod keepalived;
mod ns;
mod overlap;
mod process;
mod stub;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

pub use guard::{LAB_RANGES, is_lab_address};
pub use keepalived::{KEEPALIVED_BIN, Keepalived, PACKET_ERROR_PATTERNS};
pub use ns::Ns;
pub use overlap::{Change, Overlap, OverlapChecker, Timeline};
pub use process::LabProcess;
pub use stub::NoAddresses;

/// A lab setup error.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A command failed.
    #[error("lab command `{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// An I/O error (spawning, opening a namespace).
    #[error("lab: {context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The lab's guard refused a command: it would have acted outside the lab's own
    /// namespaces, or configured an address outside [`LAB_RANGES`] (the machine's own network
    /// must never see a lab address).
    #[error(
        "lab refused `{command}`: {reason}; labs act only inside namespaces they created and \
         configure only {LAB_RANGES}"
    )]
    Refused {
        /// The command line.
        command: String,
        /// Why it was refused.
        reason: String,
    },
}

/// Polls `f` every 10 ms until it returns true or `limit` has passed; returns whether it did.
pub fn wait_until(limit: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// True if the process runs as root. Lab tests need it.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

static LAB_SEQ: AtomicU32 = AtomicU32::new(0);

/// One lab: the namespaces and processes a test created. Dropping it kills the processes and
/// deletes the namespaces (which removes their interfaces and addresses with them).
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    namespaces: Vec<String>,
    processes: Arc<Mutex<Vec<u32>>>,
    segments: u32,
}

impl Lab {
    /// A new, empty lab whose namespace names start with `tag`, the process id and a sequence
    /// number. Returns `Ok(None)` after printing a one-line skip message when not root.
    pub fn new_or_skip(tag: &str) -> Result<Option<Lab>, LabError> {
        if !is_root() {
            println!("skipping {tag}: lab tests need root (network namespaces, veth)");
            return Ok(None);
        }
        Ok(Some(Lab::new(tag)))
    }

    /// A new, empty lab (the caller has checked for root).
    pub fn new(tag: &str) -> Lab {
        let seq = LAB_SEQ.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{tag}-{}-{seq}", std::process::id());
        Lab {
            prefix,
            namespaces: Vec::new(),
            processes: Arc::default(),
            segments: 0,
        }
    }

    /// The prefix of every namespace name in this lab.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Creates namespace `<prefix>-<short>` with loopback up and IPv6 DAD off (so addresses are
    /// usable at once).
    pub fn namespace(&mut self, short: &str) -> Result<Ns, LabError> {
        let name = format!("{}-{short}", self.prefix);
        // A leftover from a crashed earlier run of the same pid is unlikely, but harmless to remove.
        let _ = ns::command_output(&["ip", "netns", "del", &name]);
        ns::run(&["ip", "netns", "add", &name])?;
        self.namespaces.push(name.clone());
        let ns = Ns::new(name, self.prefix.clone(), Arc::clone(&self.processes));
        ns.run(&["ip", "link", "set", "lo", "up"])?;
        ns.run(&[
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
        ])?;
        Ok(ns)
    }

    /// Joins `nodes` on one Ethernet segment: a bridge in a switch namespace of its own, and in
    /// each node an interface `eth0` (veth) attached to it, all up. Returns the switch namespace.
    pub fn segment(&mut self, nodes: &[&Ns]) -> Result<Ns, LabError> {
        self.segment_named(nodes, "eth0")
    }

    /// Like [`Lab::segment`], with the node-side interface called `ifname`.
    pub fn segment_named(&mut self, nodes: &[&Ns], ifname: &str) -> Result<Ns, LabError> {
        let idx = self.segments;
        self.segments += 1;
        let sw = self.namespace(&format!("sw{idx}"))?;
        sw.run(&[
            "ip",
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "forward_delay",
            "0",
        ])?;
        // Multicast snooping could delay VRRP/ND multicast on a fresh bridge; flood instead.
        sw.run(&[
            "ip",
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])?;
        sw.run(&["ip", "link", "set", "br0", "up"])?;
        for (i, node) in nodes.iter().enumerate() {
            let port = format!("p{i}");
            ns::run(&[
                "ip",
                "link",
                "add",
                ifname,
                "netns",
                node.name(),
                "type",
                "veth",
                "peer",
                "name",
                &port,
                "netns",
                sw.name(),
            ])?;
            sw.run(&["ip", "link", "set", &port, "master", "br0"])?;
            sw.run(&["ip", "link", "set", &port, "up"])?;
            node.run(&["ip", "link", "set", ifname, "up"])?;
        }
        Ok(sw)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let pids: Vec<u32> = match self.processes.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for pid in pids {
            process::terminate(pid);
        }
        for name in self.namespaces.drain(..).rev() {
            let _ = ns::command_output(&["ip", "netns", "del", &name]);
        }
    }
}
