//! Bounded backend calls: every trait call runs as its own spawned future under a timeout.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::Error;

/// Why a bounded call produced no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// The call did not finish within the bound; it was aborted.
    Timeout(Duration),
    /// The backend panicked.
    Panicked(String),
}

impl CallError {
    /// The matching backend [`Error`] for `operation`.
    pub(crate) fn into_error(self, operation: &str) -> Error {
        match self {
            CallError::Timeout(after) => Error::timeout(operation, after),
            CallError::Panicked(message) => Error::Other {
                operation: operation.to_owned(),
                message: format!("backend panicked: {message}"),
                transient: true,
            },
        }
    }

    /// A short description for reasons and logs.
    pub(crate) fn describe(&self, operation: &str) -> String {
        match self {
            CallError::Timeout(after) => format!("{operation} timed out after {after:?}"),
            CallError::Panicked(message) => format!("{operation}: backend panicked: {message}"),
        }
    }
}

/// Aborts the spawned call when dropped, so that cancelling the caller cancels the call.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `call` as its own task and waits at most `limit` for it. A call that hangs is aborted
/// and reported as [`CallError::Timeout`]; a panicking backend is contained and reported as
/// [`CallError::Panicked`].
pub(crate) async fn bounded<T, F>(limit: Duration, call: F) -> Result<T, CallError>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let mut task = AbortOnDrop(tokio::spawn(call));
    match tokio::time::timeout(limit, &mut task.0).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(join)) => Err(CallError::Panicked(join.to_string())),
        Err(_) => Err(CallError::Timeout(limit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn hanging_call_is_cut_off() {
        let started = tokio::time::Instant::now();
        let r = bounded(Duration::from_secs(2), std::future::pending::<()>()).await;
        assert_eq!(r, Err(CallError::Timeout(Duration::from_secs(2))));
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert!(matches!(
            r.map_err(|e| e.into_error("fence")),
            Err(Error::Timeout { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn prompt_call_returns_its_value() {
        assert_eq!(bounded(Duration::from_secs(1), async { 7 }).await, Ok(7));
    }

    #[tokio::test]
    async fn panic_is_contained() {
        let r = bounded(Duration::from_secs(1), async {
            if Duration::ZERO.is_zero() {
                panic!("boom");
            }
            7u8
        })
        .await;
        let e = r.unwrap_err();
        assert!(
            matches!(e, CallError::Panicked(ref m) if m.contains("panicked")),
            "{e:?}"
        );
    }
}
