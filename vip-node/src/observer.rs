//! [`Observer`]: what an instance reports for metrics and event consumers. It only watches:
//! nothing it does steers the election.

use std::sync::Arc;
use std::time::Duration;

use vip_core::FenceOutcome;
use vip_core::election::Event;
use vip_vrrp::socket::TransportStats;

use crate::NodeConfig;

/// Receives what a node's instances do, for metrics, logs or a bus. Every method has an empty
/// default; implement the ones you need. Calls come from the instance's tasks and must not
/// block (record and return).
pub trait Observer: Send + Sync {
    /// A node for `config` is about to start (its series may be created now, before any
    /// event).
    fn node_started(&self, config: &NodeConfig) {
        let _ = config;
    }

    /// The node was stopped for good ([`crate::NodeHandle::retire`]): forget the instance.
    /// A node stopped to be rebuilt ([`crate::NodeHandle::stop`]) is not retired.
    fn node_retired(&self, instance: &str) {
        let _ = instance;
    }

    /// Every election event (transitions, alarms, priority changes), in order.
    fn event(&self, instance: &str, event: &Event) {
        let _ = (instance, event);
    }

    /// One probe ran: `probe` is `in_use` (the in-use probe), `role` (the role probe) or a
    /// tracked check's name.
    fn probe(&self, instance: &str, probe: &str, elapsed: Duration) {
        let _ = (instance, probe, elapsed);
    }

    /// One fencing attempt ended.
    fn fence(&self, instance: &str, outcome: &FenceOutcome) {
        let _ = (instance, outcome);
    }

    /// A notify hook failed (or was not run because its queue was full).
    fn hook_failed(&self, instance: &str) {
        let _ = instance;
    }

    /// The instance's VRRP transport is open; its counters can be read from `stats` until
    /// [`Observer::transport_closed`].
    fn transport_opened(&self, instance: &str, interface: &str, stats: Arc<TransportStats>) {
        let _ = (instance, interface, stats);
    }

    /// The receive path of `interface` (one per interface and address family, shared by the
    /// instances on it) counts the packets of no instance in `stats`, such as unknown VRIDs.
    /// Called each time an instance opens its transport; a new path replaces a closed one.
    fn receive_path_opened(&self, interface: &str, stats: Arc<TransportStats>) {
        let _ = (interface, stats);
    }

    /// The instance's transport was closed (the instance stopped or is being rebuilt).
    fn transport_closed(&self, instance: &str) {
        let _ = instance;
    }
}

/// An observer that ignores everything (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}
