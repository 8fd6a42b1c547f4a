//! One kept connection: connect lazily, reuse it, drop it when it breaks or hangs, reconnect with
//! bounded back-off, and bound every use (connect plus statements) by one deadline.
//!
//! Generic over a [`Connector`] so that the timeout and back-off logic is unit-tested with mocks.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio::time::{Instant, timeout_at};

use crate::backoff::{Backoff, BackoffConfig};
use crate::error::{PgError, Stage};

/// Opens sessions (a connection with its prepared statements).
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    /// What a successful connect yields.
    type Session: Send + Sync + 'static;

    /// Connects and prepares. The caller bounds this by the probe deadline.
    async fn connect(&self) -> Result<Self::Session, PgError>;

    /// A description of the server for errors (never a password).
    fn target(&self) -> &str;
}

struct State<S> {
    session: Option<Arc<S>>,
    backoff: Backoff,
}

/// A kept session to one server.
pub struct Kept<C: Connector> {
    connector: C,
    state: Mutex<State<C::Session>>,
}

impl<C: Connector> Kept<C> {
    /// Nothing is connected until the first [`Kept::run`].
    pub fn new(connector: C, backoff: BackoffConfig) -> Self {
        Kept {
            connector,
            state: Mutex::new(State {
                session: None,
                backoff: Backoff::new(backoff),
            }),
        }
    }

    /// The connector.
    pub fn connector(&self) -> &C {
        &self.connector
    }

    /// True while a session is kept.
    pub async fn is_connected(&self) -> bool {
        self.state.lock().await.session.is_some()
    }

