//! One reconnecting connection to Redis, shared by clones, with a deadline on every call and
//! a record of the last failure.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::options::redacted_url;
use crate::{ConnectError, RedisOptions};

/// Why one call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// Redis could not be reached, timed out or answered with an error.
    #[error("Redis unavailable: {0}")]
    Unavailable(String),
    /// Redis answered with data that cannot be read.
    #[error("unreadable data in Redis: {0}")]
    Corrupt(String),
}

#[derive(Clone)]
pub(crate) struct Link {
    manager: ConnectionManager,
    deadline: Duration,
    failure: Arc<Mutex<Option<String>>>,
    url: Arc<str>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("url", &self.url)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// Sets up the connection without waiting for it: a Redis that is down at start is
    /// reported by the first calls (and [`Link::failure`]), and reached once it is up.
    pub(crate) fn open(options: &RedisOptions) -> Result<Self, ConnectError> {
        let url = redacted_url(&options.url);
        if !(options.url.starts_with("redis://") || options.url.starts_with("rediss://")) {
            return Err(ConnectError::BadUrl {
                url,
                reason: "it must start with redis:// or rediss://".to_owned(),
            });
        }
        let client =
            redis::Client::open(options.url.as_str()).map_err(|e| ConnectError::BadUrl {
                url: url.clone(),
                // The client's message may quote the URL; say only what kind of fault it is.
                reason: format!("{:?}", e.kind()),
            })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.response_timeout))
            // One quick retry per reconnection; the next call starts another if Redis is
            // still down, so an outage never piles up waiting calls.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200))
            .set_concurrency_limit(options.max_in_flight);
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(ConnectError::Client)?;
        Ok(Self {
            manager,
            deadline: options.call_deadline(),
            failure: Arc::new(Mutex::new(None)),
            url: url.into(),
        })
    }

    /// Runs `call` on the connection within the deadline, and records whether it failed.
    pub(crate) async fn run<T, F, Fut>(&self, call: F) -> Result<T, CallError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let result = match tokio::time::timeout(self.deadline, call(self.manager.clone())).await {
            Ok(result) => result,
            Err(_) => Err(CallError::Unavailable(format!(
                "no answer within {} ms",
                self.deadline.as_millis()
            ))),
        };
        self.record(result.as_ref().err());
        result
    }

    fn record(&self, error: Option<&CallError>) {
        let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        match (error, failure.is_some()) {
            (Some(CallError::Unavailable(reason)), was_failing) => {
                if !was_failing {
                    tracing::warn!(redis = %self.url, %reason, "Redis is unavailable");
                }
                *failure = Some(format!("Redis at {} is unavailable: {reason}", self.url));
            }
            (None, true) => {
                tracing::info!(redis = %self.url, "Redis answers again");
                *failure = None;
            }
            _ => {}
        }
    }

    /// Why the last call failed, unless a call succeeded since.
    pub(crate) fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

/// A Redis error as a call error: a script's `CORRUPT` reply is unreadable data, anything else
/// (refused, timed out, dropped, a server error) makes Redis unavailable.
pub(crate) fn call_error(error: redis::RedisError) -> CallError {
    if error.code() == Some("CORRUPT") {
        return CallError::Corrupt(error.detail().unwrap_or("unreadable record").to_owned());
    }
    CallError::Unavailable(error.to_string())
}
