//! The per-client limit counted in Redis, so that it holds across every server instance, with
//! the in-process limit as the fallback while Redis does not answer.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use otp_reset_redis::{Quota, RateDecision, RedisRateLimiter};

use super::{WIDER_NETWORKS, wider_networks};

/// The same quotas as the in-process limit, counted in Redis.
#[derive(Clone, Debug)]
pub(super) struct SharedLimit {
    redis: RedisRateLimiter,
    per_minute: u32,
    /// Whether the last check failed, so an outage is logged once, not per request.
    failing: Arc<AtomicBool>,
    /// When (ms since `started`) a request last asked Redis: during an outage, one request a
    /// second does, the others go straight to the in-process limit instead of waiting out
    /// Redis's timeout each.
    last_try_ms: Arc<AtomicU64>,
    started: Instant,
}

/// How often a request asks Redis while it does not answer.
const RETRY_EVERY: Duration = Duration::from_secs(1);

impl SharedLimit {
    pub(super) fn new(redis: RedisRateLimiter, per_minute: u32) -> Self {
        Self {
            redis,
            per_minute,
            failing: Arc::new(AtomicBool::new(false)),
            last_try_ms: Arc::new(AtomicU64::new(0)),
            started: Instant::now(),
        }
    }

    /// Counts one request of `client` (an IPv4 address or an IPv6 /64) on itself and its wider
    /// networks, each against its own quota, only if all allow it; `None` when Redis could not
    /// decide (the caller falls back to the in-process limit).
    pub(super) async fn check(&self, client: IpAddr) -> Option<Result<(), Duration>> {
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if self.failing.load(Ordering::Relaxed) {
            let last = self.last_try_ms.load(Ordering::Relaxed);
            let due = now_ms.saturating_sub(last) >= RETRY_EVERY.as_millis() as u64;
            if !due
                || self
                    .last_try_ms
                    .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                return None;
            }
        }
        let wider = wider_networks(client);
        let names: Vec<(String, u32)> = wider
            .iter()
            .zip(WIDER_NETWORKS)
            .rev()
            .filter_map(|(network, width)| network.map(|n| (n.to_string(), width.factor)))
            .chain(std::iter::once((client.to_string(), 1)))
            .collect();
        // The widest network first: it names the Cluster slot of all the keys.
        let keys: Vec<(&str, Quota)> = names
            .iter()
            .map(|(name, factor)| {
                (
                    name.as_str(),
                    Quota::per_minute(self.per_minute.saturating_mul(*factor)),
                )
            })
            .collect();
        match self.redis.check(&keys).await {
            Ok(decision) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("the client limit is counted in Redis again");
                }
                Some(match decision {
                    RateDecision::Allowed => Ok(()),
                    RateDecision::Limited { retry_after } => Err(retry_after),
                })
            }
            Err(error) => {
                self.last_try_ms.store(now_ms, Ordering::Relaxed);
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        %error,
                        "Redis does not answer: the client limit is counted in this process until it does"
                    );
                }
                None
            }
        }
    }
}
