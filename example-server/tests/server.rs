//! The real binary over loopback: the flow, the login, the settings, restarts and the lock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, demo_data, run_to_exit};
use serde_json::{Value, json};

const JOHN: (&str, &str) = ("John Doe", "081234567890");
const SITI: (&str, &str) = ("Siti Rahma", "081298765432");

#[tokio::test]
async fn the_whole_flow_then_the_new_password_logs_in_and_the_old_does_not() {
    let server = Server::start(&demo_data("flow"), &[]).await;
    assert_eq!(
        server.login(JOHN.1, "password123").await,
        200,
        "the demo password works first"
    );
    server.reset_password(JOHN.0, JOHN.1, "sandiBaru#1").await;
    assert_eq!(server.login(JOHN.1, "sandiBaru#1").await, 200);
    assert_eq!(server.login(JOHN.1, "password123").await, 401);
    assert_eq!(
        server.login("+62 812-3456-7890", "sandiBaru#1").await,
        200,
        "the number typed another way"
    );
}

#[tokio::test]
async fn login_refuses_unknown_phones_and_wrong_passwords_alike() {
    let server = Server::start(&demo_data("login"), &[]).await;
    let (status, unknown) = server
        .post(
            "/api/auth/login",
            json!({ "noHp": "081399998888", "password": "x" }),
        )
        .await;
    let (status_wrong, wrong) = server
        .post(
            "/api/auth/login",
            json!({ "noHp": JOHN.1, "password": "x" }),
        )
        .await;
    assert_eq!((status, status_wrong), (401, 401));
    assert_eq!(unknown, wrong);
    let (status, body) = server
        .post("/api/auth/login", json!({ "noHp": JOHN.1 }))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "Password harus diisi");
}

#[tokio::test]
async fn a_plain_text_password_is_upgraded_to_argon2_on_a_good_login() {
    let data = demo_data("upgrade");
    let server = Server::start(&data, &[]).await;
    assert_eq!(server.login(SITI.1, "rahasia99").await, 200);
    server.stop();
    let file: Value = serde_json::from_slice(&std::fs::read(&data).unwrap()).unwrap();
    let stored = file["users"][1]["password"].as_str().unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    let server = Server::start(&data, &[]).await;
    assert_eq!(
        server.login(SITI.1, "rahasia99").await,
        200,
        "and still logs in"
    );
}

#[tokio::test]
async fn settings_come_from_the_environment() {
    let server = Server::start(
        &demo_data("settings"),
        &[
            ("DEV_EXPOSE_OTP", "true"),
            ("REVEAL_UNKNOWN_USER", "1"),
            ("OTP_RESEND_COOLDOWN_SECS", "7"),
            ("OTP_MAX_ATTEMPTS", "1"),
        ],
    )
    .await;
    let (status, body) = server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": JOHN.0, "noHp": JOHN.1 }),
        )
        .await;
    assert_eq!(status, 200);
    let code = body["testOTP"]
        .as_str()
        .expect("DEV_EXPOSE_OTP puts the code in the answer")
        .to_owned();

    let (status, body) = server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": JOHN.0, "noHp": JOHN.1 }),
        )
        .await;
    assert_eq!(status, 429);
    assert!(
        body["retryAfter"].as_u64().unwrap() <= 7,
        "OTP_RESEND_COOLDOWN_SECS: {body}"
    );

    let (status, _) = server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": "Jane Roe", "noHp": "081377776666" }),
        )
        .await;
    assert_eq!(status, 404, "REVEAL_UNKNOWN_USER");

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (_, body) = server
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": JOHN.1, "otp": wrong }),
        )
        .await;
    assert_eq!(
        body["error"], "otp_attempts_exhausted",
        "OTP_MAX_ATTEMPTS=1: {body}"
    );
}

