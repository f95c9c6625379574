//! The rate limiter holds its quotas across instances and counts only what it allows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{delete_prefix, redis_url, require_redis, unique_prefix};
use otp_reset_redis::{Quota, RateDecision, RedisOptions, RedisRateLimiter};

/// Deletes the prefix's keys when the test ends, also on a panic.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        delete_prefix(&self.0);
    }
}

async fn limiter(prefix: &str) -> RedisRateLimiter {
    RedisRateLimiter::connect(RedisOptions::new(redis_url()).with_key_prefix(prefix))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_checks_on_two_servers_never_exceed_the_quota() {
    require_redis();
    let prefix = unique_prefix();
    let _cleanup = Cleanup(prefix.clone());
    let servers = [limiter(&prefix).await, limiter(&prefix).await];
    let quota = Quota::per_minute(5);
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let limiter = servers[i % 2].clone();
            tokio::spawn(async move { limiter.check(&[("203.0.113.9", quota)]).await.unwrap() })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        match task.await.unwrap() {
            RateDecision::Allowed => allowed += 1,
            RateDecision::Limited { retry_after } => {
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(12));
            }
        }
    }
    assert_eq!(allowed, 5);
}

#[tokio::test]
async fn a_refused_request_uses_up_nothing_of_the_other_keys() {
    require_redis();
    let prefix = unique_prefix();
    let _cleanup = Cleanup(prefix.clone());
    let limiter = limiter(&prefix).await;
    let (narrow, wide) = (Quota::per_minute(1), Quota::per_minute(3));
    let check = |client: &'static str| {
        let limiter = limiter.clone();
        async move {
            limiter
                .check(&[("2001:db8::", wide), (client, narrow)])
                .await
                .unwrap()
        }
    };
    assert_eq!(check("2001:db8:0:1::").await, RateDecision::Allowed);
    for _ in 0..5 {
        assert!(matches!(
            check("2001:db8:0:1::").await,
            RateDecision::Limited { .. }
        ));
    }
    // The refusals cost the /48 nothing: two more clients in it still get through.
    assert_eq!(check("2001:db8:0:2::").await, RateDecision::Allowed);
    assert_eq!(check("2001:db8:0:3::").await, RateDecision::Allowed);
    assert!(matches!(
        check("2001:db8:0:4::").await,
        RateDecision::Limited { .. }
    ));
}

#[tokio::test]
async fn a_redis_that_is_down_is_an_error_not_a_decision() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let limiter = RedisRateLimiter::connect(
        RedisOptions::new(format!("redis://127.0.0.1:{port}"))
            .with_connect_timeout(Duration::from_millis(200)),
    )
    .await
    .unwrap();
    assert!(limiter.check(&[("x", Quota::per_minute(1))]).await.is_err());
    assert!(limiter.failure().is_some());
}
