//! One simulated node: an election instance plus what its host and kernel hold.

use crate::election::{CheckStatus, Election};
use crate::lane::Lane;
use crate::{Priority, Role, Timestamp, Vip};

use super::NodeSpec;
use super::queue::Ev;

/// What the node's daemon is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    /// Running: it gets inputs as they happen.
    Running,
    /// Stopped by SIGSTOP: inputs wait until it is resumed.
    Paused,
    /// Dead; the host and kernel are up (VIPs stay, ARP is answered).
    Crashed,
    /// Powered off by a fencer; the host is down until it boots again.
    Halted,
}

/// A node's daemon, host and kernel state.
#[derive(Debug)]
pub(crate) struct Node {
    pub spec: NodeSpec,
    pub election: Election,
    /// VIPs on the interface (the kernel's view).
    pub iface: Vec<Vip>,
    pub daemon: Daemon,
    /// Bumped whenever the daemon dies or restarts: results for an old daemon are dropped.
    pub daemon_epoch: u64,
    /// Bumped when the host is powered off: kernel operations in flight are dropped.
    pub boot_epoch: u64,
    /// Daemon-bound events that arrived while paused, in arrival order.
    pub deferred: Vec<Ev>,
    /// Generation of the scheduled timer event (older ones are stale).
    pub timer_gen: u64,
    /// When the scheduled timer event fires.
    pub timer_at: Option<Timestamp>,
    /// The database's real role.
    pub role: Role,
    /// The tracked checks' real status.
    pub checks: Vec<CheckStatus>,
    pub link_up: bool,
    /// Number of daemon starts (feeds the machine's seed).
    pub starts: u64,
    /// Priority of the last advert sent (the trace prints only changes).
    pub last_advert: Option<u8>,
    /// The daemon's ordered lane of address operations and adverts (the runtime's, sans-IO).
    pub lane: Lane<Priority>,
    /// When the kernel drops the VIPs by itself (their valid lifetime).
    pub expiry: Option<Timestamp>,
    /// The daemon's arbiter client.
    pub client: Client,
    /// Address operations fail ([`super::Fault::AddressErrors`]).
    pub address_fails: bool,
    /// Extra latency of address operations ([`super::Fault::SlowAddress`]).
    pub address_extra: std::time::Duration,
    /// Failed reconcile tries left for the next restart ([`super::Fault::ReconcileFails`]).
    pub reconcile_fails: u32,
}

/// A daemon's client of the simulated arbiter.
#[derive(Debug, Default, Clone)]
pub(crate) struct Client {
    /// The token of the lease it keeps alive.
    pub held: Option<u64>,
    /// Generation of the renewal tick (older ones are stale).
    pub renew_gen: u64,
    /// The acquire in flight.
    pub acquire: Option<u64>,
    /// The revoke in flight.
    pub revoke: Option<u64>,
}

impl Node {
    pub fn new(spec: NodeSpec, seed: u64) -> Self {
        let checks = vec![CheckStatus::Passing; spec.election.checks.len()];
        Node {
            election: Election::new(spec.election.clone(), seed),
            role: spec.role.clone(),
            spec,
            iface: Vec::new(),
            daemon: Daemon::Halted,
            daemon_epoch: 0,
            boot_epoch: 0,
            deferred: Vec::new(),
            timer_gen: 0,
            timer_at: None,
            checks,
            link_up: true,
            starts: 0,
            last_advert: None,
            lane: Lane::new(),
            expiry: None,
            client: Client::default(),
            address_fails: false,
            address_extra: std::time::Duration::ZERO,
            reconcile_fails: 0,
        }
    }

    /// True while one of our VIPs is on the interface and the link is up.
    pub fn holds(&self) -> bool {
        self.link_up && !self.iface.is_empty()
    }

    /// True while the host is powered (its kernel answers ARP if the link is up).
    pub fn powered(&self) -> bool {
        self.daemon != Daemon::Halted
    }
}
