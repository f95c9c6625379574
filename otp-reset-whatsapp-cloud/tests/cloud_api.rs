//! The Cloud API sender against the Graph API imitation, over real HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use graph_imitation::{GraphImitation, Template, TokenState};
use otp_reset::{
    DeliveryReport, DeliveryReports, DeliveryUpdate, Lang, Message, OtpCode, PhoneNumber,
    SendError, Sender, SenderState,
};
use otp_reset_whatsapp_cloud::{
    Challenge, CloudSender, CloudSettings, CloudSettingsBuilder, StatusWebhook,
};
use tokio::sync::mpsc;

const TOKEN: &str = "EAAtest-token";
const PHONE_ID: &str = "105954558954427";
const APP_SECRET: &str = "imitation-app-secret";
const VERIFY_TOKEN: &str = "verify-me";
const USER: &str = "6281234567890";

async fn graph() -> GraphImitation {
    GraphImitation::start(TOKEN, PHONE_ID, APP_SECRET)
        .await
        .with_template(Template::authentication("otp_reset_code", "id"))
        .with_template(Template::authentication("otp_reset_code", "en_US"))
        .with_template(Template::plain("password_changed", "id"))
}

fn settings(graph: &GraphImitation) -> CloudSettingsBuilder {
    CloudSettings::builder(TOKEN, PHONE_ID)
        .with_base_url(graph.base_url())
        .with_template_language(Lang::En, "en_US")
        .with_backoff_base(Duration::from_millis(20))
}

fn sender(graph: &GraphImitation) -> CloudSender {
    CloudSender::new(settings(graph).build().unwrap()).unwrap()
}

/// A sender over the test settings, with `tune` applied to them.
fn sender_tuned(
    graph: &GraphImitation,
    tune: impl FnOnce(CloudSettingsBuilder) -> CloudSettingsBuilder,
) -> CloudSender {
    CloudSender::new(tune(settings(graph)).build().unwrap()).unwrap()
}

/// Sends a code to the user, and returns the message's id.
async fn sent_id(sender: &CloudSender) -> String {
    sender
        .send(&user(), &code("123456", Lang::Id))
        .await
        .unwrap()
        .message_id
        .unwrap()
}

/// Sends a code to the user, and returns why it was not sent.
async fn send_fails(sender: &CloudSender) -> SendError {
    sender
        .send(&user(), &code("123456", Lang::Id))
        .await
        .unwrap_err()
}

fn code(digits: &str, lang: Lang) -> Message {
    Message::Code {
        code: OtpCode::from_digits(digits).unwrap(),
        ttl: Duration::from_secs(900),
        lang,
    }
}

fn user() -> PhoneNumber {
    PhoneNumber::parse(USER).unwrap()
}

#[tokio::test]
async fn a_code_goes_out_as_an_authentication_template_with_the_code_twice() {
    let graph = graph().await;
    let delivered = sender(&graph)
        .send(&user(), &code("482913", Lang::Id))
        .await
        .unwrap();
    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(delivered.message_id.as_deref(), Some(sent[0].id.as_str()));
    assert_eq!(sent[0].to, USER);
    assert_eq!(sent[0].template, "otp_reset_code");
    assert_eq!(sent[0].language, "id");
    assert_eq!(sent[0].parameters, ["482913", "482913"]);

    let request = &graph.received()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/v25.0/{PHONE_ID}/messages"));
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(
        request
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    assert_eq!(
        request.body,
        serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": USER,
            "type": "template",
            "template": {
                "name": "otp_reset_code",
                "language": { "code": "id" },
                "components": [
                    { "type": "body", "parameters": [{ "type": "text", "text": "482913" }] },
                    { "type": "button", "sub_type": "url", "index": "0",
                      "parameters": [{ "type": "text", "text": "482913" }] }
                ]
            }
        })
    );
}

