//! The sans-IO pool of one virtual service: check results and time in, the service's desired
//! kernel target out. No I/O and no clock of its own; the balancer feeds it.
//!
//! Semantics (keepalived's):
//! - A real server with checks starts down and joins at its first passing check (keepalived's
//!   `alpha`); one without checks is always up.
//! - A failing check is retried after `delay_before_retry`; the server leaves at failure number
//!   `retry + 1` in a row. Passing checks run every `delay_loop`; one pass brings a server back.
//! - Several checks on one server must all be up.
//! - A check may set the server's weight (`misc_dynamic`); it stays until set again.
//! - Quorum is up when the healthy weight sum reaches `quorum`, down when it falls below
//!   `quorum - hysteresis`.
//! - With quorum down and a sorry server, only the sorry server takes connections; with no
//!   healthy server and a sorry server, likewise. With neither, the service has no rule: new
//!   connections reach the balancer itself (refused unless something listens there).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::rules::{ServiceRules, Target};
use crate::{CheckOutcome, VirtualService};

/// One check of one server, as the pool tracks it.
#[derive(Debug, Clone)]
struct Checker {
    up: bool,
    failures: u32,
    next_at: Instant,
    in_flight: bool,
}

#[derive(Debug, Clone)]
struct Server {
    checkers: Vec<Checker>,
    dynamic_weight: Option<u32>,
    last_error: Option<String>,
}

/// Names one check: the server's index in the service and the check's index on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CheckId {
    /// Index of the real server in [`VirtualService::real_servers`].
    pub server: usize,
    /// Index of the check on that server (in the order checks were added).
    pub check: usize,
}

/// What the pool says about one real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerView {
    /// The server's address.
    pub addr: SocketAddr,
    /// Its configured weight.
    pub configured_weight: u32,
    /// Whether all its checks are up.
    pub healthy: bool,
    /// The weight it has in the service's rules (0: out, inhibited, drained, or the sorry
    /// server has taken over). The rules are in the kernel while the service is active.
    pub weight: u32,
    /// The last failure, if any check has failed since the server was last fully up.
    pub last_error: Option<String>,
}

/// The pool of one service.
#[derive(Debug, Clone)]
pub struct Pool {
    service: VirtualService,
    servers: Vec<Server>,
    quorum_up: bool,
}

impl Pool {
    /// A pool for `service` (already validated) whose server `i` has `checks[i]` checks (missing
    /// entries: none), all due at `now`.
    pub fn new(service: VirtualService, checks: &[usize], now: Instant) -> Pool {
        let servers = (0..service.real_servers.len())
            .map(|i| Server {
                checkers: (0..checks.get(i).copied().unwrap_or(0))
                    .map(|_| Checker {
                        up: false,
                        failures: 0,
                        next_at: now,
                        in_flight: false,
                    })
                    .collect(),
                dynamic_weight: None,
                last_error: None,
            })
            .collect();
        let mut pool = Pool {
            service,
            servers,
            quorum_up: false,
        };
        pool.update_quorum();
        pool
    }

    /// The service.
    pub fn service(&self) -> &VirtualService {
        &self.service
    }

    /// The checks due at `now`, marked in flight (each is reported back with
    /// [`Pool::on_result`]).
    pub fn due(&mut self, now: Instant) -> Vec<CheckId> {
        let mut ids = Vec::new();
        for (s, server) in self.servers.iter_mut().enumerate() {
            for (c, ch) in server.checkers.iter_mut().enumerate() {
                if !ch.in_flight && ch.next_at <= now {
                    ch.in_flight = true;
                    ids.push(CheckId {
                        server: s,
                        check: c,
                    });
                }
            }
        }
        ids
    }

