//! [`EtcdArbiter`]: the [`OwnershipArbiter`] on an etcd v3 lease and a key created only if
//! absent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use vip_core::{ArbiterError, FencingToken, Grant, OwnershipArbiter, Standing};

use crate::client::{Client, Create, Kv};
use crate::config::EtcdConfig;
use crate::error::{ConfigError, EtcdError};
use crate::renew;
use crate::standing::Publisher;

/// The ownership arbiter on etcd: holds `<key_prefix><instance>` = `<member>` under a lease.
///
/// - acquire: LeaseGrant(TTL), then a transaction that puts the key with the lease only if its
///   `create_revision` is 0. The revision that created the key is the fencing token.
/// - renew: a keepalive every TTL / 3. The deadline is the send time of the last acknowledged
///   keepalive (or of the grant) + TTL x (1 - drift) - margin.
/// - watch: the key, with require-leader. A deletion, another writer, or the member losing its
///   leader is [`Standing::Lost`]; so is a keepalive that cannot be acknowledged before the
///   deadline any more, or the lease gone.
/// - release: revoke the lease. revoke_fenced: revoke the lease the key is bound to, if the key
///   still has the fenced holder's token.
pub struct EtcdArbiter {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) config: EtcdConfig,
    pub(crate) key: String,
    pub(crate) member: String,
    pub(crate) publisher: Publisher,
    holding: Mutex<Option<Holding>>,
    /// The time left to the deadline when the last loss was published, in ms (u64::MAX: none).
    pub(crate) left_at_loss_ms: AtomicU64,
}

/// What this node holds in etcd.
struct Holding {
    lease: i64,
    token: FencingToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Holding {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for EtcdArbiter {
    /// Stops renewing (the background tasks hold the shared state, not this handle): a dropped
    /// arbiter's lease runs out by itself.
    fn drop(&mut self) {
        drop(self.take_holding());
    }
}

impl std::fmt::Debug for EtcdArbiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdArbiter")
            .field("key", &self.inner.key)
            .field("member", &self.inner.member)
            .field("config", &self.inner.config)
            .finish()
    }
}

impl EtcdArbiter {
    /// An arbiter for `instance`, held in etcd under the name `member` (this node's name: what
    /// other nodes see as the holder). Checks the configuration and the TLS material; does not
    /// contact etcd yet.
    pub fn new(
        config: EtcdConfig,
        instance: &str,
        member: &str,
    ) -> Result<EtcdArbiter, ConfigError> {
        config.validate()?;
        let client = Client::configured(&config)?;
        let key = format!("{}{instance}", config.key_prefix);
        Ok(EtcdArbiter {
            inner: Arc::new(Inner {
                client,
                config,
                key,
                member: member.to_string(),
                publisher: Publisher::default(),
                holding: Mutex::new(None),
                left_at_loss_ms: AtomicU64::new(u64::MAX),
            }),
        })
    }