    /// Runs `f` on the kept session, connecting first when there is none, all within `timeout`.
    ///
    /// A session that times out or breaks is dropped. When a reused session turns out to be broken
    /// (for example the server restarted), one fresh connection is tried within the same deadline.
    /// While the back-off holds, no connection is attempted and [`PgError::BackingOff`] comes back
    /// at once.
    pub async fn run<T, F, Fut>(&self, timeout: Duration, f: F) -> Result<T, PgError>
    where
        F: Fn(Arc<C::Session>) -> Fut,
        Fut: Future<Output = Result<T, PgError>>,
    {
        let deadline = Instant::now() + timeout;
        let target = || self.connector.target().to_owned();
        let mut state =
            timeout_at(deadline, self.state.lock())
                .await
                .map_err(|_| PgError::Timeout {
                    stage: Stage::Wait,
                    target: target(),
                    after: timeout,
                })?;
        let mut retried = false;
        loop {
            let (session, fresh) = match &state.session {
                Some(s) => (Arc::clone(s), false),
                None => {
                    if let Err((retry_in, last)) = state.backoff.check(Instant::now()) {
                        return Err(PgError::BackingOff {
                            target: target(),
                            retry_in,
                            last_error: last.to_owned(),
                        });
                    }
                    let connected = match timeout_at(deadline, self.connector.connect()).await {
                        Ok(r) => r,
                        Err(_) => Err(PgError::Timeout {
                            stage: Stage::Connect,
                            target: target(),
                            after: timeout,
                        }),
                    };
                    match connected {
                        Ok(s) => {
                            state.backoff.succeeded();
                            let s = Arc::new(s);
                            state.session = Some(Arc::clone(&s));
                            (s, true)
                        }
                        Err(e) => {
                            state.backoff.failed(Instant::now(), e.to_string());
                            return Err(e);
                        }
                    }
                }
            };
            let result = match timeout_at(deadline, f(session)).await {
                Ok(r) => r,
                Err(_) => Err(PgError::Timeout {
                    stage: Stage::Query,
                    target: target(),
                    after: timeout,
                }),
            };
            match result {
                Ok(v) => return Ok(v),
                Err(e) if e.drops_connection() => {
                    state.session = None;
                    let broken_reused = !fresh && matches!(e, PgError::ConnectionLost { .. });
                    if broken_reused && !retried && Instant::now() < deadline {
                        retried = true;
                        continue;
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::atomic::{AtomicU32, Ordering};

    use futures::future::BoxFuture;

    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn backoff() -> BackoffConfig {
        BackoffConfig {
            initial: ms(100),
            max: ms(400),
        }
    }

    type ConnectFn = Box<dyn Fn() -> BoxFuture<'static, Result<u32, PgError>> + Send + Sync>;

    /// A hand-made mock connector: counts calls, runs the scripted connect, and checks a call
    /// limit when dropped.
    struct MockConnector {
        connect: Option<ConnectFn>,
        calls: AtomicU32,
        limit: Option<u32>,
    }

    impl MockConnector {
        fn expect_connect(&mut self) -> &mut Self {
            self
        }
        fn times(&mut self, n: u32) -> &mut Self {
            self.limit = Some(n);
            self
        }
        fn returning(
            &mut self,
            f: impl Fn() -> BoxFuture<'static, Result<u32, PgError>> + Send + Sync + 'static,
        ) {
            self.connect = Some(Box::new(f));
        }
    }

    impl Drop for MockConnector {
        fn drop(&mut self) {
            if let Some(limit) = self.limit
                && !std::thread::panicking()
            {
                assert_eq!(
                    self.calls.load(Ordering::SeqCst),
                    limit,
                    "connect call count"
                );
            }
        }
    }

    #[async_trait]
    impl Connector for MockConnector {
        type Session = u32;
        async fn connect(&self) -> Result<u32, PgError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let f = self.connect.as_ref().expect("connect scripted");
            f().await
        }
        fn target(&self) -> &str {
            "db:5432"
        }
    }

    fn mock() -> MockConnector {
        MockConnector {
            connect: None,
            calls: AtomicU32::new(0),
            limit: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn hung_connect_times_out_within_the_bound_then_backs_off() {
        let mut c = mock();
        c.expect_connect().times(1).returning(|| {
            Box::pin(async {
                std::future::pending::<()>().await;
                Ok(1)
            })
        });
        let kept = Kept::new(c, backoff());
        let t0 = Instant::now();
        let err = kept.run(ms(500), |_| async { Ok(()) }).await.unwrap_err();
        assert_eq!(Instant::now() - t0, ms(500));
        assert!(
            matches!(
                err,
                PgError::Timeout {
                    stage: Stage::Connect,
                    ..
                }
            ),
            "{err}"
        );
        // Within the back-off, no second connect (times(1) above) and an immediate answer.
        let err = kept.run(ms(500), |_| async { Ok(()) }).await.unwrap_err();
        assert!(matches!(err, PgError::BackingOff { .. }), "{err}");
        assert_eq!(Instant::now() - t0, ms(500));
    }

    #[tokio::test(start_paused = true)]
    async fn hung_query_times_out_and_drops_the_session() {
        let mut c = mock();
        c.expect_connect()
            .times(2)
            .returning(|| Box::pin(async { Ok(7) }));
        let kept = Kept::new(c, backoff());
        let t0 = Instant::now();
        let err = kept
            .run(ms(300), |_| async {
                std::future::pending::<()>().await;
                Ok(())
            })
            .await
            .unwrap_err();
        assert_eq!(Instant::now() - t0, ms(300));
        assert!(matches!(
            err,
            PgError::Timeout {
                stage: Stage::Query,
                ..
            }
        ));
        assert!(!kept.is_connected().await);
        // A timeout on the query does not start a back-off: the next probe reconnects at once.
        let v = kept.run(ms(300), |s| async move { Ok(*s) }).await.unwrap();
        assert_eq!(v, 7);
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_one_session_across_probes() {
        let mut c = mock();
        c.expect_connect()
            .times(1)
            .returning(|| Box::pin(async { Ok(3) }));
        let kept = Kept::new(c, backoff());
        for _ in 0..5 {
            assert_eq!(
                kept.run(ms(100), |s| async move { Ok(*s) }).await.unwrap(),
                3
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn broken_reused_session_is_replaced_within_the_same_probe() {
        let mut c = mock();
        let n = Arc::new(AtomicU32::new(0));
        let n2 = Arc::clone(&n);
        c.expect_connect().times(2).returning(move || {
            let v = n2.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(v) })
        });
        let kept = Kept::new(c, backoff());
        assert_eq!(
            kept.run(ms(100), |s| async move { Ok(*s) }).await.unwrap(),
            0
        );
        let v = kept
            .run(ms(100), |s| async move {
                if *s == 0 {
                    Err(PgError::ConnectionLost {
                        target: "db".into(),
                        reason: "reset".into(),
                    })
                } else {
                    Ok(*s)
                }
            })
            .await
            .unwrap();
        assert_eq!(v, 1);
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn refused_connects_back_off_exponentially() {
        let mut c = mock();
        let attempts = Arc::new(std::sync::Mutex::new(Vec::new()));
        let a2 = Arc::clone(&attempts);
        let t0 = Instant::now();
        c.expect_connect().returning(move || {
            a2.lock().unwrap().push(Instant::now() - t0);
            Box::pin(async {
                Err(PgError::Connect {
                    target: "db".into(),
                    reason: "refused".into(),
                })
            })
        });
        let kept = Kept::new(c, backoff());
        // Probe every 50 ms for 1.6 s; attempts happen only when the back-off allows.
        for _ in 0..32 {
            let _ = kept.run(ms(100), |_| async { Ok(()) }).await;
            tokio::time::sleep(ms(50)).await;
        }
        let got = attempts.lock().unwrap().clone();
        assert_eq!(
            got,
            vec![ms(0), ms(100), ms(300), ms(700), ms(1100), ms(1500)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn query_errors_keep_the_session() {
        let mut c = mock();
        c.expect_connect()
            .times(1)
            .returning(|| Box::pin(async { Ok(1) }));
        let kept = Kept::new(c, backoff());
        let err = kept
            .run(ms(100), |_| async {
                Err::<(), _>(PgError::Query {
                    target: "db".into(),
                    reason: "syntax".into(),
                    sqlstate: None,
                })
            })
            .await
            .unwrap_err();
        assert!(matches!(err, PgError::Query { .. }));
        assert!(kept.is_connected().await);
    }
}