    /// When the next check not in flight is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.servers
            .iter()
            .flat_map(|s| s.checkers.iter())
            .filter(|c| !c.in_flight)
            .map(|c| c.next_at)
            .min()
    }

    /// Feeds the result of check `id` at `now`. Returns true if the service's desired rules
    /// changed (the caller writes them).
    pub fn on_result(&mut self, id: CheckId, outcome: CheckOutcome, now: Instant) -> bool {
        let before = self.rules();
        let policy = self.service.policy;
        let Some(server) = self.servers.get_mut(id.server) else {
            return false;
        };
        let Some(ch) = server.checkers.get_mut(id.check) else {
            return false;
        };
        ch.in_flight = false;
        match outcome {
            CheckOutcome::Up { weight } => {
                ch.up = true;
                ch.failures = 0;
                ch.next_at = now + policy.delay_loop;
                if let Some(w) = weight {
                    server.dynamic_weight = Some(w);
                }
                if server.checkers.iter().all(|c| c.up) {
                    server.last_error = None;
                }
            }
            CheckOutcome::Down(why) => {
                ch.failures = ch.failures.saturating_add(1);
                if ch.up && ch.failures <= policy.retry {
                    ch.next_at = now + policy.delay_before_retry;
                } else {
                    ch.up = false;
                    ch.next_at = now + policy.delay_loop;
                }
                server.last_error = Some(why);
            }
        }
        self.update_quorum();
        self.rules() != before
    }

    fn healthy(&self, i: usize) -> bool {
        self.servers
            .get(i)
            .is_some_and(|s| s.checkers.iter().all(|c| c.up))
    }

    fn weight(&self, i: usize) -> u32 {
        if !self.healthy(i) {
            return 0;
        }
        let configured = self.service.real_servers.get(i).map_or(0, |r| r.weight);
        self.servers
            .get(i)
            .and_then(|s| s.dynamic_weight)
            .unwrap_or(configured)
    }

    /// The healthy weight sum quorum is judged on.
    pub fn healthy_weight(&self) -> u64 {
        (0..self.servers.len())
            .map(|i| u64::from(self.weight(i)))
            .sum()
    }

    fn update_quorum(&mut self) {
        let sum = self.healthy_weight();
        let quorum = u64::from(self.service.quorum);
        let down_below = quorum.saturating_sub(u64::from(self.service.hysteresis));
        if !self.quorum_up && sum >= quorum {
            self.quorum_up = true;
        } else if self.quorum_up && sum < down_below {
            self.quorum_up = false;
        }
    }

    /// Whether quorum is up.
    pub fn quorum_up(&self) -> bool {
        self.quorum_up
    }

    fn real_targets(&self) -> Vec<Target> {
        self.service
            .real_servers
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let w = self.weight(i);
                (w > 0).then_some(Target {
                    addr: r.addr,
                    weight: w,
                })
            })
            .collect()
    }

    /// Whether the sorry server takes the connections now.
    pub fn sorry_active(&self) -> bool {
        self.service.sorry_server.is_some() && (!self.quorum_up || self.real_targets().is_empty())
    }

    /// The rules this service wants in the kernel while active.
    pub fn rules(&self) -> ServiceRules {
        let targets = match self.service.sorry_server {
            Some(addr) if self.sorry_active() => vec![Target { addr, weight: 1 }],
            _ => self.real_targets(),
        };
        ServiceRules {
            name: self.service.name.clone(),
            vip: self.service.vip,
            port: self.service.port,
            protocol: self.service.protocol,
            scheduler: self.service.scheduler,
            targets,
        }
    }

    /// Each real server as the pool sees it.
    pub fn servers(&self) -> Vec<ServerView> {
        let sorry = self.sorry_active();
        self.service
            .real_servers
            .iter()
            .enumerate()
            .map(|(i, r)| ServerView {
                addr: r.addr,
                configured_weight: r.weight,
                healthy: self.healthy(i),
                weight: if sorry { 0 } else { self.weight(i) },
                last_error: self.servers.get(i).and_then(|s| s.last_error.clone()),
            })
            .collect()
    }

    /// The longest a server can take to leave once its check starts failing: the failing
    /// check's first run comes within `delay_loop`, then `retry` retries `delay_before_retry`
    /// apart, each bounded by `timeout`.
    pub fn worst_leave_time(&self) -> Duration {
        let p = self.service.policy;
        p.delay_loop + p.timeout + (p.delay_before_retry + p.timeout) * p.retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CheckPolicy, Protocol, RealServer, Scheduler};
    use proptest::prelude::*;

    fn svc(weights: &[u32], quorum: u32, hysteresis: u32, sorry: bool) -> VirtualService {
        VirtualService {
            name: "web".into(),
            vip: "198.51.100.10".parse().unwrap(),
            port: 80,
            protocol: Protocol::Tcp,
            scheduler: Scheduler::Wrr,
            real_servers: weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| RealServer {
                    addr: format!("203.0.113.{}:80", i + 2).parse().unwrap(),
                    weight,
                })
                .collect(),
            sorry_server: sorry.then(|| "203.0.113.99:80".parse().unwrap()),
            quorum,
            hysteresis,
            policy: CheckPolicy {
                delay_loop: Duration::from_secs(3),
                timeout: Duration::from_secs(1),
                retry: 2,
                delay_before_retry: Duration::from_secs(1),
                inhibit_on_failure: false,
            },
        }
    }

    const UP: CheckOutcome = CheckOutcome::Up { weight: None };
    fn down() -> CheckOutcome {
        CheckOutcome::Down("refused".into())
    }
    fn id(server: usize) -> CheckId {
        CheckId { server, check: 0 }
    }

    #[test]
    fn servers_join_at_first_pass_and_leave_after_retry_plus_one_failures() {
        let t0 = Instant::now();
        let mut p = Pool::new(svc(&[1, 1], 1, 0, false), &[1, 1], t0);
        assert!(p.rules().targets.is_empty());
        assert_eq!(p.due(t0).len(), 2);
        assert!(p.due(t0).is_empty(), "in flight");
        assert!(p.on_result(id(0), UP, t0));
        assert!(!p.on_result(id(1), down(), t0), "never up: no change");
        assert_eq!(p.rules().targets.len(), 1);
        assert_eq!(p.next_due(), Some(t0 + Duration::from_secs(3)));
        // First failure and retries: still in; the retry comes after delay_before_retry.
        let t1 = t0 + Duration::from_secs(3);
        assert_eq!(p.due(t1).len(), 2);
        assert!(!p.on_result(id(1), down(), t1));
        assert!(!p.on_result(id(0), down(), t1));
        assert_eq!(p.servers()[0].last_error.as_deref(), Some("refused"));
        assert!(p.servers()[0].healthy);
        let t2 = t1 + Duration::from_secs(1);
        assert_eq!(p.due(t2), vec![id(0)]);
        assert!(!p.on_result(id(0), down(), t2));
        p.due(t2 + Duration::from_secs(1));
        assert!(p.on_result(id(0), down(), t2 + Duration::from_secs(1)));
        assert!(p.rules().targets.is_empty());
        assert!(!p.quorum_up());
        // One pass brings it back.
        let t3 = t2 + Duration::from_secs(5);
        assert_eq!(p.due(t3), vec![id(0), id(1)]);
        assert!(p.on_result(id(0), UP, t3));
        assert_eq!(p.servers()[0].last_error, None);
    }

    #[test]
    fn unchecked_servers_are_always_up_and_dynamic_weights_stick() {
        let t0 = Instant::now();
        let mut p = Pool::new(svc(&[5, 7], 1, 0, false), &[1], t0);
        assert_eq!(p.rules().targets.len(), 1);
        assert_eq!(p.rules().targets[0].weight, 7);
        p.due(t0);
        assert!(p.on_result(id(0), CheckOutcome::Up { weight: Some(3) }, t0));
        assert_eq!(p.servers()[0].weight, 3);
        p.due(t0 + Duration::from_secs(3));
        assert!(!p.on_result(id(0), UP, t0 + Duration::from_secs(3)));
        assert_eq!(p.servers()[0].weight, 3, "exit 0 keeps the dynamic weight");
        p.due(t0 + Duration::from_secs(6));
        assert!(p.on_result(
            id(0),
            CheckOutcome::Up { weight: Some(0) },
            t0 + Duration::from_secs(6)
        ));
        assert_eq!(p.rules().targets.len(), 1, "weight 0 = drained");
    }

    #[test]
    fn quorum_with_hysteresis_and_the_sorry_server() {
        let t0 = Instant::now();
        // Three servers of weight 1; quorum 3, hysteresis 1: up at 3, down below 2.
        let mut p = Pool::new(svc(&[1, 1, 1], 3, 1, true), &[1, 1, 1], t0);
        assert!(p.sorry_active());
        assert_eq!(
            p.rules().targets[0].addr,
            "203.0.113.99:80".parse().unwrap()
        );
        p.due(t0);
        p.on_result(id(0), UP, t0);
        p.on_result(id(1), UP, t0);
        assert!(!p.quorum_up(), "2 < 3");
        assert!(p.sorry_active());
        assert!(p.on_result(id(2), UP, t0));
        assert!(p.quorum_up());
        assert!(!p.sorry_active());
        assert_eq!(p.rules().targets.len(), 3);
        // One leaves: 2 is not below 2, quorum stays up.
        let mut t = t0;
        for _ in 0..3 {
            t += Duration::from_secs(3);
            p.due(t);
            p.on_result(id(2), down(), t);
        }
        assert!(!p.servers()[2].healthy);
        assert!(p.quorum_up());
        assert_eq!(p.rules().targets.len(), 2);
        // Another leaves: 1 < 2, quorum down, the sorry server alone.
        for _ in 0..3 {
            t += Duration::from_secs(3);
            p.due(t);
            p.on_result(id(1), down(), t);
        }
        assert!(!p.quorum_up());
        assert_eq!(p.rules().targets.len(), 1);
        assert!(p.sorry_active());
        // Back to 2: still below 3, quorum stays down (hysteresis).
        t += Duration::from_secs(3);
        p.due(t);
        p.on_result(id(1), UP, t);
        assert!(!p.quorum_up());
    }

    #[test]
    fn quorum_lost_without_sorry_keeps_the_healthy_servers() {
        let t0 = Instant::now();
        let mut p = Pool::new(svc(&[1, 1], 2, 0, false), &[1, 1], t0);
        p.due(t0);
        p.on_result(id(0), UP, t0);
        assert!(!p.quorum_up());
        assert_eq!(p.rules().targets.len(), 1);
    }

    proptest! {
        #[test]
        fn pool_invariants(
            weights in prop::collection::vec(0u32..5, 1..5),
            quorum in 0u32..8,
            hyst in 0u32..4,
            sorry in any::<bool>(),
            events in prop::collection::vec((0usize..5, any::<bool>(), prop::option::of(0u32..4)), 0..80),
        ) {
            let hysteresis = if quorum == 0 { 0 } else { hyst.min(quorum - 1) };
            let service = svc(&weights, quorum, hysteresis, sorry);
            let n = weights.len();
            let t0 = Instant::now();
            let mut p = Pool::new(service, &vec![1; n], t0);
            let mut fails = vec![0u32; n];
            let mut up = vec![false; n];
            let mut quorum_up = p.quorum_up();
            for (k, (s, pass, w)) in events.into_iter().enumerate() {
                let s = s % n;
                let now = t0 + Duration::from_secs(k as u64 * 10);
                p.due(now);
                let outcome = if pass { CheckOutcome::Up { weight: w } } else { down() };
                let before = p.rules();
                let changed = p.on_result(id(s), outcome, now);
                prop_assert_eq!(changed, p.rules() != before);
                // The model: up after a pass, down after retry + 1 failures in a row.
                if pass { fails[s] = 0; up[s] = true; } else {
                    fails[s] += 1;
                    if fails[s] > 2 || !up[s] { up[s] = false; }
                }
                let views = p.servers();
                for i in 0..n {
                    prop_assert_eq!(views[i].healthy, up[i]);
                    if !up[i] { prop_assert_eq!(views[i].weight, 0); }
                }
                // Quorum moves only at its thresholds.
                let sum = p.healthy_weight();
                if p.quorum_up() != quorum_up {
                    if p.quorum_up() { prop_assert!(sum >= u64::from(quorum)); }
                    else { prop_assert!(sum < u64::from(quorum - hysteresis)); }
                    quorum_up = p.quorum_up();
                }
                let rules = p.rules();
                if p.sorry_active() {
                    prop_assert_eq!(rules.targets.len(), 1);
                    prop_assert_eq!(Some(rules.targets[0].addr), p.service().sorry_server);
                } else {
                    // Only healthy servers with weight take connections, at their weight.
                    for t in &rules.targets {
                        let v = views.iter().find(|v| v.addr == t.addr).unwrap();
                        prop_assert!(v.healthy && v.weight > 0 && v.weight == t.weight);
                    }
                    prop_assert_eq!(rules.targets.len(), views.iter().filter(|v| v.weight > 0).count());
                }
                prop_assert_eq!(p.sorry_active(), sorry && (!p.quorum_up() || views.iter().all(|v| v.weight == 0)));
            }
        }
    }
}
