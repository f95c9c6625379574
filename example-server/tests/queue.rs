//! The example server with `OTP_SENDER=queue` and a `--sender-worker` process: the instance
//! queues each code in a real Redis, the worker sends it, and bot-status follows the worker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, Worker, demo_data};
use serde_json::{Value, json};

const SECRET: &str = "a shared secret of the instances and the worker, 32+";

fn redis_url() -> String {
    std::env::var("OTP_RESET_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix of this test's own, checked to answer first, deleted at the end.
struct Prefix {
    prefix: String,
    client: redis::Client,
}

impl Prefix {
    fn new() -> Self {
        let client =
            redis::Client::open(redis_url()).expect("OTP_RESET_TEST_REDIS_URL is not a Redis URL");
        let answers = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection));
        if let Err(error) = answers {
            panic!(
                "no Redis answers at OTP_RESET_TEST_REDIS_URL ({error}): start Redis \
                 (apt-get install redis-server; redis-server --daemonize yes), or set \
                 OTP_RESET_TEST_REDIS_URL"
            );
        }
        let prefix = format!(
            "example-server-queue-test:{}:{:016x}:",
            std::process::id(),
            rand::random::<u64>()
        );
        Self { prefix, client }
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let Ok(mut connection) = self
            .client
            .get_connection_with_timeout(Duration::from_secs(2))
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut connection)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query(&mut connection);
        }
    }
}

/// The worker with the console sender on the queue under `prefix`.
fn console_worker(prefix: &str) -> Worker {
    let url = redis_url();
    Worker::start(
        &[
            ("WORKER_SENDER", "console"),
            ("SENDER_QUEUE_URL", &url),
            ("SENDER_QUEUE_PREFIX", prefix),
            ("OTP_SECRET", SECRET),
        ],
        false,
    )
}

async fn bot_status(server: &Server) -> Value {
    server
        .client
        .get(server.url("/api/forgot-password/bot-status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_for_status(
    server: &Server,
    what: &str,
    bound: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + bound;
    loop {
        let status = bot_status(server).await;
        if check(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "bot-status never showed {what}; last: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_sends_what_an_instance_queues_and_bot_status_follows_the_worker() {
    let prefix = Prefix::new();
    let url = redis_url();
    let env = [
        ("OTP_SENDER", "queue"),
        ("SENDER_QUEUE_URL", url.as_str()),
        ("SENDER_QUEUE_PREFIX", prefix.prefix.as_str()),
        ("OTP_SECRET", SECRET),
    ];
    let server = Server::start(&demo_data("queue-instance"), &env).await;
    let status = wait_for_status(&server, "no worker", Duration::from_secs(20), |s| {
        s["status"] == "FAILED"
    })
    .await;
    assert_eq!(status["reason"], "no sender worker is running");
    assert_eq!(status["ready"], false);

    let worker = console_worker(&prefix.prefix);
    let ready = Duration::from_secs(30);
    wait_for_status(&server, "READY", ready, |s| {
        s["status"] == "READY" && s["ready"] == true
    })
    .await;

    let (status, body) = server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": "John Doe", "noHp": "081234567890" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some((_, code)) = worker.codes().first() {
            break code.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the worker printed no code:\n{}",
            worker.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        !server.output().contains(&code),
        "the instance never shows the code"
    );
    let (status, body) = server
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": "081234567890", "otp": code }),
        )
        .await;
    assert_eq!(
        status, 200,
        "the code the worker sent verifies on the instance: {body}"
    );

    // SIGKILL: no goodbye; the heartbeat goes stale.
    worker.kill_hard();
    let status = wait_for_status(&server, "the worker gone", Duration::from_secs(30), |s| {
        s["status"] != "READY"
    })
    .await;
    assert_eq!(status["ready"], false);
    assert_eq!(status["reason"], "no sender worker is running");
    drop(server);
}

#[test]
fn the_queue_modes_refuse_to_start_without_their_settings() {
    let (ok, output) = common::run_to_exit(&[("OTP_SENDER", "queue"), ("OTP_SECRET", SECRET)]);
    assert!(!ok);
    assert!(output.contains("SENDER_QUEUE_URL"), "{output}");

    let (ok, output) = common::run_to_exit(&[
        ("SENDER_WORKER", "1"),
        ("SENDER_QUEUE_URL", "redis://127.0.0.1:6379"),
    ]);
    assert!(!ok);
    assert!(output.contains("OTP_SECRET"), "{output}");

    let (ok, output) = common::run_to_exit(&[
        ("OTP_SENDER", "queue"),
        ("OTP_SECRET", SECRET),
        (
            "SENDER_QUEUE_URL",
            "redis://:hunter2-password@127.0.0.1:6379",
        ),
        ("SENDER_CLAIM_TIMEOUT_SECS", "10"),
    ]);
    assert!(!ok);
    assert!(output.contains("SENDER_CLAIM_TIMEOUT_SECS"), "{output}");
    assert!(
        !output.contains("hunter2"),
        "the URL's password is never shown: {output}"
    );
}
