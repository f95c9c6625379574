//! The server on `OTP_STORE=redis://…`: the flow with codes in Redis, and a Redis that is down
//! or never answers gives a quick 503 with `Retry-After`, never a hang or a 500.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, demo_data, run_to_exit};
use serde_json::json;

const JOHN: (&str, &str) = ("John Doe", "081234567890");
const SECRET: &str = "a-shared-secret-of-at-least-32-bytes!";

fn redis_url() -> String {
    std::env::var("OTP_RESET_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn redis() -> redis::Connection {
    let url = redis_url();
    redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .unwrap_or_else(|e| {
            panic!(
                "no Redis at {url} ({e}): start Redis (apt-get install redis-server; \
                 redis-server), or set OTP_RESET_TEST_REDIS_URL"
            )
        })
}

/// A key prefix of this test alone, whose keys go when dropped (also on a panic).
struct Prefix(String);

impl Prefix {
    fn new() -> Self {
        Self(format!(
            "otp-reset-server-test:{}-{}:",
            std::process::id(),
            rand::random::<u32>()
        ))
    }

    fn keys(&self) -> Vec<String> {
        redis::cmd("KEYS")
            .arg(format!("{}*", self.0))
            .query(&mut redis())
            .unwrap()
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let keys = self.keys();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL").arg(keys).query(&mut redis()).unwrap();
        }
    }
}

#[tokio::test]
async fn the_flow_runs_on_redis() {
    let prefix = Prefix::new();
    let url = redis_url();
    let settings = [
        ("OTP_STORE", url.as_str()),
        ("REDIS_KEY_PREFIX", prefix.0.as_str()),
        ("OTP_SECRET", SECRET),
    ];
    let server = Server::start(&demo_data("redis-flow"), &settings).await;
    let code = server.request_code(JOHN.0, JOHN.1).await;
    let keys = prefix.keys();
    assert!(
        keys.iter()
            .any(|k| k.starts_with(&format!("{}phone:", prefix.0))),
        "{keys:?}"
    );
    // Only digests: the code itself is in no key.
    for key in keys.iter().filter(|k| k.contains("phone:")) {
        let value: String = redis::cmd("GET").arg(key).query(&mut redis()).unwrap();
        assert!(!value.contains(&code), "{value}");
    }
    // A resend within the cooldown is refused by the record in Redis.
    let (status, body) = server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": JOHN.0, "noHp": JOHN.1 }),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    let (status, body) = server
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": JOHN.1, "otp": code }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .post(
            "/api/forgot-password/reset-password",
            json!({ "noHp": JOHN.1, "otp": code, "newPassword": "sandiBaru#1", "confirmPassword": "sandiBaru#1" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.login(JOHN.1, "sandiBaru#1").await, 200);
    assert!(
        prefix.keys().iter().any(|k| k.contains("rate:")),
        "the client limit is counted in Redis"
    );
    server.stop();
}

#[tokio::test]
async fn a_code_asked_of_one_instance_is_checked_by_another() {
    let prefix = Prefix::new();
    let url = redis_url();
    let settings = [
        ("OTP_STORE", url.as_str()),
        ("REDIS_KEY_PREFIX", prefix.0.as_str()),
        ("OTP_SECRET", SECRET),
    ];
    let first = Server::start(&demo_data("redis-two-a"), &settings).await;
    let second = Server::start(&demo_data("redis-two-b"), &settings).await;
    let code = first.request_code(JOHN.0, JOHN.1).await;
    // The cooldown is shared too.
    let (status, body) = second
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": JOHN.0, "noHp": JOHN.1 }),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    let (status, body) = second
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": JOHN.1, "otp": code }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    first.stop();
    second.stop();
}

#[test]
fn a_redis_store_needs_otp_secret() {
    let url = redis_url();
    let (ok, output) = run_to_exit(&[("OTP_STORE", url.as_str())]);
    assert!(!ok);
    assert!(output.contains("OTP_SECRET"), "{output}");
}

#[test]
fn a_bad_otp_store_is_named_without_its_password() {
    for value in [
        "redis://user:hunter2@",
        "postgres://user:hunter2@db/x",
        "redis",
    ] {
        let (ok, output) = run_to_exit(&[("OTP_STORE", value), ("OTP_SECRET", SECRET)]);
        assert!(!ok, "{value}");
        assert!(output.contains("OTP_STORE"), "{output}");
        assert!(!output.contains("hunter2"), "{output}");
    }
}

/// Asks for a code on a server whose Redis fails: 503 with a message and `Retry-After`, soon.
async fn answers_503_quickly(server: &Server) {
    for _ in 0..3 {
        let started = Instant::now();
        let response = server
            .client
            .post(server.url("/api/forgot-password/request-otp"))
            .json(&json!({ "nama": JOHN.0, "noHp": JOHN.1 }))
            .send()
            .await
            .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(response.status(), 503, "{}", server.output());
        assert!(
            response.headers().get("retry-after").is_some(),
            "{:?}",
            response.headers()
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["success"], false);
        assert_eq!(body["error"], "server_error", "{body}");
        assert!(!body["message"].as_str().unwrap_or("").is_empty(), "{body}");
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    }
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
}

#[tokio::test]
async fn a_redis_that_is_down_gives_503_with_retry_after() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let settings = [("OTP_STORE", url.as_str()), ("OTP_SECRET", SECRET)];
    let server = Server::start_unhealthy(&demo_data("redis-down"), &settings).await;
    answers_503_quickly(&server).await;
}

#[tokio::test]
async fn a_redis_that_never_answers_gives_503_with_retry_after() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let url = format!("redis://127.0.0.1:{port}");
    let settings = [("OTP_STORE", url.as_str()), ("OTP_SECRET", SECRET)];
    let server = Server::start_unhealthy(&demo_data("redis-slow"), &settings).await;
    answers_503_quickly(&server).await;
}
