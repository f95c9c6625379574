//! The crate's error.

use std::time::Duration;

/// What went wrong in the queue, on either side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// A setting is out of its range; names the setting.
    #[error("invalid setting {setting}: {reason}")]
    Setting {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The Redis URL does not parse (the URL itself is not repeated: it may hold a password).
    #[error("the sender queue's Redis URL is not valid")]
    InvalidUrl(#[source] redis::RedisError),
    /// Made outside a tokio runtime.
    #[error("the sender queue must be started inside a tokio runtime")]
    NoRuntime,
    /// Redis answered with an error, or the connection failed.
    #[error("Redis {op} failed")]
    Redis {
        /// The command or step that failed.
        op: &'static str,
        /// The cause.
        #[source]
        source: redis::RedisError,
    },
    /// Redis did not answer in time.
    #[error("Redis {op} did not answer within {timeout:?}")]
    Timeout {
        /// The command or step that timed out.
        op: &'static str,
        /// How long it was given.
        timeout: Duration,
    },
    /// An entry or a status in Redis is not in the format this crate writes.
    #[error("malformed {0} in Redis")]
    Malformed(&'static str),
}
