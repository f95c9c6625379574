//! Why a store or a rate limiter could not be set up.

/// Why [`RedisOtpStore::connect`](crate::RedisOtpStore::connect) or
/// [`RedisRateLimiter::connect`](crate::RedisRateLimiter::connect) refused its options. Never says
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
}
