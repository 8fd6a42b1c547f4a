//! The balancer: check tasks feeding the pools, and one writer putting the pools' desired
//! rules into the kernel while their services are active.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::pool::{CheckId, Pool};
use crate::rules::{KernelRules, RuleSet};
use crate::{
    CheckOutcome, LbError, NftRules, Protocol, RealServerCheck, Scheduler, VirtualService,
};

/// The state of one real server, for `vipctl lb` and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendStatus {
    /// The server's address.
    pub addr: SocketAddr,
    /// Its configured weight.
    pub configured_weight: u32,
    /// The weight it has in the service's rules (0 = out, inhibited, drained, or the sorry
    /// server has taken over); in the kernel while the service is active.
    pub weight: u32,
    /// Whether all its checks pass.
    pub healthy: bool,
    /// conntrack entries of this service to this server in TCP ESTABLISHED (ipvsadm's
    /// ActiveConn); 0 while the service is not active.
    pub active_connections: u64,
    /// Other conntrack entries of this service to this server (other TCP states, UDP flows):
    /// ipvsadm's InActConn.
    pub inactive_connections: u64,
    /// The last check failure since it was last fully up.
    pub last_error: Option<String>,
}

/// The state of one virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    /// The service's name.
    pub name: String,
    /// Its VIP.
    pub vip: IpAddr,
    /// Its port.
    pub port: u16,
    /// Its protocol.
    pub protocol: Protocol,
    /// Its scheduler.
    pub scheduler: Scheduler,
    /// Whether its rules are in the kernel (the node holds the VIP).
    pub active: bool,
    /// Whether quorum is up.
    pub quorum_up: bool,
    /// Whether the sorry server takes the connections.
    pub sorry_active: bool,
    /// The real servers (the sorry server is not listed).
    pub backends: Vec<BackendStatus>,
}

type Checks = Vec<Vec<Arc<dyn RealServerCheck>>>;

/// Builds a balancer: services, then checks, then [`Balancer::start`].
pub struct Balancer {
    services: Vec<VirtualService>,
    checks: Vec<Checks>,
    kernel: Option<Box<dyn KernelRules>>,
}

impl std::fmt::Debug for Balancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Balancer")
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

impl Balancer {
    /// A balancer of `services`, each validated; names must be unique.
    pub fn new(services: Vec<VirtualService>) -> Result<Self, LbError> {
        for (i, s) in services.iter().enumerate() {
            s.validate()?;
            if services[..i].iter().any(|o| o.name == s.name) {
                return Err(LbError::config(
                    &s.name,
                    "name",
                    "two virtual services have this name",
                ));
            }
            if services[..i]
                .iter()
                .any(|o| o.vip == s.vip && o.port == s.port && o.protocol == s.protocol)
            {
                return Err(LbError::config(
                    &s.name,
                    "port",
                    format!(
                        "another virtual service already has {}:{}/{}",
                        s.vip, s.port, s.protocol
                    ),
                ));
            }
        }
        let checks = services
            .iter()
            .map(|s| s.real_servers.iter().map(|_| Vec::new()).collect())
            .collect();
        Ok(Balancer {
            services,
            checks,
            kernel: None,
        })
    }

    /// Adds a check for one real server of one service (several checks: all must pass; a
    /// server without checks is always up).
    pub fn check(
        mut self,
        service: &str,
        server: SocketAddr,
        check: Box<dyn RealServerCheck>,
    ) -> Result<Self, LbError> {
        let si = self
            .services
            .iter()
            .position(|s| s.name == service)
            .ok_or_else(|| LbError::UnknownService(service.to_string()))?;
        let ri = self.services[si]
            .server_index(server)
            .ok_or_else(|| LbError::UnknownServer {
                service: service.to_string(),
                server,
            })?;
        if let Some(list) = self.checks.get_mut(si).and_then(|c| c.get_mut(ri)) {
            list.push(Arc::from(check));
        }
        Ok(self)
    }

    /// Uses another kernel backend than nftables (tests, or an IPVS backend elsewhere).
    pub fn kernel(mut self, kernel: Box<dyn KernelRules>) -> Self {
        self.kernel = Some(kernel);
        self
    }