#[tokio::test]
async fn an_english_request_uses_the_english_template_language() {
    let graph = graph().await;
    sender(&graph)
        .send(&user(), &code("111222", Lang::En))
        .await
        .unwrap();
    assert_eq!(graph.sent()[0].language, "en_US");
}

#[tokio::test]
async fn the_password_changed_notice_needs_its_template() {
    let graph = graph().await;
    let without = sender(&graph);
    let error = without
        .send(&user(), &Message::PasswordChanged { lang: Lang::Id })
        .await
        .unwrap_err();
    assert!(matches!(error, SendError::Failed(_)), "{error:?}");
    assert!(
        graph.received().is_empty(),
        "nothing is posted without a template"
    );

    let with = sender_tuned(&graph, |settings| {
        settings.with_password_changed_template(Some("password_changed".into()))
    });
    with.send(&user(), &Message::PasswordChanged { lang: Lang::Id })
        .await
        .unwrap();
    assert_eq!(graph.sent()[0].template, "password_changed");
    assert!(graph.sent()[0].parameters.is_empty());
}

#[tokio::test]
async fn an_unknown_template_is_a_failure_not_a_retry() {
    let graph = graph().await;
    let sender = sender_tuned(&graph, |settings| {
        settings.with_code_template("not_approved")
    });
    let error = send_fails(&sender).await;
    assert!(matches!(error, SendError::Failed(_)), "{error:?}");
    assert!(
        error.source_text().contains("132001"),
        "{}",
        error.source_text()
    );
    assert_eq!(graph.received().len(), 1);
    assert_eq!(sender.state(), SenderState::Ready);
}

#[tokio::test]
async fn a_number_refused_at_once_with_131026_is_not_registered() {
    let graph = graph().await;
    graph.set_not_on_whatsapp(USER);
    graph.set_undeliverable_at_once(true);
    let error = sender(&graph)
        .send(&user(), &code("123456", Lang::Id))
        .await
        .unwrap_err();
    assert!(matches!(error, SendError::NotRegistered), "{error:?}");
}

#[tokio::test]
async fn each_rate_limit_is_retried_within_the_budget() {
    for limit in [131056, 130429, 80007] {
        let graph = graph().await;
        graph.rate_limit_next(limit, 2);
        let delivered = sender(&graph)
            .send(&user(), &code("123456", Lang::Id))
            .await
            .unwrap_or_else(|e| panic!("{limit}: {e:?}"));
        assert!(delivered.message_id.is_some());
        assert_eq!(
            graph.received().len(),
            3,
            "{limit}: two refusals, then the send"
        );
        assert_eq!(graph.sent().len(), 1);
    }
}

#[tokio::test]
async fn a_rate_limit_that_outlasts_the_budget_gives_up_busy() {
    let graph = graph().await;
    graph.rate_limit_next(130429, usize::MAX);
    let sender = sender_tuned(&graph, |settings| {
        settings.with_busy_budget(Duration::from_millis(300))
    });
    let error = send_fails(&sender).await;
    assert!(matches!(error, SendError::QueueFull), "{error:?}");
    let tries = graph.received().len();
    assert!(tries >= 2, "it retried ({tries} tries)");
    assert!(graph.sent().is_empty());
    assert_eq!(sender.state(), SenderState::Ready);
}

