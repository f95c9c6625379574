//! The login's limits on the real binary over loopback: the backoff after failed logins per
//! account and client address and per account, answered alike for unknown numbers; the cap on
//! password checks per client; `Cache-Control: no-store` on every answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{Server, demo_data, run_to_exit};
use serde_json::{Value, json};

const JOHN: &str = "081234567890";
const JOHN_PASSWORD: &str = "password123";
const NOBODY: &str = "081399998888";

/// A first wait no test outlasts however slow the machine.
const LONG_WAIT: (&str, &str) = ("LOGIN_BACKOFF_BASE_MS", "60000");

/// A first wait of one second for the tests that wait it out (the granularity of
/// `Retry-After`): what a test does between a failure and the next try must take less.
const SHORT_WAIT: (&str, &str) = ("LOGIN_BACKOFF_BASE_MS", "1000");

/// Three free failures per client, six per account, the first wait [`LONG_WAIT`] unless
/// `extra` says otherwise.
async fn server(name: &str, extra: &[(&str, &str)]) -> Server {
    let mut env = vec![
        ("CLIENT_RATE_LIMIT_PER_MIN", "1000"),
        ("LOGIN_CLIENT_FREE_FAILURES", "3"),
        ("LOGIN_ACCOUNT_FREE_FAILURES", "6"),
        LONG_WAIT,
    ];
    env.extend_from_slice(extra);
    Server::start(&demo_data(name), &env).await
}

