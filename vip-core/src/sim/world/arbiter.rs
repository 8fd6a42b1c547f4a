//! The simulated ownership arbiter (see [`crate::sim::ArbiterSpec`]): the lease service, the
//! daemons' clients, and the kernel lifetime of VIPs held under a lease.

use std::time::Duration;

use crate::election::{ArbiterGrant, ArbiterStanding, Input};
use crate::sim::ArbiterSpec;
use crate::sim::queue::{ArbReply, ArbReq, Ev};
use crate::{ArbiterError, FencingToken, Timestamp};

use super::Sim;

/// A live lease at the service.
#[derive(Debug, Clone, Copy)]
struct Lease {
    node: usize,
    token: u64,
    /// True time at which the service lets it go.
    expires: Timestamp,
}

/// The lease service's state, and the links to it.
#[derive(Debug)]
pub(super) struct Service {
    lease: Option<Lease>,
    next_token: u64,
    /// Every token granted, with its node (a fencer resolves tokens through it).
    owners: Vec<(u64, usize)>,
    quorum: bool,
    /// Per node: requests reach the service.
    to: Vec<bool>,
    /// Per node: answers reach the node.
    from: Vec<bool>,
}

impl Service {
    pub(super) fn new(nodes: usize) -> Self {
        Service {
            lease: None,
            next_token: 0,
            owners: Vec::new(),
            quorum: true,
            to: vec![true; nodes],
            from: vec![true; nodes],
        }
    }

    /// The node that was granted `token`.
    pub(super) fn owner(&self, token: u64) -> Option<usize> {
        self.owners
            .iter()
            .find(|(t, _)| *t == token)
            .map(|(_, n)| *n)
    }

    pub(super) fn set_link(&mut self, node: usize, to: bool, from: bool) {
        if let (Some(t), Some(f)) = (self.to.get_mut(node), self.from.get_mut(node)) {
            (*t, *f) = (to, from);
        }
    }

    /// The live lease at `now` (an expired one is dropped; none expire without quorum).
    fn live(&mut self, now: Timestamp) -> Option<Lease> {
        if self.lease.is_some_and(|l| l.expires <= now) {
            self.lease = None;
        }
        self.lease
    }
}

/// `d * num / den`, in microseconds.
fn scale(d: Duration, num: u64, den: u64) -> Duration {
    let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(micros.saturating_mul(num) / den.max(1))
}

impl ArbiterSpec {
    /// How long a lease lives in true time after the request that (re)started it.
    fn true_ttl(&self) -> Duration {
        scale(self.ttl, 1000, u64::from(self.rate_permille))
    }

    /// The client's deadline for a lease acknowledged for a request sent at `sent`.
    fn deadline(&self, sent: Timestamp) -> Timestamp {
        let allowed = scale(
            self.ttl,
            1000u64.saturating_sub(u64::from(self.drift_permille)),
            1000,
        );
        sent + allowed.saturating_sub(self.margin)
    }
}

fn unavailable(reason: &str) -> ArbiterError {
    ArbiterError::Unavailable {
        backend: "sim".into(),
        reason: reason.into(),
        hint: "the simulated arbiter".into(),
    }
}

impl Sim {
    fn spec(&self) -> Option<ArbiterSpec> {
        self.cfg.arbiter.clone()
    }

    fn epoch(&self, node: usize) -> Option<u64> {
        self.nodes.get(node).map(|n| n.daemon_epoch)
    }

    /// Hands `input` to the node's daemon through the queue (now).
    fn answer(&mut self, node: usize, input: Input) {
        if let Some(epoch) = self.epoch(node) {
            let now = self.now;
            self.queue.push(now, Ev::Deliver { node, epoch, input });
        }
    }

    /// Sends `req` from `node` to the service (lost when the link to it is down).
    fn request(&mut self, node: usize, req: ArbReq) {
        let Some(spec) = self.spec() else {
            return;
        };
        if self.service.to.get(node).copied().unwrap_or(false) {
            let at = self.now + spec.latency;
            self.queue.push(at, Ev::ArbRequest { node, req });
        }
    }

    fn reply(&mut self, node: usize, reply: ArbReply) {
        let (Some(spec), Some(epoch)) = (self.spec(), self.epoch(node)) else {
            return;
        };
        if self.service.from.get(node).copied().unwrap_or(false) {
            let at = self.now + spec.latency;
            self.queue.push(at, Ev::ArbReply { node, epoch, reply });
        }
    }