#[tokio::test]
async fn a_bad_setting_stops_the_server_with_its_name() {
    let data = demo_data("bad-settings");
    let data = data.to_str().unwrap();
    for (setting, value) in [
        ("OTP_TTL_SECS", "5"),
        ("OTP_MAX_ATTEMPTS", "0"),
        ("PORT", "port"),
        ("CORS_ORIGINS", "tiket.example"),
        ("OTP_SECRET", "short"),
        ("TRUSTED_PROXIES", "not-an-ip"),
        ("DEV_EXPOSE_OTP", "maybe"),
        ("OTP_SENDER", "carrier-pigeon"),
        ("OTP_LOCKOUT_FAILURES", "0"),
        ("OTP_SITE_SENDS_BURST", "100"),
        ("OTP_SITE_REQUESTS_PER_MIN", "many"),
        ("OTP_STAND_IN_CAPACITY", "0"),
    ] {
        let (ok, output) = run_to_exit(&[("DATA_FILE", data), ("PORT", "0"), (setting, value)]);
        assert!(!ok, "{setting}={value} must stop the server");
        let names_it =
            output.contains(setting) || output.contains(&setting.to_lowercase().replace('_', "-"));
        assert!(
            names_it,
            "{setting}={value}: the message must name the setting:\n{output}"
        );
    }
}

#[tokio::test]
async fn help_lists_every_setting() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_example-server"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for setting in [
        "PORT",
        "DATA_FILE",
        "OTP_TTL_SECS",
        "OTP_MAX_ATTEMPTS",
        "OTP_RESEND_COOLDOWN_SECS",
        "OTP_SENDER",
        "DEV_EXPOSE_OTP",
        "REVEAL_UNKNOWN_USER",
        "CLIENT_RATE_LIMIT_PER_MIN",
        "TRUSTED_PROXIES",
        "CORS_ORIGINS",
        "OTP_SECRET",
        "TLS_CERT",
        "TLS_KEY",
        "OTP_LOCKOUT_FAILURES",
        "OTP_SITE_SENDS_PER_HOUR",
        "OTP_SITE_SENDS_BURST",
        "OTP_SITE_REQUESTS_PER_MIN",
        "OTP_STAND_IN_CAPACITY",
    ] {
        assert!(help.contains(setting), "--help lacks {setting}");
    }
}

#[tokio::test]
async fn a_restart_keeps_users_passwords_and_active_codes() {
    let data = demo_data("restart");
    let server = Server::start(&data, &[]).await;
    server.reset_password(JOHN.0, JOHN.1, "sandiBaru#2").await;
    let siti_code = server.request_code(SITI.0, SITI.1).await;
    server.stop();

    let server = Server::start(&data, &[]).await;
    assert_eq!(server.login(JOHN.1, "sandiBaru#2").await, 200);
    let (status, body) = server
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": SITI.1, "otp": siti_code }),
        )
        .await;
    assert_eq!(status, 200, "the active code survived the restart: {body}");
}

#[tokio::test]
async fn a_second_server_on_the_same_file_is_refused() {
    let data = demo_data("lock");
    let _first = Server::start(&data, &[]).await;
    let (ok, output) = run_to_exit(&[("DATA_FILE", data.to_str().unwrap()), ("PORT", "0")]);
    assert!(!ok);
    assert!(output.contains("in use by another process"), "{output}");
}