/// A client whose connections leave from `address` (any of 127.0.0.0/8 is this machine).
fn client_at(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// One answer of the login, whole but for its `Date`.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    /// Waits as long as the answer asks.
    async fn wait(&self) {
        let seconds = self.body["retryAfter"].as_u64().expect("a retryAfter");
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

async fn login(client: &reqwest::Client, server: &Server, phone: &str, password: &str) -> Answer {
    send(
        client,
        server,
        json!({ "noHp": phone, "password": password }),
    )
    .await
}

async fn send(client: &reqwest::Client, server: &Server, body: Value) -> Answer {
    // By address, not `localhost`: a client bound to 127.0.0.2 cannot reach ::1.
    let response = client
        .post(format!("http://127.0.0.1:{}/api/auth/login", server.port))
        .json(&body)
        .send()
        .await
        .unwrap();
    answer(response).await
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "date")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

fn statuses(answers: &[Answer]) -> Vec<(u16, &str)> {
    answers.iter().map(|a| (a.status, a.error())).collect()
}

#[tokio::test]
async fn the_backoff_starts_after_the_free_failures_and_says_when_to_retry() {
    let server = server("backoff", &[]).await;
    let me = client_at("127.0.0.1");
    for _ in 0..3 {
        assert_eq!(login(&me, &server, JOHN, "wrong").await.status, 401);
    }
    let throttled = login(&me, &server, JOHN, JOHN_PASSWORD).await;
    assert_eq!(
        (throttled.status, throttled.error()),
        (429, "login_throttled"),
        "even the right password waits: {throttled:?}"
    );
    assert_eq!(throttled.header("retry-after"), Some("60"));
    assert_eq!(throttled.body["retryAfter"], 60);
    assert_eq!(
        throttled.body["message"],
        "Terlalu banyak percobaan login yang gagal. Coba lagi dalam 60 detik."
    );
}

#[tokio::test]
async fn an_unknown_number_is_answered_exactly_as_a_known_one() {
    let server = server("backoff-unknown", &[SHORT_WAIT]).await;
    let me = client_at("127.0.0.1");
    let mut sequences = Vec::new();
    for phone in [JOHN, NOBODY] {
        let mut answers = Vec::new();
        for _ in 0..4 {
            answers.push(login(&me, &server, phone, "wrong").await);
        }
        answers[3].wait().await;
        for _ in 0..2 {
            answers.push(login(&me, &server, phone, "wrong").await);
        }
        sequences.push(answers);
    }
    let expected = [
        (401, "invalid_credentials"),
        (401, "invalid_credentials"),
        (401, "invalid_credentials"),
        (429, "login_throttled"),
        (401, "invalid_credentials"),
        (429, "login_throttled"),
    ];
    assert_eq!(statuses(&sequences[0]), expected, "{:#?}", sequences[0]);
    assert_eq!(
        sequences[0], sequences[1],
        "statuses, bodies and headers alike"
    );
}

/// A stranger at 127.0.0.1 fails on John's account until it must wait; John, at 127.0.0.2,
/// still logs in.
async fn stranger_then_owner(server: &Server) {
    let stranger = client_at("127.0.0.1");
    let owner = client_at("127.0.0.2");
    for _ in 0..3 {
        assert_eq!(login(&stranger, server, JOHN, "wrong").await.status, 401);
    }
    assert_eq!(
        login(&stranger, server, JOHN, "wrong").await.error(),
        "login_throttled"
    );
    assert_eq!(
        login(&owner, server, JOHN, "typo").await.status,
        401,
        "the owner's own count is its own"
    );
    assert_eq!(login(&owner, server, JOHN, JOHN_PASSWORD).await.status, 200);
    assert_eq!(
        login(&stranger, server, JOHN, "wrong").await.error(),
        "login_throttled",
        "the owner's login does not free the stranger"
    );
}

#[tokio::test]
async fn another_address_still_logs_in_while_one_is_backed_off() {
    stranger_then_owner(&server("backoff-victim", &[]).await).await;
}

#[tokio::test]
async fn addresses_count_apart_also_with_the_request_limit_off() {
    let server = server("backoff-no-limit", &[("CLIENT_RATE_LIMIT_PER_MIN", "0")]).await;
    stranger_then_owner(&server).await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_address_counts_apart() {
    let server = server("backoff-proxy", &[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let proxy = client_at("127.0.0.1");
    let from = |client: &'static str, password: &'static str| {
        proxy
            .post(format!("http://127.0.0.1:{}/api/auth/login", server.port))
            .header("x-forwarded-for", client)
            .json(&json!({ "noHp": JOHN, "password": password }))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(from("198.51.100.1", "wrong").await.unwrap().status(), 401);
    }
    assert_eq!(from("198.51.100.1", "wrong").await.unwrap().status(), 429);
    assert_eq!(
        from("198.51.100.2", JOHN_PASSWORD).await.unwrap().status(),
        200,
        "another user behind the same proxy"
    );
}

#[tokio::test]
async fn the_account_waits_for_everyone_once_its_own_count_is_reached() {
    let server = server("backoff-account", &[SHORT_WAIT]).await;
    for address in ["127.0.0.1", "127.0.0.2"] {
        let client = client_at(address);
        for _ in 0..3 {
            assert_eq!(login(&client, &server, JOHN, "wrong").await.status, 401);
        }
    }
    let newcomer = client_at("127.0.0.3");
    let answer = login(&newcomer, &server, JOHN, JOHN_PASSWORD).await;
    assert_eq!((answer.status, answer.error()), (429, "login_throttled"));
    assert_eq!(answer.header("retry-after"), Some("1"));
    answer.wait().await;
    assert_eq!(
        login(&newcomer, &server, JOHN, JOHN_PASSWORD).await.status,
        200
    );
}

#[tokio::test]
async fn the_right_password_after_the_wait_logs_in_and_starts_the_count_over() {
    let server = server("backoff-over", &[SHORT_WAIT]).await;
    let me = client_at("127.0.0.1");
    for _ in 0..3 {
        assert_eq!(login(&me, &server, JOHN, "wrong").await.status, 401);
    }
    let throttled = login(&me, &server, JOHN, JOHN_PASSWORD).await;
    assert_eq!(throttled.error(), "login_throttled");
    throttled.wait().await;
    assert_eq!(login(&me, &server, JOHN, JOHN_PASSWORD).await.status, 200);
    for _ in 0..2 {
        assert_eq!(
            login(&me, &server, JOHN, "wrong").await.status,
            401,
            "free failures again, without a wait"
        );
    }
}

#[tokio::test]
async fn logins_beyond_the_clients_hash_cap_are_refused_at_once() {
    let server = server("hash-cap", &[("LOGIN_HASHES_PER_CLIENT", "1")]).await;
    let me = client_at("127.0.0.1");
    // Different numbers, so that no backoff is in the way.
    let attempts = (0..12).map(|n| {
        let me = me.clone();
        let server = &server;
        async move { login(&me, server, &format!("08139999{n:04}"), "wrong").await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(
        !refused.is_empty(),
        "twelve logins at once, one hash slot: {:?}",
        statuses(&answers)
    );
    for answer in &refused {
        assert_eq!(answer.error(), "login_busy");
        assert_eq!(answer.header("retry-after"), Some("1"));
    }
    assert!(
        answers.iter().any(|a| a.status == 401),
        "{:?}",
        statuses(&answers)
    );
    assert!(
        answers.iter().all(|a| [401, 429].contains(&a.status)),
        "{:?}",
        statuses(&answers)
    );
}

#[tokio::test]
async fn every_login_answer_says_no_store() {
    let server = server("no-store", &[("CLIENT_RATE_LIMIT_PER_MIN", "8")]).await;
    let me = client_at("127.0.0.1");
    let mut answers = vec![
        login(&me, &server, JOHN, JOHN_PASSWORD).await,
        send(&me, &server, json!({ "noHp": JOHN })).await,
        answer(
            me.post(format!("http://127.0.0.1:{}/api/auth/login", server.port))
                .body("noHp=1")
                .send()
                .await
                .unwrap(),
        )
        .await,
    ];
    for _ in 0..6 {
        answers.push(login(&me, &server, JOHN, "wrong").await);
    }
    assert_eq!(
        statuses(&answers),
        [
            (200, ""),
            (400, "password_required"),
            (415, "unsupported_media_type"),
            (401, "invalid_credentials"),
            (401, "invalid_credentials"),
            (401, "invalid_credentials"),
            (429, "login_throttled"),
            (429, "login_throttled"),
            (429, "rate_limited"),
        ]
    );
    for answer in &answers {
        assert_eq!(
            answer.header("cache-control"),
            Some("no-store"),
            "{answer:?}"
        );
    }
}

#[test]
fn bad_login_limits_stop_the_server_naming_the_setting() {
    for (setting, value) in [
        ("LOGIN_CLIENT_FREE_FAILURES", "0"),
        ("LOGIN_ACCOUNT_FREE_FAILURES", "4"),
        ("LOGIN_BACKOFF_BASE_MS", "0"),
        ("LOGIN_BACKOFF_MAX_SECS", "0"),
        ("LOGIN_BACKOFF_ENTRIES", "10"),
        ("LOGIN_HASHES_PER_CLIENT", "0"),
    ] {
        let (ok, output) = run_to_exit(&[(setting, value), ("PORT", "0")]);
        assert!(!ok, "{setting}={value} was accepted");
        assert!(output.contains(setting), "{setting}: {output}");
    }
}