    /// The etcd key this arbiter holds.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The client (to read the key, or to write Patroni-style keys in tests).
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The time that was left to the deadline when the last loss was published (the removal
    /// margin actually had), if a grant was lost.
    pub fn time_left_at_last_loss(&self) -> Option<Duration> {
        match self.inner.left_at_loss_ms.load(Ordering::Relaxed) {
            u64::MAX => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    fn take_holding(&self) -> Option<Holding> {
        self.inner.holding.lock().ok().and_then(|mut h| h.take())
    }

    /// Grants a lease and creates the key under it: `Ok(Err(kv))` when the key is held.
    async fn grant(&self) -> Result<Result<Grant, Kv>, EtcdError> {
        let inner = &self.inner;
        let sent = Instant::now();
        let (lease, ttl) = inner.client.lease_grant(inner.config.ttl.as_secs()).await?;
        if ttl <= 0 {
            return Err(EtcdError::Protocol {
                detail: format!("lease {lease} granted with TTL {ttl}"),
            });
        }
        let created = match inner.client.create(&inner.key, &inner.member, lease).await {
            Ok(c) => c,
            Err(e) => {
                let _ = inner.client.lease_revoke(lease).await;
                return Err(e);
            }
        };
        let revision = match created {
            Create::Created(revision) => revision,
            // Our own put, re-sent to another member after the first one was slow to answer.
            Create::Exists(kv) if kv.lease == lease => kv.create_revision,
            Create::Exists(kv) => {
                // The unused lease goes in the background: the refusal need not wait for it.
                let spare = Arc::clone(inner);
                tokio::spawn(async move { spare.client.lease_revoke(lease).await });
                if kv.lease == 0 {
                    return Err(EtcdError::ForeignKey {
                        key: kv.key,
                        value: kv.value,
                    });
                }
                return Ok(Err(kv));
            }
        };
        let deadline = sent
            + inner
                .config
                .hold_for(Duration::from_secs(ttl.unsigned_abs()));
        if deadline <= Instant::now() {
            let _ = inner.client.lease_revoke(lease).await;
            return Err(EtcdError::Slow {
                detail: "the grant took longer than the lease allows".into(),
            });
        }
        let grant = Grant {
            token: FencingToken(revision.unsigned_abs()),
            deadline,
        };
        inner.publisher.publish(Standing::Held(grant));
        let tasks = vec![
            tokio::spawn(renew::keepalives(Arc::clone(inner), lease, grant)),
            tokio::spawn(renew::watch_key(
                Arc::clone(inner),
                lease,
                grant.token,
                revision + 1,
            )),
        ];
        if let Ok(mut h) = inner.holding.lock() {
            *h = Some(Holding {
                lease,
                token: grant.token,
                tasks,
            });
        }
        tracing::info!(key = %inner.key, token = %grant.token, lease, "etcd grant acquired");
        Ok(Ok(grant))
    }
}

#[async_trait]
impl OwnershipArbiter for EtcdArbiter {
    fn name(&self) -> &str {
        "etcd"
    }

    async fn acquire(&self) -> Result<Grant, ArbiterError> {
        if let Standing::Held(grant) = self.inner.publisher.current()
            && grant.deadline > Instant::now()
        {
            return Ok(grant);
        }
        // A holding that was lost: its VIPs are gone (acquire comes from claiming), so its
        // lease can go too, which frees the key if it still names us.
        if let Some(old) = self.take_holding() {
            let _ = self.inner.client.lease_revoke(old.lease).await;
        }
        match self.grant().await {
            Ok(Ok(g)) => Ok(g),
            Ok(Err(kv)) => Err(ArbiterError::HeldElsewhere {
                holder: kv.value,
                token: Some(FencingToken(kv.create_revision.unsigned_abs())),
            }),
            Err(e) => Err(e.into_arbiter()),
        }
    }

    async fn release(&self) -> Result<(), ArbiterError> {
        let old = self.take_holding();
        self.inner.publisher.publish(Standing::NotHeld);
        if let Some(old) = old {
            tracing::info!(key = %self.inner.key, token = %old.token, "etcd grant released");
            self.inner
                .client
                .lease_revoke(old.lease)
                .await
                .map_err(EtcdError::into_arbiter)?;
        }
        Ok(())
    }

    async fn revoke_fenced(&self, token: FencingToken) -> Result<(), ArbiterError> {
        let client = &self.inner.client;
        let kv = client
            .get(&self.inner.key)
            .await
            .map_err(EtcdError::into_arbiter)?;
        let Some(kv) = kv else { return Ok(()) };
        if kv.create_revision.unsigned_abs() != token.0 {
            // Another holding now: acquire will say who.
            return Ok(());
        }
        if kv.lease == 0 {
            return Err(EtcdError::ForeignKey {
                key: kv.key,
                value: kv.value,
            }
            .into_arbiter());
        }
        tracing::warn!(key = %self.inner.key, %token, holder = %kv.value, "revoking the fenced holder's etcd lease");
        client
            .lease_revoke(kv.lease)
            .await
            .map_err(EtcdError::into_arbiter)
    }

    async fn watch(&self, seen: u64) -> (u64, Standing) {
        self.inner.publisher.watch(seen).await
    }
}
