//! The background work of a holding: keepalives that move the deadline, and a watch on the key.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;
use vip_core::{FencingToken, Grant};

use crate::arbiter::Inner;
use crate::client::Event;
use crate::error::EtcdError;

/// Publishes the loss of the holding `token` (once) and logs the time left to its deadline.
fn lose(inner: &Inner, token: FencingToken, deadline: Instant, reason: String) {
    let left = deadline.saturating_duration_since(Instant::now());
    let reason = format!("{reason} ({} ms left to the deadline)", left.as_millis());
    if inner.publisher.lose(token, reason.clone()) {
        inner.left_at_loss_ms.store(
            u64::try_from(left.as_millis()).unwrap_or(u64::MAX - 1),
            Ordering::Relaxed,
        );
        tracing::warn!(key = %inner.key, %token, time_left_ms = left.as_millis() as u64, "etcd grant lost: {reason}");
    }
}

/// Sends a keepalive every TTL / 3 and publishes each later deadline. Ends with a loss when the
/// lease is gone in etcd, or when no further keepalive could be acknowledged before the
/// deadline.
pub(crate) async fn keepalives(inner: Arc<Inner>, lease: i64, first: Grant) {
    let config = &inner.config;
    let period = config.keepalive_interval();
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut deadline = first.deadline;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::time::sleep_until(deadline.into()) => {
                lose(&inner, first.token, deadline, "the deadline passed without a renewal".into());
                return;
            }
        }
        let sent = Instant::now();
        let limit = config
            .request_timeout()
            .min(deadline.saturating_duration_since(sent));
        let outcome = match tokio::time::timeout(limit, inner.client.lease_keepalive(lease)).await {
            Ok(r) => r,
            Err(_) => Err(EtcdError::Slow {
                detail: format!("keepalive not acknowledged within {limit:?}"),
            }),
        };
        match outcome {
            Ok(ttl) if ttl > 0 => {
                let next = sent + config.hold_for(Duration::from_secs(ttl.unsigned_abs()));
                if next > deadline {
                    deadline = next;
                    inner.publisher.renew(Grant {
                        token: first.token,
                        deadline,
                    });
                }
            }
            Ok(_) => {
                lose(
                    &inner,
                    first.token,
                    deadline,
                    "the lease is gone in etcd".into(),
                );
                return;
            }
            Err(e) => {
                let now = Instant::now();
                // The next keepalive leaves at the next tick; it needs a request timeout.
                if deadline <= now + period.min(config.request_timeout()) {
                    lose(
                        &inner,
                        first.token,
                        deadline,
                        format!("no keepalive acknowledged in time: {e}"),
                    );
                    return;
                }
                tracing::warn!(key = %inner.key, error = %e, "etcd keepalive failed; retrying");
            }
        }
    }
}

/// Watches the key (require-leader) from `from`: a deletion, a write under another lease, or
/// the member losing its leader is a loss. Transport errors reconnect (to another member) and
/// resume at the next unseen revision.
pub(crate) async fn watch_key(inner: Arc<Inner>, lease: i64, token: FencingToken, mut from: i64) {
    let deadline = || match inner.publisher.current() {
        vip_core::Standing::Held(g) => g.deadline,
        _ => Instant::now(),
    };
    loop {
        let mut watch = match inner.client.watch(&inner.key, from).await {
            Ok(w) => w,
            Err(EtcdError::NoLeader { detail }) => {
                lose(
                    &inner,
                    token,
                    deadline(),
                    format!("etcd has no leader: {detail}"),
                );
                return;
            }
            Err(e) => {
                tracing::warn!(key = %inner.key, error = %e, "etcd watch failed; retrying");
                tokio::time::sleep(inner.config.keepalive_interval() / 4).await;
                continue;
            }
        };
        loop {
            match watch.next().await {
                Ok(events) => {
                    for ev in events {
                        match ev {
                            Event::Delete(rev) => {
                                lose(
                                    &inner,
                                    token,
                                    deadline(),
                                    format!("the key was deleted at revision {rev}"),
                                );
                                return;
                            }
                            Event::Put(kv) => {
                                from = kv.mod_revision + 1;
                                if kv.lease != lease {
                                    lose(
                                        &inner,
                                        token,
                                        deadline(),
                                        format!(
                                            "the key was taken by `{}` at revision {}",
                                            kv.value, kv.mod_revision
                                        ),
                                    );
                                    return;
                                }
                            }
                        }
                    }
                }
                Err(EtcdError::NoLeader { detail }) => {
                    lose(
                        &inner,
                        token,
                        deadline(),
                        format!("the etcd member lost its leader: {detail}"),
                    );
                    return;
                }
                Err(e) => {
                    tracing::warn!(key = %inner.key, error = %e, "etcd watch ended; reconnecting");
                    break;
                }
            }
        }
    }
}
