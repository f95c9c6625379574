//! A Redis that is down or slow gives a fast `Unavailable`, never a hang, and the store works
//! again by itself once Redis is back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{new_code, now, phone};
use otp_reset::{IssueOutcome, OtpRules, OtpStore, StoreError};
use otp_reset_redis::{RedisOptions, RedisOtpStore};

const CONNECT: Duration = Duration::from_millis(300);
const RESPONSE: Duration = Duration::from_millis(300);

fn options(url: String) -> RedisOptions {
    RedisOptions::new(url)
        .with_key_prefix(common::unique_prefix())
        .with_connect_timeout(CONNECT)
        .with_response_timeout(RESPONSE)
}

/// A port nothing listens on (for a moment).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap()
}

async fn issue(store: &RedisOtpStore, n: u64) -> (Result<IssueOutcome, StoreError>, Duration) {
    let started = Instant::now();
    let result = store
        .issue(&phone(n), new_code(1), now(), &OtpRules::DEFAULT)
        .await;
    (result, started.elapsed())
}

/// Within the call deadline, with room for a busy test machine.
fn fast(elapsed: Duration) -> bool {
    elapsed < CONNECT + RESPONSE + Duration::from_millis(700)
}

#[tokio::test]
async fn a_redis_that_is_down_gives_a_fast_unavailable() {
    let store = RedisOtpStore::connect(options(format!("redis://127.0.0.1:{}", free_port())))
        .await
        .unwrap();
    for _ in 0..3 {
        let (result, elapsed) = issue(&store, 1).await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
        assert!(fast(elapsed), "took {elapsed:?}");
    }
    let failure = store.failure().expect("the failure is reported");
    assert!(failure.contains("unavailable"), "{failure}");
}

#[tokio::test]
async fn a_redis_that_never_answers_gives_a_fast_unavailable() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let store = RedisOtpStore::connect(options(format!("redis://127.0.0.1:{port}")))
        .await
        .unwrap();
    assert!(
        fast(started.elapsed()),
        "connect took {:?}",
        started.elapsed()
    );
    for _ in 0..3 {
        let (result, elapsed) = issue(&store, 1).await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
        assert!(fast(elapsed), "took {elapsed:?}");
    }
    assert!(store.failure().is_some());
}

/// A private `redis-server` on `port`, killed when dropped.
struct PrivateRedis(Child);

impl PrivateRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        #[allow(clippy::zombie_processes)] // waited for in `stop` and `Drop`
        let child = child.unwrap_or_else(|e| {
            panic!("cannot start redis-server ({e}): apt-get install redis-server")
        });
        let url = format!("redis://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ping = redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ping.is_ok() {
                return Self(child);
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_works_again_once_redis_is_back() {
    let port = free_port();
    let redis = PrivateRedis::start(port);
    let store = RedisOtpStore::connect(options(format!("redis://127.0.0.1:{port}")))
        .await
        .unwrap();
    assert_eq!(issue(&store, 1).await.0.unwrap(), IssueOutcome::Issued);
    assert!(store.failure().is_none());

    redis.stop();
    let (result, elapsed) = issue(&store, 2).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(fast(elapsed), "took {elapsed:?}");
    assert!(store.failure().is_some());

    let _redis = PrivateRedis::start(port);
    // The first calls may meet the dead connection; it is replaced by itself.
    let started = Instant::now();
    loop {
        match issue(&store, 3).await.0 {
            Ok(outcome) => {
                assert_eq!(outcome, IssueOutcome::Issued);
                break;
            }
            Err(e) => assert!(
                started.elapsed() < Duration::from_secs(5),
                "the store did not recover: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(store.failure().is_none());
}