#[tokio::test]
async fn the_per_client_limit_answers_429_with_retry_after() {
    let server = Server::start(
        &demo_data("client-limit"),
        &[("CLIENT_RATE_LIMIT_PER_MIN", "3")],
    )
    .await;
    for _ in 0..3 {
        assert_eq!(server.login(JOHN.1, "wrong").await, 401);
    }
    let response = server
        .client
        .post(server.url("/api/auth/login"))
        .json(&json!({ "noHp": JOHN.1, "password": "password123" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    let health = server
        .client
        .get(server.url("/api/forgot-password/bot-status"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "GET routes are not limited");
}

#[tokio::test]
async fn polling_the_delivery_status_never_uses_up_the_clients_requests() {
    let server = Server::start(
        &demo_data("status-poll"),
        &[("CLIENT_RATE_LIMIT_PER_MIN", "3")],
    )
    .await;
    let id = server.request_id(JOHN.0, JOHN.1).await;
    for _ in 0..10 {
        let status = server.delivery_status(&id).await;
        assert!(
            ["pending", "sent", "delivered"].contains(&status.as_str()),
            "{status}"
        );
    }
    // The client's requests that cost something are still there.
    assert_eq!(server.login(JOHN.1, "password123").await, 200);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let server = Server::start(&demo_data("openapi"), &[]).await;
    let document: Value = server
        .client
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/forgot-password/request-otp",
        "/api/forgot-password/verify-otp",
        "/api/forgot-password/reset-password",
        "/api/forgot-password/bot-status",
        "/api/auth/login",
        "/healthz",
        "/api/openapi.json",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path} is missing");
    }
}

#[tokio::test]
async fn pages_and_headers_are_served() {
    let server = Server::start(&demo_data("pages"), &[]).await;
    for (path, content_type, needle) in [
        ("/", "text/html", "login.js"),
        ("/login.html", "text/html", "login.js"),
        ("/forgot-password.html", "text/html", "forgot-password.js"),
        ("/assets/style.css", "text/css", ""),
        (
            "/assets/forgot-password.js",
            "text/javascript",
            "request-otp",
        ),
        ("/assets/login.js", "text/javascript", "/api/auth/login"),
    ] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{path}"
        );
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(response.text().await.unwrap().contains(needle), "{path}");
    }
    let (status, body) = server.post("/api/nothing-here", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(body["success"], false);
}

#[tokio::test]
async fn logs_carry_method_path_status_and_latency_but_never_codes_or_passwords() {
    let server = Server::start(&demo_data("logs"), &[]).await;
    server
        .reset_password(JOHN.0, JOHN.1, "SangatRahasia!9")
        .await;
    server.login(JOHN.1, "SangatRahasia!9").await;
    let code = server.codes_sent()[0].clone();
    let output = server.stop();
    let log: String = output
        .lines()
        .filter(|line| !line.starts_with("[console sender]"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        log.contains("/api/forgot-password/verify-otp")
            && log.contains("status=200")
            && log.contains("latency="),
        "{log}"
    );
    assert!(!log.contains("SangatRahasia!9"));
    assert!(!log.contains(&format!("*{code}*")) && !log.contains(&format!("\"{code}\"")));
    assert!(
        !log.contains("6281234567890"),
        "phone numbers are masked in logs"
    );
}

#[tokio::test]
async fn cors_allows_the_configured_origin_only() {
    let server = Server::start(
        &demo_data("cors"),
        &[("CORS_ORIGINS", "https://tiket.example")],
    )
    .await;
    let preflight = |origin: &'static str| {
        server
            .client
            .request(
                reqwest::Method::OPTIONS,
                server.url("/api/forgot-password/request-otp"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://tiket.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://tiket.example"
    );
    assert!(
        !allowed
            .headers()
            .contains_key("access-control-allow-credentials")
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn the_generated_secret_is_owner_only_and_kept_across_restarts() {
    use std::os::unix::fs::PermissionsExt;
    let data = demo_data("secret");
    let server = Server::start(&data, &[]).await;
    let code = server.request_code(JOHN.0, JOHN.1).await;
    server.stop();
    let secret = data.with_file_name("data.json.secret");
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the secret is readable by its owner only");
    let first = std::fs::read(&secret).unwrap();

    let server = Server::start(&data, &[]).await;
    assert_eq!(
        std::fs::read(&secret).unwrap(),
        first,
        "the secret is generated once"
    );
    let (status, _) = server
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": JOHN.1, "otp": code }),
        )
        .await;
    assert_eq!(
        status, 200,
        "a code issued before the restart still verifies under the kept secret"
    );
}

#[tokio::test]
async fn the_site_send_budget_answers_busy_beyond_it() {
    let server = Server::start(
        &demo_data("send-budget"),
        &[
            ("OTP_SITE_SENDS_PER_HOUR", "2"),
            ("OTP_SITE_SENDS_BURST", "2"),
        ],
    )
    .await;
    server.request_code(JOHN.0, JOHN.1).await;
    server.request_code("Siti Rahma", "081298765432").await;
    let (status, body) = server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": "Nobody", "noHp": "081311112222" }),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "busy");
    assert_eq!(body["retryAfter"], 1800, "two an hour: one per half hour");
    assert_eq!(server.codes_sent().len(), 2);
}