    /// Starts the check tasks and the rule writer on the current tokio runtime. The netlink
    /// socket is opened here, in the caller's network namespace. Reconciles: a stale table of
    /// vip's own (from a crashed run) is removed at once. Services start inactive.
    pub async fn start(self) -> Result<BalancerHandle, LbError> {
        let mut kernel = match self.kernel {
            Some(k) => k,
            None => Box::new(NftRules::open()?),
        };
        kernel.remove()?;
        let now = Instant::now();
        let pools = self
            .services
            .into_iter()
            .zip(&self.checks)
            .map(|(s, c)| {
                let counts: Vec<usize> = c.iter().map(Vec::len).collect();
                Pool::new(s, &counts, now)
            })
            .collect::<Vec<_>>();
        let n = pools.len();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                pools,
                active: vec![false; n],
                written: None,
                stopped: false,
            }),
            kernel: Mutex::new(kernel),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for (si, checks) in self.checks.into_iter().enumerate() {
            tasks.push(tokio::spawn(run_checks(
                Arc::clone(&shared),
                si,
                checks,
                tx.clone(),
            )));
        }
        tasks.push(tokio::spawn(run_writer(Arc::clone(&shared), rx)));
        let handle = BalancerHandle {
            shared,
            tx,
            tasks: Arc::new(Mutex::new(tasks)),
        };
        Ok(handle)
    }
}

struct State {
    pools: Vec<Pool>,
    active: Vec<bool>,
    /// What the kernel holds now (None: not known, rewrite).
    written: Option<RuleSet>,
    stopped: bool,
}

impl State {
    fn desired(&self) -> RuleSet {
        RuleSet {
            services: self
                .pools
                .iter()
                .zip(&self.active)
                .filter(|(_, a)| **a)
                .map(|(p, _)| p.rules())
                .collect(),
        }
    }
}

struct Shared {
    state: Mutex<State>,
    /// The kernel backend; held only for one write or one dump.
    kernel: Mutex<Box<dyn KernelRules>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// Writes the desired rules if they differ from what the kernel holds.
    fn sync(&self) -> Result<(), LbError> {
        let mut kernel = lock(&self.kernel);
        let desired = {
            let state = lock(&self.state);
            if state.stopped {
                return Err(LbError::Stopped);
            }
            let desired = state.desired();
            if state.written.as_ref() == Some(&desired) {
                return Ok(());
            }
            desired
        };
        let result = kernel.apply(&desired);
        let mut state = lock(&self.state);
        state.written = result.as_ref().ok().map(|()| desired);
        if let Err(e) = &result {
            tracing::warn!(error = %e, "writing the load-balancing rules failed");
        }
        result
    }
}

enum Cmd {
    /// A check result changed a pool: write.
    Sync,
    /// Write now and answer.
    SyncReply(oneshot::Sender<Result<(), LbError>>),
}

/// After a failed write, the writer tries again this often until one succeeds.
const RETRY_WRITE: std::time::Duration = std::time::Duration::from_secs(1);

async fn run_writer(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Cmd>) {
    let mut failed = false;
    loop {
        let cmd = if failed {
            match tokio::time::timeout(RETRY_WRITE, rx.recv()).await {
                Ok(Some(c)) => Some(c),
                Ok(None) => return,
                Err(_) => None,
            }
        } else {
            match rx.recv().await {
                Some(c) => Some(c),
                None => return,
            }
        };
        // Coalesce queued changes into one write.
        let mut replies = Vec::new();
        let mut push = |c: Cmd| {
            if let Cmd::SyncReply(r) = c {
                replies.push(r);
            }
        };
        if let Some(cmd) = cmd {
            push(cmd);
        }
        while let Ok(c) = rx.try_recv() {
            push(c);
        }
        let result = shared.sync();
        let stopped = matches!(result, Err(LbError::Stopped));
        failed = result.is_err();
        for r in replies {
            let _ = r.send(match &result {
                Ok(()) => Ok(()),
                Err(LbError::Stopped) => Err(LbError::Stopped),
                Err(e) => Err(LbError::Netlink {
                    op: "write rules",
                    source: std::io::Error::other(e.to_string()),
                    hint: None,
                }),
            });
        }
        if stopped {
            return;
        }
    }
}

