//! [`RedisRateLimiter`]: request quotas that hold across every server sharing one Redis.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{Script, Value};

use crate::codec::int;
use crate::link::{CallError, Link, call_error};
use crate::{ConnectError, RedisOptions, RedisOtpStore};

static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/rate_limit.lua")));

/// Requests a key may make: `burst` at once, refilled evenly over `period` (GCRA, as
/// `governor`'s `Quota`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed at once, and per period (at least 1).
    pub burst: u32,
    /// The period over which `burst` requests are refilled.
    pub period: Duration,
}

impl Quota {
    /// `n` requests per minute, in bursts of up to `n`.
    pub fn per_minute(n: u32) -> Self {
        Self {
            burst: n.max(1),
            period: Duration::from_secs(60),
        }
    }

    fn interval_us(self) -> u64 {
        let period = u64::try_from(self.period.as_micros()).unwrap_or(u64::MAX);
        (period / u64::from(self.burst.max(1))).max(1)
    }
}

/// What [`RedisRateLimiter::check`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateDecision {
    /// The request is allowed and was counted on every key.
    Allowed,
    /// A key is over its quota; nothing was counted.
    Limited {
        /// Until the request would be allowed.
        retry_after: Duration,
    },
}

/// Why [`RedisRateLimiter::check`] could not decide: the caller falls back to a limit of its
/// own rather than opening or closing the door.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// Redis could not be reached or did not answer in time.
    #[error("rate limiter unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Redis answered with something unreadable.
    #[error("rate limiter answer unreadable: {0}")]
    Corrupt(String),
}

/// Per-key request quotas in Redis, so that every server instance counts the same requests.
///
/// One [`check`](Self::check) counts a request on several keys at once (a client and its wider
/// networks) in one Lua script: the request is counted on all of them only if each allows it,
/// so a refused request uses up nothing. The clock is Redis's, shared by every instance. Every
/// key of one check shares the hash tag of the first, so the script is Cluster-safe; a key
/// expires once its quota is full again.
///
/// ```no_run
/// use otp_reset_redis::{Quota, RateDecision, RedisOptions, RedisRateLimiter};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let limiter = RedisRateLimiter::connect(RedisOptions::new("redis://127.0.0.1:6379")).await?;
/// let decision = limiter
///     .check(&[("2001:db8:1:2::", Quota::per_minute(10)), ("2001:db8::", Quota::per_minute(160))])
///     .await?;
/// if let RateDecision::Limited { retry_after } = decision {
///     println!("retry in {retry_after:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RedisRateLimiter {
    link: Link,
    prefix: String,
}

impl RedisRateLimiter {
    /// A limiter on the Redis of `options`, with a connection of its own. Redis being down is
    /// no error here; [`check`](Self::check) reports it.
    pub async fn connect(options: RedisOptions) -> Result<Self, ConnectError> {
        Ok(Self {
            link: Link::open(&options)?,
            prefix: options.key_prefix,
        })
    }

    /// A limiter sharing `store`'s connection and key prefix.
    pub fn from_store(store: &RedisOtpStore) -> Self {
        Self {
            link: store.link().clone(),
            prefix: store.prefix().to_owned(),
        }
    }

    /// Counts one request on each of `keys` (a name and its quota) if all of them allow it.
    ///
    /// Keys are named under the prefix as `rate:{<first key>}:<key>`: the first key is the
    /// Cluster hash tag of all.
    pub async fn check(&self, keys: &[(&str, Quota)]) -> Result<RateDecision, RateLimitError> {
        let Some((group, _)) = keys.first() else {
            return Ok(RateDecision::Allowed);
        };
        let names: Vec<String> = keys
            .iter()
            .map(|(name, _)| format!("{}rate:{{{group}}}:{name}", self.prefix))
            .collect();
        let mut args = Vec::with_capacity(keys.len() * 2);
        for (_, quota) in keys {
            let interval = quota.interval_us();
            args.push(interval);
            args.push(interval.saturating_mul(u64::from(quota.burst.max(1) - 1)));
        }
        let value = self
            .link
            .run(|mut conn| async move {
                let mut invocation = SCRIPT.prepare_invoke();
                for name in &names {
                    invocation.key(name);
                }
                for arg in &args {
                    invocation.arg(arg);
                }
                invocation
                    .invoke_async::<Value>(&mut conn)
                    .await
                    .map_err(call_error)
            })
            .await
            .map_err(rate_error)?;
        let read = || -> Result<RateDecision, CallError> {
            let Value::Array(parts) = &value else {
                return Err(CallError::Corrupt(format!("unexpected answer {value:?}")));
            };
            Ok(match int(parts.first())? {
                1 => RateDecision::Allowed,
                _ => RateDecision::Limited {
                    retry_after: Duration::from_micros(int(parts.get(1))?),
                },
            })
        };
        read().map_err(rate_error)
    }

    /// Why the last check failed, unless one succeeded since.
    pub fn failure(&self) -> Option<String> {
        self.link.failure()
    }
}

fn rate_error(error: CallError) -> RateLimitError {
    match error {
        CallError::Corrupt(reason) => RateLimitError::Corrupt(reason),
        unavailable @ CallError::Unavailable(_) => {
            RateLimitError::Unavailable(Box::new(unavailable))
        }
    }
}
