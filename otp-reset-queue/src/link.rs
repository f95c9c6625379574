//! One Redis connection with a timeout on every call, that reconnects by itself and logs an
//! outage once.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, RedisError, ScriptInvocation};

use crate::QueueError;

/// A lazily opened, self-reconnecting connection; every call is bounded by a timeout.
#[derive(Clone)]
pub(crate) struct Link {
    connection: ConnectionManager,
    timeout: Duration,
    outage: Arc<AtomicBool>,
}

impl Link {
    /// A connection whose calls each take at most `timeout`; opened on first use.
    pub(crate) fn new(client: &redis::Client, timeout: Duration) -> Result<Self, QueueError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let connection =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(|source| {
                QueueError::Redis {
                    op: "connect",
                    source,
                }
            })?;
        Ok(Self {
            connection,
            timeout,
            outage: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Runs one command.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        op: &'static str,
        cmd: &Cmd,
    ) -> Result<T, QueueError> {
        let mut connection = self.connection.clone();
        let result = tokio::time::timeout(self.timeout, cmd.query_async(&mut connection)).await;
        self.outcome(op, result)
    }

    /// Runs one script (loading it again after a Redis restart forgot it).
    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        op: &'static str,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, QueueError> {
        let mut connection = self.connection.clone();
        let result =
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection)).await;
        self.outcome(op, result)
    }

    fn outcome<T>(
        &self,
        op: &'static str,
        result: Result<Result<T, RedisError>, tokio::time::error::Elapsed>,
    ) -> Result<T, QueueError> {
        let error = match result {
            Ok(Ok(value)) => {
                if self.outage.swap(false, Ordering::Relaxed) {
                    tracing::info!(target: "otp_reset_queue", "Redis answers again");
                }
                return Ok(value);
            }
            Ok(Err(source)) => QueueError::Redis { op, source },
            Err(_) => QueueError::Timeout {
                op,
                timeout: self.timeout,
            },
        };
        if is_outage(&error) && !self.outage.swap(true, Ordering::Relaxed) {
            tracing::warn!(target: "otp_reset_queue", error = %DisplayChain(&error), "Redis unreachable; retrying");
        }
        Err(error)
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Whether an error means Redis cannot be reached (rather than that it refused a command).
pub(crate) fn is_outage(error: &QueueError) -> bool {
    match error {
        QueueError::Timeout { .. } => true,
        QueueError::Redis { source, .. } => {
            source.is_io_error()
                || source.is_timeout()
                || source.is_connection_dropped()
                || source.is_connection_refusal()
        }
        _ => false,
    }
}

/// An error with its causes, for a log line.
pub(crate) struct DisplayChain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