async fn run_checks(
    shared: Arc<Shared>,
    si: usize,
    checks: Checks,
    tx: mpsc::UnboundedSender<Cmd>,
) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(CheckId, CheckOutcome)>();
    loop {
        let (due, next, timeout) = {
            let mut state = lock(&shared.state);
            if state.stopped {
                return;
            }
            let Some(pool) = state.pools.get_mut(si) else {
                return;
            };
            let now = Instant::now();
            (
                pool.due(now),
                pool.next_due(),
                pool.service().policy.timeout,
            )
        };
        for id in due {
            let Some(check) = checks.get(id.server).and_then(|c| c.get(id.check)).cloned() else {
                continue;
            };
            let done = done_tx.clone();
            tokio::spawn(async move {
                let outcome = match tokio::time::timeout(timeout, check.check()).await {
                    Ok(o) => o,
                    Err(_) => CheckOutcome::Down(format!(
                        "{}: no result within {timeout:?}",
                        check.name()
                    )),
                };
                let _ = done.send((id, outcome));
            });
        }
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = done_rx.recv() => {
                let Some((id, outcome)) = r else { return };
                let changed = {
                    let mut state = lock(&shared.state);
                    let active = state.active.get(si).copied().unwrap_or(false);
                    state
                        .pools
                        .get_mut(si)
                        .is_some_and(|p| p.on_result(id, outcome, Instant::now()))
                        && active
                };
                if changed && tx.send(Cmd::Sync).is_err() {
                    return;
                }
            }
            () = sleep => {}
        }
    }
}

/// Controls a started balancer. Clones share it.
#[derive(Clone)]
pub struct BalancerHandle {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Cmd>,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl std::fmt::Debug for BalancerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BalancerHandle").finish_non_exhaustive()
    }
}