    fn call_timeout(&mut self, node: usize, id: u64) {
        let (Some(spec), Some(epoch)) = (self.spec(), self.epoch(node)) else {
            return;
        };
        let at = self.now + spec.call_timeout;
        self.queue.push(at, Ev::ArbTimeout { node, epoch, id });
    }

    pub(super) fn acquire(&mut self, node: usize, id: u64) {
        if self.spec().is_none() {
            let result = Err(unavailable("no arbiter in this simulation"));
            self.answer(node, Input::Acquired { id, result });
            return;
        }
        if let Some(n) = self.nodes.get_mut(node) {
            n.client.acquire = Some(id);
        }
        self.log(Some(node), || format!("arbiter: acquire #{id}"));
        let sent = self.now;
        self.request(node, ArbReq::Acquire { id, sent });
        self.call_timeout(node, id);
    }

    pub(super) fn revoke(&mut self, node: usize, id: u64, token: u64) {
        if self.spec().is_none() {
            let result = Err(unavailable("no arbiter in this simulation"));
            self.answer(node, Input::Revoked { id, result });
            return;
        }
        if let Some(n) = self.nodes.get_mut(node) {
            n.client.revoke = Some(id);
        }
        self.log(Some(node), || format!("arbiter: revoke token {token}"));
        self.request(node, ArbReq::Revoke { id, token });
        self.call_timeout(node, id);
    }

    /// The lane reached a release: the client stops renewing and ends its lease.
    pub(super) fn release(&mut self, node: usize) {
        let held = self.nodes.get_mut(node).and_then(|n| {
            n.client.renew_gen += 1;
            n.client.held.take()
        });
        if let Some(token) = held {
            self.log(Some(node), || format!("arbiter: release token {token}"));
            self.request(node, ArbReq::Release { token });
        }
        self.answer(node, Input::Released(Ok(())));
    }

