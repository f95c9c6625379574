//! `/metrics`: off by default, on a listener of its own or behind a token, counting the flow,
//! in Prometheus' text format, and never with a phone number in it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, demo_data, run_to_exit};
use prometheus_parse::{LineInfo, Scrape, Value};
use serde_json::json;

const JOHN: (&str, &str) = ("John Doe", "081234567890");
const TOKEN: &str = "scrape-token-0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GETs `url` with `token` as a bearer, if any: the status, the content type and the body.
async fn get(url: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// Every line of `text` is a comment (`# HELP`, `# TYPE`) or a sample the Prometheus text
/// format allows; returns the samples.
fn parse(text: &str) -> Scrape {
    for line in text.lines() {
        assert!(
            !matches!(LineInfo::parse(line), LineInfo::Ignored),
            "not Prometheus text format: {line:?}"
        );
    }
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap()
}

/// The value of the counter, gauge or untyped sample `name` with `labels`, if present.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => panic!("{name} is a histogram or summary"),
        })
}

#[tokio::test]
async fn metrics_are_off_by_default() {
    let server = Server::start(&demo_data("metrics-off"), &[]).await;
    let (status, _, body) = get(&server.url("/metrics"), None).await;
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = get(&server.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn their_own_listener_serves_them_and_the_public_one_does_not() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let server = Server::start(
        &demo_data("metrics-own"),
        &[("METRICS_ADDR", address.as_str())],
    )
    .await;
    let (status, content_type, body) = get(&format!("http://{address}/metrics"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let scrape = parse(&body);
    assert_eq!(
        value(&scrape, "otp_reset_sender_ready", &[("sender", "console")]),
        Some(1.0)
    );
    let (status, _, _) = get(&server.url("/metrics"), None).await;
    assert_eq!(status, 404, "the public listener has no /metrics");
    let (status, _, _) = get(&format!("http://{address}/healthz"), None).await;
    assert_eq!(status, 404, "the metrics listener serves the metrics only");
}

#[tokio::test]
async fn the_token_is_required_and_checked() {
    let server = Server::start(&demo_data("metrics-token"), &[("METRICS_TOKEN", TOKEN)]).await;
    let url = server.url("/metrics");
    for presented in [None, Some("wrong-token-0123456789"), Some("scrape-token")] {
        let response = match presented {
            Some(token) => server.client.get(&url).bearer_auth(token),
            None => server.client.get(&url),
        }
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 401, "{presented:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["success"], false);
        assert_eq!(body["error"], "unauthorized");
    }
    let (status, _, body) = get(&url, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    parse(&body);
}

#[tokio::test]
async fn a_reset_moves_the_counters_and_no_phone_digits_appear() {
    let server = Server::start(&demo_data("metrics-flow"), &[("METRICS_TOKEN", TOKEN)]).await;
    let code = server.request_code(JOHN.0, JOHN.1).await;
    let (status, _) = server
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": JOHN.1, "otp": if code == "000000" { "111111" } else { "000000" } }),
        )
        .await;
    assert_eq!(status, 400, "a wrong guess first");
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
    let (status, _) = server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": JOHN.0, "noHp": JOHN.1 }),
        )
        .await;
    assert_eq!(status, 429, "a new code within the cooldown is refused");

    // The sends are counted once the sender returns, after it printed the code: wait for them.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (text, scrape) = loop {
        let (status, _, text) = get(&server.url("/metrics"), Some(TOKEN)).await;
        assert_eq!(status, 200, "{text}");
        let scrape = parse(&text);
        let sent = value(
            &scrape,
            "otp_reset_sends_total",
            &[("sender", "console"), ("outcome", "sent")],
        );
        // The code, then the password-changed notice.
        if sent >= Some(2.0) {
            break (text, scrape);
        }
        assert!(Instant::now() < deadline, "sends not counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let requests = |route: &str, outcome: &str| {
        value(
            &scrape,
            "otp_reset_http_requests_total",
            &[("route", route), ("outcome", outcome)],
        )
    };
    assert_eq!(
        requests("/api/forgot-password/request-otp", "2xx"),
        Some(1.0)
    );
    assert_eq!(
        requests("/api/forgot-password/request-otp", "cooldown"),
        Some(1.0)
    );
    assert_eq!(
        requests("/api/forgot-password/verify-otp", "wrong_otp"),
        Some(1.0)
    );
    assert_eq!(
        requests("/api/forgot-password/verify-otp", "2xx"),
        Some(1.0)
    );
    assert_eq!(
        requests("/api/forgot-password/reset-password", "2xx"),
        Some(1.0)
    );
    assert!(requests("/healthz", "2xx") >= Some(1.0));
    assert_eq!(
        value(&scrape, "otp_reset_codes_issued_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "otp_reset_limits_hit_total",
            &[("kind", "cooldown")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "otp_reset_sender_state",
            &[("sender", "console"), ("state", "READY")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "otp_reset_sender_state",
            &[("sender", "console"), ("state", "FAILED")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &scrape,
            "otp_reset_delivery_outcomes_total",
            &[("status", "sent")]
        ),
        Some(1.0),
        "the code reached `sent` as the console sender returned"
    );
    assert_eq!(
        value(&scrape, "otp_reset_delivery_first_ack_seconds_count", &[]),
        Some(1.0)
    );
    assert_eq!(value(&scrape, "otp_reset_outbox_messages", &[]), Some(0.0));
    assert!(
        value(&scrape, "otp_reset_journal_sync_seconds_count", &[]) >= Some(1.0),
        "the data file's journal was synced:\n{text}"
    );
    assert!(
        value(&scrape, "otp_reset_password_hash_wait_seconds_count", &[]) >= Some(1.0),
        "the new password was hashed:\n{text}"
    );
    assert!(
        scrape
            .docs
            .keys()
            .all(|name| name.starts_with("otp_reset_")),
        "{:?}",
        scrape.docs.keys()
    );
    for secret in ["81234567890", "John", TOKEN, "127.0.0.1"] {
        assert!(!text.contains(secret), "{secret} in the scrape:\n{text}");
    }
    // A six-digit code could turn up inside a measured number by chance: look in the names
    // and labels only.
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let (labelled, _value) = line.rsplit_once(' ').unwrap();
        assert!(!labelled.contains(&code), "the code in {line:?}");
    }
}

#[tokio::test]
async fn bad_metrics_settings_stop_the_start_with_the_setting_named() {
    for (setting, value) in [
        ("METRICS_ADDR", "9464"),
        ("METRICS_ADDR", "localhost:9464"),
        ("METRICS_TOKEN", "short"),
        ("METRICS_TOKEN", "has spaces in the middle of it"),
    ] {
        let data = demo_data("metrics-bad");
        let data = data.to_str().unwrap();
        let (ok, output) = run_to_exit(&[("DATA_FILE", data), (setting, value)]);
        assert!(!ok, "{setting}={value} was accepted:\n{output}");
        assert!(
            output.contains(&format!("invalid setting {setting}")),
            "{setting}={value}:\n{output}"
        );
    }
}

#[tokio::test]
async fn a_taken_metrics_address_stops_the_start_with_the_setting_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let data = demo_data("metrics-taken");
    let (ok, output) = run_to_exit(&[
        ("DATA_FILE", data.to_str().unwrap()),
        ("PORT", &free_port().to_string()),
        ("METRICS_ADDR", &address),
    ]);
    assert!(!ok, "{output}");
    assert!(output.contains("METRICS_ADDR"), "{output}");
}