#[tokio::test]
async fn a_timed_out_send_is_not_repeated() {
    let graph = graph().await;
    graph.set_delay(Duration::from_secs(5));
    let sender = sender_tuned(&graph, |settings| {
        settings.with_request_timeout(Duration::from_millis(300))
    });
    let error = send_fails(&sender).await;
    assert!(matches!(error, SendError::Timeout(_)), "{error:?}");
    // The imitation created the message before it stalled: a retry would deliver it twice.
    assert_eq!(graph.sent().len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(graph.received().len(), 1);
}

#[tokio::test]
async fn an_expired_token_fails_the_sender() {
    let graph = graph().await;
    graph.set_token_state(TokenState::Expired);
    let sender = sender(&graph);
    let error = send_fails(&sender).await;
    assert!(
        matches!(error, SendError::NotReady(SenderState::Failed { .. })),
        "{error:?}"
    );
    let SenderState::Failed { reason } = sender.state() else {
        panic!("not FAILED: {:?}", sender.state());
    };
    assert!(!reason.contains(TOKEN));
    assert!(!sender.can_send());
    // Later sends do not reach the API.
    let error = send_fails(&sender).await;
    assert!(matches!(error, SendError::NotReady(_)), "{error:?}");
    assert_eq!(graph.received().len(), 1);
}

#[tokio::test]
async fn a_wrong_token_fails_the_start_up_check() {
    let graph = graph().await;
    let sender = CloudSender::new(
        CloudSettings::builder("EAAwrong", PHONE_ID)
            .with_base_url(graph.base_url())
            .build()
            .unwrap(),
    )
    .unwrap();
    assert!(matches!(sender.check().await, SenderState::Failed { .. }));
    assert_eq!(graph.received()[0].method, "GET");
    assert_eq!(graph.received()[0].path, format!("/v25.0/{PHONE_ID}"));

    let good = self::sender(&graph);
    assert_eq!(good.check().await, SenderState::Ready);
}

#[tokio::test]
async fn an_unreachable_api_is_a_failure_a_chain_can_move_past() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sender = CloudSender::new(
        CloudSettings::builder(TOKEN, PHONE_ID)
            .with_base_url(format!("http://127.0.0.1:{port}"))
            .build()
            .unwrap(),
    )
    .unwrap();
    let error = send_fails(&sender).await;
    assert!(matches!(error, SendError::Failed(_)), "{error:?}");
}

// ---- the status webhook, mounted on a small axum app as a site would ----

struct Site {
    url: String,
    reports: mpsc::Receiver<DeliveryReport>,
    _server: tokio::task::JoinHandle<()>,
}

async fn site(sender: &CloudSender) -> Site {
    let (handle, reports) = DeliveryReports::channel(64);
    sender.report_deliveries_to(handle);
    let webhook = sender.webhook(APP_SECRET, VERIFY_TOKEN);
    let app = Router::new()
        .route("/webhooks/whatsapp", get(challenge).post(notification))
        .with_state(webhook);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/whatsapp",
        listener.local_addr().unwrap()
    );
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Site {
        url,
        reports,
        _server: server,
    }
}

async fn challenge(
    State(webhook): State<StatusWebhook>,
    Query(query): Query<Challenge>,
) -> (StatusCode, String) {
    match webhook.answer_challenge(&query) {
        Ok(challenge) => (StatusCode::OK, challenge),
        Err(e) => (StatusCode::from_u16(e.status()).unwrap(), e.code().into()),
    }
}

async fn notification(
    State(webhook): State<StatusWebhook>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    match webhook.receive(signature, &body) {
        Ok(count) => (StatusCode::OK, count.to_string()),
        Err(e) => (StatusCode::from_u16(e.status()).unwrap(), e.code().into()),
    }
}

async fn next_reports(
    reports: &mut mpsc::Receiver<DeliveryReport>,
    count: usize,
) -> Vec<DeliveryReport> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, reports.recv()).await {
            Ok(Some(report)) => got.push(report),
            _ => panic!("only {} of {count} reports arrived: {got:?}", got.len()),
        }
    }
    got
}

#[tokio::test]
async fn statuses_become_delivery_reports() {
    let graph = graph().await;
    let sender = sender(&graph);
    let mut site = site(&sender).await;
    graph.set_webhook(Some(site.url.clone()));
    let id = sent_id(&sender).await;
    let reports = next_reports(&mut site.reports, 3).await;
    let updates: Vec<_> = reports.iter().map(|r| r.update.clone()).collect();
    assert_eq!(
        updates,
        [
            DeliveryUpdate::Sent,
            DeliveryUpdate::Delivered,
            DeliveryUpdate::Read
        ]
    );
    assert!(reports.iter().all(|r| r.message_id == id));
    // The imitation records each answer after the site reported it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while graph.webhook_answers().len() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(graph.webhook_answers(), [200, 200, 200]);
}