impl BalancerHandle {
    /// The service follows the VIP: its rules are in the kernel only while `active` (the node
    /// holds the VIP). Returns once the kernel holds the new state.
    pub async fn set_active(&self, service: &str, active: bool) -> Result<(), LbError> {
        {
            let mut state = lock(&self.shared.state);
            let i = state
                .pools
                .iter()
                .position(|p| p.service().name == service)
                .ok_or_else(|| LbError::UnknownService(service.to_string()))?;
            if let Some(a) = state.active.get_mut(i) {
                *a = active;
            }
        }
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::SyncReply(tx))
            .map_err(|_| LbError::Stopped)?;
        rx.await.map_err(|_| LbError::Stopped)?
    }

    /// Every service's state, with connection counts from conntrack for the active ones.
    pub fn status(&self) -> Vec<ServiceStatus> {
        let services: Vec<(ServiceStatus, Option<SocketAddr>)> = {
            let state = lock(&self.shared.state);
            state
                .pools
                .iter()
                .zip(&state.active)
                .map(|(p, &active)| {
                    let s = p.service();
                    let backends = p
                        .servers()
                        .into_iter()
                        .map(|v| BackendStatus {
                            addr: v.addr,
                            configured_weight: v.configured_weight,
                            weight: v.weight,
                            healthy: v.healthy,
                            active_connections: 0,
                            inactive_connections: 0,
                            last_error: v.last_error,
                        })
                        .collect();
                    (
                        ServiceStatus {
                            name: s.name.clone(),
                            vip: s.vip,
                            port: s.port,
                            protocol: s.protocol,
                            scheduler: s.scheduler,
                            active,
                            quorum_up: p.quorum_up(),
                            sorry_active: p.sorry_active(),
                            backends,
                        },
                        active.then_some(SocketAddr::new(s.vip, s.port)),
                    )
                })
                .collect()
        };
        let mut kernel = lock(&self.shared.kernel);
        services
            .into_iter()
            .map(|(mut st, vip)| {
                if let Some(vip) = vip {
                    match kernel.connections(vip, st.protocol) {
                        Ok(counts) => {
                            for b in &mut st.backends {
                                if let Some(c) = counts.get(&b.addr) {
                                    b.active_connections = c.active;
                                    b.inactive_connections = c.inactive;
                                }
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "conntrack dump failed"),
                    }
                }
                st
            })
            .collect()
    }

    /// Removes vip's table and stops the checks. Other clones of the handle stop working.
    pub async fn stop(self) -> Result<(), LbError> {
        lock(&self.shared.state).stopped = true;
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        let mut kernel = lock(&self.shared.kernel);
        kernel.remove()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ConnCounts;
    use crate::{CheckPolicy, RealServer};
    use std::time::Duration;

    /// Records what would be written; fails the first `fail` applies.
    #[derive(Clone, Default)]
    struct Recorder {
        log: Arc<Mutex<Vec<String>>>,
        fail: Arc<Mutex<u32>>,
    }

    impl KernelRules for Recorder {
        fn apply(&mut self, rules: &RuleSet) -> Result<(), LbError> {
            let mut fail = lock(&self.fail);
            if *fail > 0 {
                *fail -= 1;
                return Err(LbError::netlink(
                    "write rules",
                    std::io::Error::other("test"),
                ));
            }
            let targets: Vec<usize> = rules.services.iter().map(|s| s.targets.len()).collect();
            lock(&self.log).push(format!("apply {targets:?}"));
            Ok(())
        }
        fn remove(&mut self) -> Result<(), LbError> {
            lock(&self.log).push("remove".into());
            Ok(())
        }
        fn connections(
            &mut self,
            _vip: SocketAddr,
            _protocol: Protocol,
        ) -> Result<std::collections::HashMap<SocketAddr, ConnCounts>, LbError> {
            Ok(std::collections::HashMap::from([(
                "203.0.113.2:80".parse().unwrap_or_else(|_| unreachable!()),
                ConnCounts {
                    active: 3,
                    inactive: 1,
                },
            )]))
        }
    }

    fn svc() -> VirtualService {
        VirtualService {
            name: "web".into(),
            vip: "198.51.100.10".parse().unwrap(),
            port: 80,
            protocol: Protocol::Tcp,
            scheduler: Scheduler::Rr,
            real_servers: vec![RealServer {
                addr: "203.0.113.2:80".parse().unwrap(),
                weight: 1,
            }],
            sorry_server: None,
            quorum: 1,
            hysteresis: 0,
            policy: CheckPolicy::default(),
        }
    }

    #[tokio::test]
    async fn wiring_start_activate_retry_status_stop() {
        let rec = Recorder::default();
        *lock(&rec.fail) = 1;
        let dup = Balancer::new(vec![svc(), svc()]).unwrap_err();
        assert!(dup.to_string().contains("virtual_server.web.name"), "{dup}");
        let err = Balancer::new(vec![svc()])
            .unwrap()
            .check(
                "web",
                "203.0.113.9:80".parse().unwrap(),
                Box::new(crate::TcpConnectCheck::new(
                    "203.0.113.9:80".parse().unwrap(),
                    Duration::from_secs(1),
                )),
            )
            .unwrap_err();
        assert!(matches!(err, LbError::UnknownServer { .. }));
        let h = Balancer::new(vec![svc()])
            .unwrap()
            .kernel(Box::new(rec.clone()))
            .start()
            .await
            .unwrap();
        assert_eq!(*lock(&rec.log), vec!["remove"]);
        // The first write fails; set_active says so, and the writer tries again by itself.
        assert!(h.set_active("web", true).await.is_err());
        let deadline = Instant::now() + Duration::from_secs(10);
        while lock(&rec.log).len() < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(*lock(&rec.log), vec!["remove", "apply [1]"]);
        let st = h.status();
        assert!(st[0].active && st[0].quorum_up && !st[0].sorry_active);
        assert_eq!(st[0].backends[0].active_connections, 3);
        assert_eq!(st[0].backends[0].inactive_connections, 1);
        assert!(matches!(
            h.set_active("nope", true).await,
            Err(LbError::UnknownService(_))
        ));
        h.set_active("web", false).await.unwrap();
        assert_eq!(lock(&rec.log).last().map(String::as_str), Some("apply []"));
        h.clone().stop().await.unwrap();
        assert_eq!(lock(&rec.log).last().map(String::as_str), Some("remove"));
        assert!(matches!(
            h.set_active("web", true).await,
            Err(LbError::Stopped)
        ));
    }
}
