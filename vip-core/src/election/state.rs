//! Election states.

use std::fmt;

/// The state of one election instance. RFC 9568 section 6 defines Initialize, Backup and Master;
/// vip adds Claiming (fence-first takeover) and Fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started, or stopped.
    Initialize,
    /// Watching the master's adverts; holds no VIP.
    Backup,
    /// Taking over: advertising at the claiming priority and making sure the VIPs are free
    /// (probe, fence, re-probe) before adding them. Holds no VIP.
    Claiming,
    /// Holds the VIPs and advertises.
    Master,
    /// Interface down or a tracked check in fault: holds no VIP and stays out of the election.
    Fault,
}

impl State {
    /// A stable lower-case name for logs, metrics and notify hooks.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initialize => "initialize",
            State::Backup => "backup",
            State::Claiming => "claiming",
            State::Master => "master",
            State::Fault => "fault",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
