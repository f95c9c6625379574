//! Why a store or a rate limiter could not be set up.

/// Why [`RedisOtpStore::connect`](crate::RedisOtpStore::connect) or
/// [`RedisRateLimiter::new`](crate::RedisRateLimiter::new) refused its options. Never says
/// a password that was in the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a `redis://` or `rediss://` URL the client can use.
    #[error("not a usable Redis URL ({url}): {reason}")]
    BadUrl {
        /// The URL with any password hidden.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The Redis client could not be set up.
    #[error("cannot set up the Redis client")]
    Client(#[source] redis::RedisError),
    /// Redis refused a setting the store cannot work without (see the message).
    #[error("Redis is not fit for the store: {0}")]
    Unfit(String),
}
