//! [`PatroniLeader`]: follows a Patroni cluster's leader key as an [`OwnershipArbiter`].
//!
//! Patroni (etcd3 DCS) keeps `/<namespace>/<scope>/leader` = the leader's member name, under a
//! lease of its `ttl` (30 s by default) that the leader refreshes every `loop_wait`. The grant
//! here is "the key names this member"; its deadline is the query's send time + the lease's
//! remaining seconds, minus one second (etcd reports whole seconds), x (1 - drift), minus the
//! margin. The key is read again every `interval`: a renewal moves the deadline, another name
//! or no key is [`Standing::Lost`]. vip never writes or revokes Patroni's key: release only
//! forgets, and revoke_fenced is refused. Whether PostgreSQL is really the primary
//! (`pg_is_in_recovery()` false) is vip-pg's role probe; the daemon requires both.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use vip_core::{ArbiterError, FencingToken, Grant, OwnershipArbiter, Standing};

use crate::client::Client;
use crate::config::EtcdConfig;
use crate::error::{ConfigError, EtcdError};
use crate::standing::Publisher;

/// Which Patroni cluster and member to follow.
#[derive(Debug, Clone, PartialEq)]
pub struct PatroniConfig {
    /// How to reach etcd (endpoints, TLS, user, password, drift, margin; the TTL and key prefix
    /// are Patroni's, not used here).
    pub etcd: EtcdConfig,
    /// Patroni's `namespace` (`patroni.namespace`, default `/service`).
    pub namespace: String,
    /// Patroni's `scope`, the cluster name (`patroni.scope`).
    pub scope: String,
    /// This node's Patroni member `name` (`patroni.member`).
    pub member: String,
    /// How often the key is read (`patroni.interval`, default 1 s).
    pub interval: Duration,
}

impl PatroniConfig {
    /// The leader key: `<namespace>/<scope>/leader`.
    pub fn leader_key(&self) -> String {
        format!(
            "{}/{}/leader",
            self.namespace.trim_end_matches('/'),
            self.scope
        )
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, reason: &str, hint: &str| {
            Err(ConfigError {
                key: key.into(),
                reason: reason.into(),
                hint: hint.into(),
            })
        };
        if self.scope.is_empty() || self.scope.contains('/') {
            return bad(
                "patroni.scope",
                "empty or contains /",
                "set Patroni's `scope` (the cluster name)",
            );
        }
        if self.member.is_empty() {
            return bad(
                "patroni.member",
                "empty",
                "set this node's Patroni member `name`",
            );
        }
        if !self.namespace.starts_with('/') {
            return bad(
                "patroni.namespace",
                "does not start with /",
                "Patroni's default is /service",
            );
        }
        if self.interval.is_zero() {
            return bad("patroni.interval", "zero", "use e.g. 1 s");
        }
        Ok(())
    }
}

