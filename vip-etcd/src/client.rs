//! An etcd v3 client over etcd's JSON gateway (`/v3/...`): leases, a create-if-absent
//! transaction, reads, deletes and watches, with endpoint failover and user/password auth.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::config::EtcdConfig;
use crate::error::{ConfigError, EtcdError};
use crate::http::{Answer, Connector, Endpoint};

/// One key as etcd stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    /// The key.
    pub key: String,
    /// The value (as text; bytes that are not UTF-8 are replaced).
    pub value: String,
    /// The revision that created the key (a fencing token for its holder).
    pub create_revision: i64,
    /// The revision of its last change.
    pub mod_revision: i64,
    /// The lease it is bound to (0: none).
    pub lease: i64,
}

/// What the create-if-absent transaction found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Create {
    /// The key was absent and is now ours, created at this revision.
    Created(i64),
    /// The key exists.
    Exists(Kv),
}

/// A change to a watched key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Written (created or changed).
    Put(Kv),
    /// Deleted, or its lease ran out, at this revision.
    Delete(i64),
}

/// An etcd client (cheap to share behind an `Arc`).
pub struct Client {
    connector: Connector,
    endpoints: Vec<Endpoint>,
    preferred: AtomicUsize,
    credentials: Option<(String, String)>,
    token: Mutex<Option<String>>,
    timeout: Duration,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.endpoints)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .finish_non_exhaustive()
    }
}

