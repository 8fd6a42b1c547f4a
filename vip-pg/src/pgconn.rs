//! The real [`Connector`]: tokio-postgres over TCP or a Unix socket, without TLS, with the probe's
//! statements prepared once per connection.

use async_trait::async_trait;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Statement};

use crate::config::describe_target;
use crate::error::PgError;
use crate::kept::Connector;
use crate::redact::redact;

/// A connection and its prepared statements. Dropping it aborts the connection task, so that a
/// connection stuck on a hung server does not linger.
pub struct Session {
    /// The client.
    pub client: Client,
    /// The statements, in the order they were given to [`PgConnector::new`].
    pub statements: Vec<Statement>,
    task: JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connects with a driver configuration and prepares a fixed list of statements.
pub struct PgConnector {
    config: tokio_postgres::Config,
    statements: Vec<&'static str>,
    target: String,
}

impl PgConnector {
    /// A connector for `config` that prepares `statements` on each new connection.
    pub fn new(config: tokio_postgres::Config, statements: Vec<&'static str>) -> Self {
        let target = describe_target(&config);
        PgConnector {
            config,
            statements,
            target,
        }
    }

    fn secret(&self) -> Option<&[u8]> {
        self.config.get_password()
    }

    /// Classifies a driver error from connecting (before any statement ran).
    fn connect_error(&self, e: &tokio_postgres::Error) -> PgError {
        let reason = redact(&error_text(e), self.secret());
        let target = self.target.clone();
        match e.code() {
            Some(code)
                if *code == SqlState::INVALID_PASSWORD
                    || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                PgError::Auth { target, reason }
            }
            _ if reason.contains("password missing") => PgError::Auth { target, reason },
            _ => PgError::Connect { target, reason },
        }
    }

    /// The error for a session that lacks an expected prepared statement (a programming error,
    /// reported rather than panicking).
    pub fn missing_statement(&self) -> PgError {
        PgError::Query {
            target: self.target.clone(),
            reason: "prepared statement missing".into(),
            sqlstate: None,
        }
    }

    /// Classifies a driver error from preparing or running a statement.
    pub fn query_error(&self, e: &tokio_postgres::Error) -> PgError {
        query_error(&self.target, self.secret(), e)
    }
}

/// Classifies a driver error from a statement: a broken connection, or a server error on a live
/// one (operator intervention, such as an admin shutdown, counts as broken).
pub(crate) fn query_error(
    target: &str,
    secret: Option<&[u8]>,
    e: &tokio_postgres::Error,
) -> PgError {
    let reason = redact(&error_text(e), secret);
    let target = target.to_owned();
    match e.code() {
        Some(code) if code.code().starts_with("57") || code.code().starts_with("08") => {
            PgError::ConnectionLost { target, reason }
        }
        Some(code) => PgError::Query {
            target,
            reason,
            sqlstate: Some(code.code().to_owned()),
        },
        None => PgError::ConnectionLost { target, reason },
    }
}

/// The driver error with its source chain (the top-level text alone is often just "db error").
fn error_text(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[async_trait]
impl Connector for PgConnector {
    type Session = Session;

    async fn connect(&self) -> Result<Session, PgError> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| self.connect_error(&e))?;
        let target = self.target.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(target = %target, "postgres probe connection ended: {e}");
            }
        });
        // From here on, an early return drops the session and so aborts the task.
        let mut session = Session {
            client,
            statements: Vec::with_capacity(self.statements.len()),
            task,
        };
        for sql in &self.statements {
            let statement = session
                .client
                .prepare(sql)
                .await
                .map_err(|e| self.query_error(&e))?;
            session.statements.push(statement);
        }
        Ok(session)
    }

    fn target(&self) -> &str {
        &self.target
    }
}

impl crate::kept::Kept<PgConnector> {
    /// Runs the connector's first prepared statement on the kept session within `timeout` and
    /// reads its one row with `read` (the probes that ask one question per round).
    pub(crate) async fn query_first<T>(
        &self,
        timeout: std::time::Duration,
        read: impl Fn(&tokio_postgres::Row, &PgConnector) -> Result<T, PgError>,
    ) -> Result<T, PgError> {
        let conn = self.connector();
        let read = &read;
        self.run(timeout, |session| async move {
            let statement = session
                .statements
                .first()
                .ok_or_else(|| conn.missing_statement())?;
            let row = session
                .client
                .query_one(statement, &[])
                .await
                .map_err(|e| conn.query_error(&e))?;
            read(&row, conn)
        })
        .await
    }
}