#[tokio::test]
async fn a_failed_status_with_131026_reports_not_registered() {
    let graph = graph().await;
    graph.set_not_on_whatsapp(USER);
    let sender = sender(&graph);
    let mut site = site(&sender).await;
    graph.set_webhook(Some(site.url.clone()));
    // Accepted at once, as the docs describe; the failure follows in a webhook.
    let id = sent_id(&sender).await;
    let reports = next_reports(&mut site.reports, 1).await;
    assert_eq!(
        reports,
        [DeliveryReport {
            message_id: id,
            update: DeliveryUpdate::NotRegistered
        }]
    );
}

#[tokio::test]
async fn another_failed_status_reports_its_code() {
    let graph = graph().await;
    let sender = sender(&graph);
    let mut site = site(&sender).await;
    let mut body = graph.status_notification("wamid.X", USER, "failed");
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] =
        serde_json::json!([{ "code": 131049, "title": "This message was not delivered" }]);
    assert_eq!(graph.post_signed(&site.url, &body).await, 200);
    let reports = next_reports(&mut site.reports, 1).await;
    let DeliveryUpdate::Failed(reason) = &reports[0].update else {
        panic!("{reports:?}");
    };
    assert!(reason.contains("131049"), "{reason}");
}

#[tokio::test]
async fn unsigned_or_badly_signed_notifications_are_refused() {
    let graph = graph().await;
    let sender = sender(&graph);
    let mut site = site(&sender).await;
    let body = graph.status_notification("wamid.X", USER, "delivered");
    let bytes = serde_json::to_vec(&body).unwrap();
    let client = reqwest::Client::new();

    let unsigned = client
        .post(&site.url)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);

    let wrong_key = graph_imitation::signature("another-secret", &bytes);
    let forged = client
        .post(&site.url)
        .header("x-hub-signature-256", wrong_key)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    let mut tampered = bytes.clone();
    tampered.extend_from_slice(b" ");
    let changed = client
        .post(&site.url)
        .header(
            "x-hub-signature-256",
            graph_imitation::signature(APP_SECRET, &bytes),
        )
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 401);

    let garbage = client
        .post(&site.url)
        .header("x-hub-signature-256", "sha256=zz")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 401);
    assert!(site.reports.try_recv().is_err(), "nothing was reported");

    // The same body, signed: taken.
    assert_eq!(graph.post_signed(&site.url, &body).await, 200);
    assert_eq!(
        next_reports(&mut site.reports, 1).await[0].update,
        DeliveryUpdate::Delivered
    );
}

#[tokio::test]
async fn a_signed_body_that_is_not_a_notification_is_a_400() {
    let graph = graph().await;
    let sender = sender(&graph);
    let site = site(&sender).await;
    let status = graph
        .post_signed(&site.url, &serde_json::json!({ "entry": "not a list" }))
        .await;
    assert_eq!(status, 400);
    // Unknown fields and other changes are ignored.
    let status = graph
        .post_signed(
            &site.url,
            &serde_json::json!({ "object": "whatsapp_business_account", "entry": [{ "changes": [{ "field": "messages", "value": { "messages": [] } }] }], "extra": 1 }),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_verification_challenge_is_answered_only_with_the_right_token() {
    let graph = graph().await;
    let sender = sender(&graph);
    let site = site(&sender).await;
    assert!(graph.verify_webhook(&site.url, VERIFY_TOKEN).await);
    assert!(!graph.verify_webhook(&site.url, "guess").await);
    let status = reqwest::get(format!(
        "{}?hub.mode=unsubscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1",
        site.url
    ))
    .await
    .unwrap()
    .status();
    assert_eq!(status, 403);
}

trait SourceText {
    fn source_text(&self) -> String;
}

impl SourceText for SendError {
    fn source_text(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}
