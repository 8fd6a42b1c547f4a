//! The metrics as vip-node's [`Observer`]: every instance reports its start and retirement
//! (its series appear and go), its events, probe latencies, fence outcomes, failed hooks and
//! transport counters here.

use std::sync::Arc;
use std::time::Duration;

use vip_core::FenceOutcome;
use vip_core::election::Event;
use vip_node::{NodeConfig, Observer};
use vip_vrrp::socket::TransportStats;

use super::Metrics;

impl Observer for Metrics {
    fn node_started(&self, config: &NodeConfig) {
        self.add_instance(&config.name, config.priority.get());
    }

    fn node_retired(&self, instance: &str) {
        self.remove_instance(instance);
    }

    fn event(&self, instance: &str, event: &Event) {
        self.observe_event(instance, event);
        if matches!(event.kind, vip_core::election::EventKind::Transition { .. }) {
            // STATUS= follows each transition.
            crate::sdnotify::state_changed();
        }
    }

    fn probe(&self, instance: &str, probe: &str, elapsed: Duration) {
        self.observe_probe(instance, probe, elapsed);
    }

    fn fence(&self, instance: &str, outcome: &FenceOutcome) {
        self.fence_outcome(instance, outcome);
    }

    fn hook_failed(&self, instance: &str) {
        Metrics::hook_failed(self, instance);
    }

    fn transport_opened(&self, instance: &str, interface: &str, stats: Arc<TransportStats>) {
        self.attach_transport(instance, interface, stats);
    }

    fn receive_path_opened(&self, interface: &str, stats: Arc<TransportStats>) {
        self.attach_receive_path(interface, stats);
    }

    fn transport_closed(&self, instance: &str) {
        self.detach_transport(instance);
    }
}
