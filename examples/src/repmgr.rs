//! repmgr's `event_notification_command` arguments, and which events move the VIP.
//!
//! repmgr.conf:
//! ```text
//! event_notification_command='/usr/local/bin/vipctl repmgr-event %n %e %s "%t" "%d"'
//! event_notifications='standby_promote,repmgrd_failover_promote,standby_follow,standby_switchover'
//! ```

/// Events after which the local role may have changed: vipd re-probes at once.
pub const REPROBE_EVENTS: &[&str] = &[
    "standby_promote",
    "repmgrd_failover_promote",
    "standby_follow",
    "standby_switchover",
];

/// One event as repmgr passes it (`%n %e %s %t %d`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `%n`: the node id.
    pub node_id: String,
    /// `%e`: the event type.
    pub event: String,
    /// `%s`: `1` on success, `0` on failure.
    pub success: String,
    /// `%t`: the timestamp.
    pub timestamp: String,
    /// `%d`: details.
    pub details: String,
}

impl Event {
    /// True for the events in [`REPROBE_EVENTS`]. A failed event triggers a reprobe too: the
    /// probe, not the event, decides the role, and a failed promotion may still have changed
    /// something.
    pub fn triggers_reprobe(&self) -> bool {
        REPROBE_EVENTS.contains(&self.event.as_str())
    }
}