    /// The lane reached a lifetime: the kernel drops the VIPs at `until`, in whole seconds
    /// rounded down from now.
    pub(super) fn set_lifetime(&mut self, node: usize, until: Timestamp) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        if n.iface.is_empty() {
            return;
        }
        let secs = until.saturating_since(now).as_secs();
        let at = now + Duration::from_secs(secs);
        n.expiry = Some(at);
        let boot = n.boot_epoch;
        self.queue.push(at, Ev::Expire { node, boot, at });
    }

    /// The kernel lifetime ran out: the VIPs go, and the daemon's watcher hears of it.
    pub(super) fn expire(&mut self, node: usize, boot: u64, at: Timestamp) {
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        if n.boot_epoch != boot || n.expiry != Some(at) {
            return;
        }
        n.expiry = None;
        n.iface.clear();
        let epoch = n.daemon_epoch;
        self.log(Some(node), || "kernel: VIP lifetime ran out".into());
        self.update_holding(node);
        self.deliver_to_daemon(Ev::Deliver {
            node,
            epoch,
            input: Input::VipRemovedExternally,
        });
    }

    pub(super) fn set_quorum(&mut self, ok: bool) {
        let now = self.now;
        let ttl = self.spec().map(|s| s.true_ttl()).unwrap_or_default();
        if ok && !self.service.quorum {
            // A new leader renews every lease for a full TTL.
            if let Some(lease) = self.service.lease.as_mut() {
                lease.expires = lease.expires.max(now + ttl);
            }
        }
        self.service.quorum = ok;
    }

    /// A request reaches the service: it answers linearizably, at its arrival.
    pub(super) fn serve(&mut self, node: usize, req: ArbReq) {
        let Some(spec) = self.spec() else {
            return;
        };
        if !self.service.quorum {
            return;
        }
        let now = self.now;
        let renewed = now + spec.true_ttl();
        let live = self.service.live(now);
        match req {
            ArbReq::Acquire { .. } if !self.service.from.get(node).copied().unwrap_or(false) => {
                // An acquire is two round trips (vip-etcd: a lease grant, then the transaction
                // that needs the new lease's id): a node that hears no answers creates no
                // holding.
            }
            ArbReq::Acquire { id, sent } => {
                let result = match live {
                    Some(l) if l.node == node => {
                        self.service.lease = Some(Lease {
                            expires: renewed,
                            ..l
                        });
                        Ok(l.token)
                    }
                    Some(l) => Err((l.node, l.token)),
                    None => {
                        self.service.next_token += 1;
                        let token = self.service.next_token;
                        self.service.owners.push((token, node));
                        self.service.lease = Some(Lease {
                            node,
                            token,
                            expires: renewed,
                        });
                        Ok(token)
                    }
                };
                self.reply(node, ArbReply::Acquired { id, sent, result });
            }
            ArbReq::KeepAlive { token, sent } => {
                let ok = live.is_some_and(|l| l.token == token);
                if let (true, Some(l)) = (ok, live) {
                    self.service.lease = Some(Lease {
                        expires: renewed,
                        ..l
                    });
                }
                self.reply(node, ArbReply::KeepAlive { token, sent, ok });
            }
            ArbReq::Release { token } => {
                if live.is_some_and(|l| l.token == token) {
                    self.service.lease = None;
                }
            }
            ArbReq::Revoke { id, token } => {
                if live.is_some_and(|l| l.token == token) {
                    self.service.lease = None;
                }
                self.reply(node, ArbReply::Revoked { id });
            }
        }
    }

    /// Renews every `ttl / 3` while the client holds `token`.
    fn schedule_renewal(&mut self, node: usize) {
        let (Some(spec), Some(epoch)) = (self.spec(), self.epoch(node)) else {
            return;
        };
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        n.client.renew_gen += 1;
        let generation = n.client.renew_gen;
        let at = self.now + spec.ttl / 3;
        self.queue.push(
            at,
            Ev::ArbRenew {
                node,
                epoch,
                generation,
            },
        );
    }

    /// An event for a running daemon's client.
    pub(super) fn client_event(&mut self, ev: Ev) {
        let Some(spec) = self.spec() else {
            return;
        };
        match ev {
            Ev::ArbReply { node, reply, .. } => self.client_reply(&spec, node, reply),
            Ev::ArbTimeout { node, id, .. } => {
                let Some(n) = self.nodes.get_mut(node) else {
                    return;
                };
                let error = unavailable("no answer in time");
                if n.client.acquire == Some(id) {
                    n.client.acquire = None;
                    let result = Err(error);
                    self.feed(node, Input::Acquired { id, result });
                } else if n.client.revoke == Some(id) {
                    n.client.revoke = None;
                    let result = Err(error);
                    self.feed(node, Input::Revoked { id, result });
                }
            }
            Ev::ArbRenew {
                node, generation, ..
            } => {
                let held = self
                    .nodes
                    .get(node)
                    .filter(|n| n.client.renew_gen == generation)
                    .and_then(|n| n.client.held);
                if let Some(token) = held {
                    let sent = self.now;
                    self.request(node, ArbReq::KeepAlive { token, sent });
                    self.schedule_renewal(node);
                }
            }
            _ => {}
        }
    }

    fn client_reply(&mut self, spec: &ArbiterSpec, node: usize, reply: ArbReply) {
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        match reply {
            ArbReply::Acquired { id, sent, result } => {
                let wanted = n.client.acquire == Some(id);
                if wanted {
                    n.client.acquire = None;
                }
                let result = match result {
                    Ok(token) => {
                        n.client.held = Some(token);
                        self.schedule_renewal(node);
                        if !wanted {
                            // Answered after the client gave up: the daemon does not know of
                            // this lease, so it is handed back.
                            self.release(node);
                            return;
                        }
                        Ok(ArbiterGrant {
                            token: FencingToken(token),
                            deadline: spec.deadline(sent),
                        })
                    }
                    Err((holder, token)) => Err(ArbiterError::HeldElsewhere {
                        holder: format!("n{holder}"),
                        token: Some(FencingToken(token)),
                    }),
                };
                if wanted {
                    let text = format!("arbiter: acquire #{id} -> {result:?}");
                    self.log(Some(node), || text);
                    self.feed(node, Input::Acquired { id, result });
                }
            }
            ArbReply::KeepAlive { token, sent, ok } => {
                if n.client.held != Some(token) {
                    return;
                }
                let standing = if ok {
                    ArbiterStanding::Held(ArbiterGrant {
                        token: FencingToken(token),
                        deadline: spec.deadline(sent),
                    })
                } else {
                    n.client.held = None;
                    n.client.renew_gen += 1;
                    ArbiterStanding::Lost {
                        reason: "lease expired at the service".into(),
                    }
                };
                self.feed(node, Input::Standing(standing));
            }
            ArbReply::Revoked { id } => {
                if n.client.revoke == Some(id) {
                    n.client.revoke = None;
                    self.feed(node, Input::Revoked { id, result: Ok(()) });
                }
            }
        }
    }
}
