//! The example server with `OTP_SENDER=cloud`: the Cloud API sender against the Graph API
//! imitation on loopback, and Meta's status webhook on `/webhooks/whatsapp`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Server, demo_data, run_to_exit, wait_for};
use graph_imitation::{GraphImitation, Template, TokenState};
use serde_json::json;

const TOKEN: &str = "EAAimitation-token";
const PHONE_ID: &str = "105954558954427";
const APP_SECRET: &str = "imitation-app-secret";
const VERIFY_TOKEN: &str = "verify-me-please";
/// John Doe in the demo data file.
const JOHN: (&str, &str, &str) = ("John Doe", "081234567890", "6281234567890");

async fn graph() -> GraphImitation {
    GraphImitation::start(TOKEN, PHONE_ID, APP_SECRET)
        .await
        .with_template(Template::authentication("otp_reset_code", "id"))
}

fn cloud_env(graph: &GraphImitation) -> Vec<(&'static str, String)> {
    vec![
        ("OTP_SENDER", "cloud".into()),
        ("CLOUD_API_TOKEN", TOKEN.into()),
        ("CLOUD_API_PHONE_NUMBER_ID", PHONE_ID.into()),
        ("CLOUD_API_BASE_URL", graph.base_url()),
        ("CLOUD_API_APP_SECRET", APP_SECRET.into()),
        ("CLOUD_API_VERIFY_TOKEN", VERIFY_TOKEN.into()),
    ]
}

async fn start(name: &str, env: &[(&'static str, String)]) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start(&demo_data(name), &env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_arrives_over_the_cloud_api_and_signed_statuses_are_taken() {
    let graph = graph().await;
    let server = start("cloud-code", &cloud_env(&graph)).await;
    let webhook = server.url("/webhooks/whatsapp");
    graph.set_webhook(Some(webhook.clone()));

    // Meta's verification request, as the App Dashboard sends it.
    assert!(graph.verify_webhook(&webhook, VERIFY_TOKEN).await);
    assert!(!graph.verify_webhook(&webhook, "a-guess").await);

    server.request_id(JOHN.0, JOHN.1).await;
    wait_for(
        "the code reaches the Graph API",
        Duration::from_secs(20),
        async || !graph.sent().is_empty(),
    )
    .await;
    let sent = graph.sent();
    assert_eq!(sent[0].to, JOHN.2);
    assert_eq!(sent[0].template, "otp_reset_code");
    let code = sent[0].parameters[0].clone();
    assert_eq!(sent[0].parameters, [code.clone(), code.clone()]);
    assert!(!server.output().contains(&code), "the code is not logged");
    assert!(!server.output().contains(TOKEN), "the token is not logged");

    // The code that arrived is the one the flow checks.
    let (status, body) = server
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": JOHN.1, "otp": code }),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // sent, delivered and read, each signed and taken.
    wait_for(
        "three signed statuses are taken",
        Duration::from_secs(20),
        async || graph.webhook_answers().len() >= 3,
    )
    .await;
    assert_eq!(graph.webhook_answers(), [200, 200, 200]);
    let status = server
        .client
        .get(server.url("/api/forgot-password/bot-status"))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_or_forged_notifications_are_refused_with_json() {
    let graph = graph().await;
    let server = start("cloud-unsigned", &cloud_env(&graph)).await;
    let webhook = server.url("/webhooks/whatsapp");
    let body = graph.status_notification("wamid.X", JOHN.2, "delivered");
    let bytes = serde_json::to_vec(&body).unwrap();

    let unsigned = server
        .client
        .post(&webhook)
        .header("content-type", "application/json")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let answer: serde_json::Value = unsigned.json().await.unwrap();
    assert_eq!(answer["error"], "signature_required");

    let forged = server
        .client
        .post(&webhook)
        .header(
            "x-hub-signature-256",
            graph_imitation::signature("not-the-secret", &bytes),
        )
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let answer: serde_json::Value = forged.json().await.unwrap();
    assert_eq!(answer["error"], "bad_signature");

    let challenge = server
        .client
        .get(format!(
            "{webhook}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=42"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status(), 403);
    let answer: serde_json::Value = challenge.json().await.unwrap();
    assert_eq!(answer["success"], false);

    assert_eq!(graph.post_signed(&webhook, &body).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_cloud_sender_there_is_no_webhook() {
    let server = Server::start(&demo_data("cloud-absent"), &[]).await;
    let answer = server
        .client
        .post(server.url("/webhooks/whatsapp"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_moves_on_when_the_cloud_api_refuses_the_token() {
    let graph = graph().await;
    graph.set_token_state(TokenState::Expired);
    let mut env = cloud_env(&graph);
    env[0] = ("OTP_SENDER", "cloud,console".into());
    let server = start("cloud-chain", &env).await;
    // The start-up check found the token refused: the console sender takes the code.
    let code = server.request_code(JOHN.0, JOHN.1).await;
    assert_eq!(code.len(), 6);
    assert!(graph.sent().is_empty());
}

#[test]
fn cloud_settings_are_checked_at_start() {
    let data = demo_data("cloud-settings");
    let data = data.to_str().unwrap();
    let base = [("DATA_FILE", data), ("PORT", "0"), ("OTP_SENDER", "cloud")];
    let (ok, output) = run_to_exit(&base);
    assert!(!ok);
    assert!(output.contains("CLOUD_API_TOKEN"), "{output}");

    let mut with_token = base.to_vec();
    with_token.push(("CLOUD_API_TOKEN", "EAAx"));
    let (ok, output) = run_to_exit(&with_token);
    assert!(!ok);
    assert!(output.contains("CLOUD_API_PHONE_NUMBER_ID"), "{output}");

    for (setting, value) in [
        ("CLOUD_API_PHONE_NUMBER_ID", "not-digits"),
        ("CLOUD_API_VERSION", "25"),
        ("CLOUD_API_TEMPLATE", "Bad Name"),
        ("CLOUD_API_BUSY_BUDGET_SECS", "900"),
        ("CLOUD_API_APP_SECRET", "only-one-of-two"),
    ] {
        let mut env = with_token.clone();
        if setting != "CLOUD_API_PHONE_NUMBER_ID" {
            env.push(("CLOUD_API_PHONE_NUMBER_ID", "1055"));
        }
        env.push((setting, value));
        let (ok, output) = run_to_exit(&env);
        assert!(!ok, "{setting}={value} must stop the server");
        assert!(
            output.contains(setting) || output.contains("CLOUD_API_VERIFY_TOKEN"),
            "{setting}={value}: the message must name the setting:\n{output}"
        );
        assert!(!output.contains("EAAx"), "the token is never printed");
    }

    let (ok, output) = run_to_exit(&[
        ("DATA_FILE", data),
        ("PORT", "0"),
        ("OTP_SENDER", "queue,cloud"),
    ]);
    assert!(!ok);
    assert!(output.contains("OTP_SENDER"), "{output}");
}
