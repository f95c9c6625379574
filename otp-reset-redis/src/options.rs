//! What a [`RedisOtpStore`](crate::RedisOtpStore) connects to and how long it waits.

use std::fmt;
use std::time::Duration;

/// Where the store's Redis is and how long a call may take.
///
/// ```
/// use std::time::Duration;
/// use otp_reset_redis::RedisOptions;
///
/// let options = RedisOptions::new("redis://127.0.0.1:6379")
///     .with_key_prefix("shop:otp:")
///     .with_response_timeout(Duration::from_millis(300));
/// assert_eq!(options.key_prefix(), "shop:otp:");
/// ```
#[derive(Clone)]
pub struct RedisOptions {
    pub(crate) url: String,
    pub(crate) key_prefix: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) max_in_flight: usize,
    pub(crate) expiry_margin: Duration,
}

impl RedisOptions {
    /// The key prefix unless set: every key the store writes starts with it.
    pub const DEFAULT_KEY_PREFIX: &'static str = "otp-reset:";
    /// How long connecting may take unless set: a store call is on a request's path.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
    /// How long one command may wait for its answer unless set.
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
    /// Commands waiting for an answer at once, unless set; more wait their turn.
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

    /// How long a key outlives the last instant anything in it limits anything, unless set.
    pub const DEFAULT_EXPIRY_MARGIN: Duration = Duration::from_secs(5);

    /// Options for the Redis at `url` (`redis://` or `rediss://` for TLS; a password and a
    /// database number go in the URL as usual), with the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            response_timeout: Self::DEFAULT_RESPONSE_TIMEOUT,
            max_in_flight: Self::DEFAULT_MAX_IN_FLIGHT,
            expiry_margin: Self::DEFAULT_EXPIRY_MARGIN,
        }
    }

    /// Puts every key under `prefix`, so several sites (or tests) share one Redis.
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long one connection attempt may take.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one command may wait for its answer.
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How many commands may wait for an answer at once (at least 1).
    pub fn with_max_in_flight(mut self, commands: usize) -> Self {
        self.max_in_flight = commands.max(1);
        self
    }

    /// How long a phone's key outlives the last instant anything in it limits anything: room
    /// for the clocks of the servers (which give every `now`) and of Redis (which expires the
    /// key) to disagree.
    pub fn with_expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The longest a store call takes before it fails: one connection attempt and one answer.
    pub fn call_deadline(&self) -> Duration {
        self.connect_timeout.saturating_add(self.response_timeout)
    }
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("url", &redacted_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("max_in_flight", &self.max_in_flight)
            .field("expiry_margin", &self.expiry_margin)
            .finish()
    }
}

/// `url` with any password (or user and password) replaced by `***`, safe to log.
///
/// ```
/// assert_eq!(
///     otp_reset_redis::redacted_url("redis://app:s3cret@cache:6379/2"),
///     "redis://***@cache:6379/2"
/// );
/// assert_eq!(otp_reset_redis::redacted_url("redis://cache:6379"), "redis://cache:6379");
/// ```
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<not a URL>".to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_owned(),
    }
}