/// Follows Patroni's leader key (see the module documentation).
pub struct PatroniLeader {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: PatroniConfig,
    key: String,
    publisher: Publisher,
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for PatroniLeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatroniLeader")
            .field("key", &self.inner.key)
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Drop for PatroniLeader {
    fn drop(&mut self) {
        self.stop_following();
    }
}

/// What one reading of the leader key says.
enum Reading {
    /// The key names us; hold until this deadline; the key's create revision.
    Ours(Instant, i64),
    Other(String),
    Absent,
}

impl Inner {
    async fn read(&self) -> Result<Reading, EtcdError> {
        let sent = Instant::now();
        let Some(kv) = self.client.get(&self.key).await? else {
            return Ok(Reading::Absent);
        };
        if kv.value != self.config.member {
            return Ok(Reading::Other(kv.value));
        }
        if kv.lease == 0 {
            return Err(EtcdError::ForeignKey {
                key: kv.key,
                value: kv.value,
            });
        }
        let left = self.client.lease_time_to_live(kv.lease).await?;
        if left <= 1 {
            return Ok(Reading::Absent);
        }
        let hold = Duration::from_secs(left.unsigned_abs() - 1)
            .mul_f64(1.0 - self.config.etcd.drift)
            .saturating_sub(self.config.etcd.margin);
        Ok(Reading::Ours(sent + hold, kv.create_revision))
    }
}

async fn follow(inner: Arc<Inner>, token: FencingToken, mut deadline: Instant) {
    let lose = |why: String, deadline: Instant| {
        let left = deadline.saturating_duration_since(Instant::now());
        let reason = format!("{why} ({} ms left to the deadline)", left.as_millis());
        if inner.publisher.lose(token, reason.clone()) {
            tracing::warn!(key = %inner.key, "Patroni leadership lost: {reason}");
        }
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(inner.config.interval) => {}
            _ = tokio::time::sleep_until(deadline.into()) => {
                lose("the leader key's lease could run out".into(), deadline);
                return;
            }
        }
        let limit = inner
            .config
            .etcd
            .request_timeout()
            .min(deadline.saturating_duration_since(Instant::now()));
        match tokio::time::timeout(limit, inner.read()).await {
            Ok(Ok(Reading::Ours(d, _))) => {
                if d > deadline {
                    deadline = d;
                    inner.publisher.renew(Grant { token, deadline });
                }
            }
            Ok(Ok(Reading::Other(name))) => {
                lose(format!("the leader key names `{name}`"), deadline);
                return;
            }
            Ok(Ok(Reading::Absent)) => {
                lose("the leader key is gone".into(), deadline);
                return;
            }
            Ok(Err(e)) => {
                tracing::warn!(key = %inner.key, error = %e, "reading the Patroni leader key failed")
            }
            Err(_) => tracing::warn!(key = %inner.key, "reading the Patroni leader key timed out"),
        }
    }
}

impl PatroniLeader {
    /// A follower of `config.leader_key()`; checks the configuration, does not contact etcd.
    pub fn new(config: PatroniConfig) -> Result<PatroniLeader, ConfigError> {
        config.validate()?;
        let mut etcd = config.etcd.clone();
        etcd.ttl = Duration::from_secs(etcd.ttl.as_secs().max(2));
        etcd.validate()?;
        let client = Client::configured(&etcd)?;
        let key = config.leader_key();
        Ok(PatroniLeader {
            inner: Arc::new(Inner {
                client,
                config,
                key,
                publisher: Publisher::default(),
                follower: Mutex::new(None),
            }),
        })
    }

    /// The leader key followed.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    fn stop_following(&self) {
        if let Ok(mut f) = self.inner.follower.lock()
            && let Some(t) = f.take()
        {
            t.abort();
        }
    }
}

#[async_trait]
impl OwnershipArbiter for PatroniLeader {
    fn name(&self) -> &str {
        "patroni"
    }

    async fn acquire(&self) -> Result<Grant, ArbiterError> {
        if let Standing::Held(grant) = self.inner.publisher.current()
            && grant.deadline > Instant::now()
        {
            return Ok(grant);
        }
        self.stop_following();
        let reading = self.inner.read().await.map_err(EtcdError::into_arbiter)?;
        match reading {
            Reading::Ours(deadline, revision) if deadline > Instant::now() => {
                let token = FencingToken(revision.unsigned_abs());
                let grant = Grant { token, deadline };
                self.inner.publisher.publish(Standing::Held(grant));
                let task = tokio::spawn(follow(Arc::clone(&self.inner), token, deadline));
                if let Ok(mut f) = self.inner.follower.lock() {
                    *f = Some(task);
                }
                Ok(grant)
            }
            Reading::Other(holder) => Err(ArbiterError::HeldElsewhere {
                holder,
                token: None,
            }),
            _ => Err(ArbiterError::HeldElsewhere {
                holder: "nobody (no Patroni leader)".into(),
                token: None,
            }),
        }
    }

    async fn release(&self) -> Result<(), ArbiterError> {
        self.stop_following();
        self.inner.publisher.publish(Standing::NotHeld);
        Ok(())
    }

    async fn revoke_fenced(&self, _token: FencingToken) -> Result<(), ArbiterError> {
        Err(ArbiterError::Refused {
            backend: "patroni".into(),
            reason: "Patroni owns its leader key; vip does not revoke it".into(),
            hint: "let Patroni fail over (or use `patronictl failover`)".into(),
        })
    }

    async fn watch(&self, seen: u64) -> (u64, Standing) {
        self.inner.publisher.watch(seen).await
    }
}