/// Reads an int64 field that the gateway writes as a string (absent: 0).
pub(crate) fn int(v: &Value, key: &str) -> i64 {
    match v.get(key) {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn b64(s: &str) -> String {
    B64.encode(s.as_bytes())
}

fn unb64(v: &Value, key: &str) -> String {
    let raw = v.get(key).and_then(Value::as_str).unwrap_or("");
    let bytes = B64.decode(raw).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn kv(v: &Value) -> Kv {
    Kv {
        key: unb64(v, "key"),
        value: unb64(v, "value"),
        create_revision: int(v, "create_revision"),
        mod_revision: int(v, "mod_revision"),
        lease: int(v, "lease"),
    }
}

/// The error in an answer, if it is one: `{"error": "...", "code": N}` (unary) or
/// `{"error": {"grpc_code": N, "message": "..."}}` (streams).
fn answer_error(v: &Value) -> Option<EtcdError> {
    match v.get("error")? {
        Value::String(s) => Some(EtcdError::from_status(int(v, "code"), s)),
        e @ Value::Object(_) => {
            let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
            Some(EtcdError::from_status(int(e, "grpc_code"), msg))
        }
        other => Some(EtcdError::Protocol {
            detail: format!("error field {other}"),
        }),
    }
}

impl Client {
    /// A client for the configured endpoints (checks the TLS material now).
    pub fn new(config: &EtcdConfig) -> Result<Client, EtcdError> {
        let endpoints = config
            .endpoints
            .iter()
            .map(|e| Endpoint::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        // Every endpoint can be tried within one request timeout.
        let per_endpoint = u32::try_from(endpoints.len().max(1)).unwrap_or(u32::MAX);
        Ok(Client {
            connect_timeout: config.request_timeout() / per_endpoint,
            connector: Connector::new(config.tls.as_ref())?,
            endpoints,
            preferred: AtomicUsize::new(0),
            credentials: config.user.clone().zip(config.password.clone()),
            token: Mutex::new(None),
            timeout: config.request_timeout(),
        })
    }

    /// [`Client::new`] for a configuration: its errors name the key to fix.
    pub fn configured(config: &EtcdConfig) -> Result<Client, ConfigError> {
        Client::new(config).map_err(|e| {
            let key = match e {
                EtcdError::Tls { .. } => "etcd.tls",
                _ => "etcd.endpoints",
            };
            let (reason, hint) = e.reason_and_hint();
            ConfigError {
                key: key.into(),
                reason,
                hint,
            }
        })
    }

    fn token(&self) -> Option<String> {
        self.token.lock().ok().and_then(|t| t.clone())
    }

    fn set_token(&self, token: Option<String>) {
        if let Ok(mut t) = self.token.lock() {
            *t = token;
        }
    }

    /// Opens `path` on the first endpoint that answers, starting at the preferred one, and
    /// returns the answer (not yet read).
    async fn open(&self, path: &str, body: &str, leader: bool) -> Result<Answer, EtcdError> {
        let token = self.token();
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = token.as_deref() {
            headers.push(("Authorization", t));
        }
        if leader {
            headers.push(("Grpc-Metadata-hasleader", "true"));
        }
        let n = self.endpoints.len();
        let start = self.preferred.load(Ordering::Relaxed);
        let mut last = Vec::new();
        for i in 0..n {
            let idx = (start + i) % n;
            // Until this endpoint answers, the next request starts at the one after it: a
            // caller that gives up while this one hangs (a partitioned member) does not send
            // its next request to the same place.
            self.preferred.store((idx + 1) % n, Ordering::Relaxed);
            let attempt = self
                .connector
                .post(&self.endpoints[idx], path, body, &headers);
            let answer = match tokio::time::timeout(self.connect_timeout, attempt).await {
                Ok(a) => a,
                Err(_) => Err(EtcdError::Unreachable {
                    detail: format!(
                        "{}:{}: no answer within {:?}",
                        self.endpoints[idx].host, self.endpoints[idx].port, self.connect_timeout
                    ),
                }),
            };
            match answer {
                Ok(a) => {
                    self.preferred.store(idx, Ordering::Relaxed);
                    return Ok(a);
                }
                Err(EtcdError::Unreachable { detail }) => last.push(detail),
                Err(e) => return Err(e),
            }
        }
        Err(EtcdError::Unreachable {
            detail: last.join("; "),
        })
    }

    async fn call_once(&self, path: &str, body: &str, leader: bool) -> Result<Value, EtcdError> {
        let mut answer = self.open(path, body, leader).await?;
        let v = answer
            .next_json()
            .await?
            .ok_or_else(|| EtcdError::Protocol {
                detail: format!("empty answer to {path} (HTTP {})", answer.status),
            })?;
        if let Some(e) = answer_error(&v) {
            return Err(e);
        }
        Ok(match v {
            Value::Object(mut m) if m.contains_key("result") => {
                m.remove("result").unwrap_or(Value::Null)
            }
            other => other,
        })
    }

    async fn authenticate(&self) -> Result<(), EtcdError> {
        let Some((user, password)) = &self.credentials else {
            return Ok(());
        };
        self.set_token(None);
        let body = json!({"name": user, "password": password}).to_string();
        let v = self
            .call_once("/v3/auth/authenticate", &body, false)
            .await?;
        let token = v.get("token").and_then(Value::as_str).unwrap_or("");
        if token.is_empty() {
            return Err(EtcdError::Auth {
                detail: "etcd returned no token (is authentication enabled on etcd?)".into(),
            });
        }
        self.set_token(Some(token.to_string()));
        Ok(())
    }

    /// One unary request within the request timeout, authenticating first when needed and
    /// once more when etcd says the token went stale.
    pub async fn call(&self, path: &str, body: Value, leader: bool) -> Result<Value, EtcdError> {
        let body = body.to_string();
        let attempt = async {
            if self.credentials.is_some() && self.token().is_none() {
                self.authenticate().await?;
            }
            match self.call_once(path, &body, leader).await {
                Err(EtcdError::Auth { detail }) if detail.contains("invalid auth token") => {
                    self.authenticate().await?;
                    self.call_once(path, &body, leader).await
                }
                other => other,
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(r) => r,
            Err(_) => Err(EtcdError::Slow {
                detail: format!("{path} took more than {:?}", self.timeout),
            }),
        }
    }

    /// Grants a lease of `ttl` seconds; returns its id and the TTL etcd granted.
    pub async fn lease_grant(&self, ttl: u64) -> Result<(i64, i64), EtcdError> {
        let v = self
            .call("/v3/lease/grant", json!({"TTL": ttl.to_string()}), true)
            .await?;
        Ok((int(&v, "ID"), int(&v, "TTL")))
    }

    /// Renews a lease; returns the TTL it now has (0: the lease is gone).
    pub async fn lease_keepalive(&self, id: i64) -> Result<i64, EtcdError> {
        let v = self
            .call("/v3/lease/keepalive", json!({"ID": id.to_string()}), true)
            .await?;
        Ok(int(&v, "TTL"))
    }

    /// Revokes a lease (deleting its keys); a lease already gone is not an error.
    pub async fn lease_revoke(&self, id: i64) -> Result<(), EtcdError> {
        match self
            .call("/v3/lease/revoke", json!({"ID": id.to_string()}), true)
            .await
        {
            Err(EtcdError::Server { detail, .. }) if detail.contains("lease not found") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// The seconds a lease has left (negative: gone).
    pub async fn lease_time_to_live(&self, id: i64) -> Result<i64, EtcdError> {
        let v = self
            .call("/v3/lease/timetolive", json!({"ID": id.to_string()}), true)
            .await?;
        Ok(int(&v, "TTL"))
    }

    /// Puts `key = value` bound to `lease` only if the key does not exist.
    pub async fn create(&self, key: &str, value: &str, lease: i64) -> Result<Create, EtcdError> {
        let k = b64(key);
        let body = json!({
            "compare": [{"key": k, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
            "success": [{"request_put": {"key": k, "value": b64(value), "lease": lease.to_string()}}],
            "failure": [{"request_range": {"key": k}}],
        });
        let v = self.call("/v3/kv/txn", body, true).await?;
        let revision = v.get("header").map(|h| int(h, "revision")).unwrap_or(0);
        if v.get("succeeded").and_then(Value::as_bool).unwrap_or(false) {
            return Ok(Create::Created(revision));
        }
        let found = v
            .pointer("/responses/0/response_range/kvs/0")
            .map(kv)
            .ok_or_else(|| EtcdError::Protocol {
                detail: format!("the create of {key} failed but the key was not returned"),
            })?;
        Ok(Create::Exists(found))
    }

    /// Reads a key.
    pub async fn get(&self, key: &str) -> Result<Option<Kv>, EtcdError> {
        let v = self
            .call("/v3/kv/range", json!({"key": b64(key)}), true)
            .await?;
        Ok(v.pointer("/kvs/0").map(kv))
    }

    /// Writes a key (bound to `lease` unless 0): what Patroni does with its leader key.
    pub async fn put(&self, key: &str, value: &str, lease: i64) -> Result<i64, EtcdError> {
        let mut body = json!({"key": b64(key), "value": b64(value)});
        if lease != 0 {
            body["lease"] = json!(lease.to_string());
        }
        let v = self.call("/v3/kv/put", body, true).await?;
        Ok(v.get("header").map(|h| int(h, "revision")).unwrap_or(0))
    }

    /// Deletes a key.
    pub async fn delete(&self, key: &str) -> Result<(), EtcdError> {
        self.call("/v3/kv/deleterange", json!({"key": b64(key)}), true)
            .await
            .map(|_| ())
    }

    /// Watches `key` from revision `from` with require-leader: etcd ends the watch when its
    /// member loses the leader.
    pub async fn watch(&self, key: &str, from: i64) -> Result<Watch, EtcdError> {
        if self.credentials.is_some() && self.token().is_none() {
            tokio::time::timeout(self.timeout, self.authenticate())
                .await
                .map_err(|_| EtcdError::Slow {
                    detail: "authenticate took too long".into(),
                })??;
        }
        let body = json!({"create_request": {"key": b64(key), "start_revision": from.to_string()}})
            .to_string();
        let mut answer = tokio::time::timeout(self.timeout, self.open("/v3/watch", &body, true))
            .await
            .map_err(|_| EtcdError::Slow {
                detail: "opening the watch took too long".into(),
            })??;
        // The first message confirms the watch.
        let first = tokio::time::timeout(self.timeout, answer.next_json())
            .await
            .map_err(|_| EtcdError::Slow {
                detail: "the watch was not confirmed in time".into(),
            })??;
        match first {
            Some(v) if answer_error(&v).is_some() => {
                Err(answer_error(&v).unwrap_or(EtcdError::Protocol {
                    detail: "watch".into(),
                }))
            }
            Some(_) => Ok(Watch { answer }),
            None => Err(EtcdError::Protocol {
                detail: "the watch ended at once".into(),
            }),
        }
    }
}

/// An open watch on one key.
pub struct Watch {
    answer: Answer,
}

impl Watch {
    /// The next batch of events. An error (or the stream's end, reported as
    /// [`EtcdError::NoLeader`] when etcd said so) ends the watch.
    pub async fn next(&mut self) -> Result<Vec<Event>, EtcdError> {
        loop {
            let v = self
                .answer
                .next_json()
                .await?
                .ok_or_else(|| EtcdError::Unreachable {
                    detail: "the watch stream ended".into(),
                })?;
            if let Some(e) = answer_error(&v) {
                return Err(e);
            }
            let r = v.get("result").unwrap_or(&Value::Null);
            if r.get("canceled").and_then(Value::as_bool).unwrap_or(false) {
                let reason = r
                    .get("cancel_reason")
                    .and_then(Value::as_str)
                    .unwrap_or("canceled");
                return Err(EtcdError::from_status(0, reason));
            }
            let Some(events) = r.get("events").and_then(Value::as_array) else {
                continue;
            };
            return Ok(events
                .iter()
                .map(|e| {
                    let k = e.get("kv").unwrap_or(&Value::Null);
                    if e.get("type").and_then(Value::as_str) == Some("DELETE") {
                        Event::Delete(int(k, "mod_revision"))
                    } else {
                        Event::Put(kv(k))
                    }
                })
                .collect());
        }
    }
}
