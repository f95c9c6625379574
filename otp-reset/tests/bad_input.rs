//! Every bad input gets a clear 4xx JSON answer; a failing store a 503 JSON answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::Bytes;
use common::{Answer, Harness, JOHN, RecordingSender};
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use otp_reset::{
    ClientKey, CodeRecord, ConsumeOutcome, Digest, IssueOutcome, NewCode, OtpRules, OtpStore,
    PhoneNumber, Policy, Proof, SenderProblem, SenderState, SenderStatus, StoreError, Timestamp,
    VerifyOutcome,
};
use serde_json::json;

async fn raw(
    h: &Harness,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: &'static [u8],
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    common::send_request(
        &h.service,
        request.body(Full::new(Bytes::from_static(body))).unwrap(),
    )
    .await
}

fn assert_refused(answer: &Answer, status: StatusCode, error: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.body["success"], false);
    assert_eq!(answer.error(), error);
    assert!(!answer.message().is_empty());
}

#[tokio::test]
async fn malformed_json_is_400() {
    let h = Harness::new();
    for body in [
        &b"{\"nama\": "[..],
        b"",
        b"nama=John",
        b"[1,2]",
        b"\"text\"",
        b"null",
        b"{\"a\":1}}",
    ] {
        let answer = raw(
            &h,
            Method::POST,
            "/request-otp",
            Some("application/json"),
            body,
        )
        .await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "malformed_json");
    }
}

#[tokio::test]
async fn a_wrong_type_names_the_field() {
    let h = Harness::new();
    for body in [
        json!({ "nama": "John Doe", "noHp": 6281234567890u64 }),
        json!({ "nama": ["John"], "noHp": JOHN.1 }),
        json!({ "nama": "John Doe", "noHp": { "number": JOHN.1 } }),
    ] {
        let answer = h.post("/request-otp", body).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_type");
        assert!(answer.message().ends_with("harus berupa teks"));
    }
    let answer = h
        .post("/verify-otp", json!({ "noHp": JOHN.1, "otp": 123456 }))
        .await;
    assert_eq!(answer.body["field"], "otp");
    let answer = h.post("/reset-password", json!({ "noHp": JOHN.1, "otp": "123456", "newPassword": 123456, "confirmPassword": "x" })).await;
    assert_eq!(answer.body["field"], "newPassword");
}

#[tokio::test]
async fn an_overlong_field_is_refused() {
    let answer = Harness::new().request_otp((&"x".repeat(101), JOHN.1)).await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, "too_long");
}

#[tokio::test]
async fn a_wrong_or_missing_content_type_is_415() {
    let h = Harness::new();
    let body = br#"{"nama":"John Doe","noHp":"081234567890"}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        let answer = raw(&h, Method::POST, "/request-otp", content_type, body).await;
        assert_refused(
            &answer,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );
    }
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/problem+json",
    ] {
        let answer = raw(&h, Method::POST, "/request-otp", Some(content_type), body).await;
        // Accepted as JSON: the first gets its code, the others meet the cooldown.
        assert_ne!(
            answer.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
    }
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let h = Harness::new();
    let big = format!(
        r#"{{"nama":"{}","noHp":"081234567890"}}"#,
        "x".repeat(20_000)
    );
    let request = Request::builder()
        .method(Method::POST)
        .uri("/request-otp")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(big)))
        .unwrap();
    let answer = common::send_request(&h.service, request).await;
    assert_refused(&answer, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn an_unknown_route_is_404_json() {
    let answer = raw(&Harness::new(), Method::GET, "/nope", None, b"").await;
    assert_refused(&answer, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let h = Harness::new();
    let answer = raw(&h, Method::GET, "/request-otp", None, b"").await;
    assert_refused(
        &answer,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert_eq!(answer.headers["allow"], "POST");
    let answer = raw(
        &h,
        Method::POST,
        "/bot-status",
        Some("application/json"),
        b"{}",
    )
    .await;
    assert_eq!(answer.headers["allow"], "GET");
}

#[tokio::test]
async fn bot_status_reports_the_senders_state_and_readiness() {
    let sender = RecordingSender::ready();
    let h = Harness::with_sender(Policy::default(), sender.clone());
    let answer = h.get("/bot-status").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["success"], true);
    assert_eq!(answer.body["status"], "READY");
    assert_eq!(answer.body["ready"], true);

    sender.set_state(otp_reset::SenderState::WaitingForQr);
    let answer = h.get("/bot-status").await;
    assert_eq!(answer.body["status"], "WAITING_FOR_QR");
    assert_eq!(answer.body["ready"], false);

    sender.set_state(otp_reset::SenderState::Reconnecting { attempt: 3 });
    let answer = h.get("/bot-status").await;
    assert_eq!(answer.body["status"], "RECONNECTING");
    assert_eq!(answer.body["attempt"], 3);
}

#[tokio::test]
async fn bot_status_keeps_the_last_problem_in_view_with_the_versions() {
    let sender = RecordingSender::ready();
    let h = Harness::with_sender(Policy::default(), sender.clone());
    // Banned a moment ago, the sender was restarted and shows a QR code for another number.
    let since = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_764_510_304_123);
    sender.set_status(
        SenderStatus::new(SenderState::WaitingForQr)
            .with_last_problem(SenderProblem {
                state: SenderState::Failed {
                    reason: "WhatsApp banned this account (TOS_BLOCK)".into(),
                },
                since,
            })
            .with_adapter_version("2")
            .with_service_version("2.3000.1043140922"),
    );
    let answer = h.get("/bot-status").await;
    assert_eq!(answer.body["status"], "WAITING_FOR_QR");
    assert_eq!(answer.body["ready"], false);
    assert_eq!(
        answer.body["lastProblem"],
        json!({
            "status": "FAILED",
            "reason": "WhatsApp banned this account (TOS_BLOCK)",
            "since": "2025-11-30T13:45:04.123Z",
        })
    );
    assert_eq!(answer.body["adapterVersion"], "2");
    assert_eq!(answer.body["serviceVersion"], "2.3000.1043140922");
}

/// An OTP store whose backend is down.
#[derive(Debug)]
struct DownOtps;

fn down() -> StoreError {
    StoreError::Unavailable("connection refused to 10.0.0.7:6379".into())
}

impl OtpStore for DownOtps {
    async fn issue(
        &self,
        _: &PhoneNumber,
        _: NewCode,
        _: Timestamp,
        _: &OtpRules,
    ) -> Result<IssueOutcome, StoreError> {
        Err(down())
    }
    async fn verify(
        &self,
        _: &PhoneNumber,
        _: ClientKey,
        _: &Digest,
        _: &Digest,
        _: Timestamp,
        _: &OtpRules,
    ) -> Result<VerifyOutcome, StoreError> {
        Err(down())
    }
    async fn consume(
        &self,
        _: &PhoneNumber,
        _: ClientKey,
        _: Proof,
        _: Timestamp,
        _: &OtpRules,
    ) -> Result<ConsumeOutcome, StoreError> {
        Err(down())
    }
    async fn restore(
        &self,
        _: &PhoneNumber,
        _: CodeRecord,
        _: Timestamp,
    ) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn purge_expired(&self, _: Timestamp, _: &OtpRules) -> Result<usize, StoreError> {
        Err(down())
    }
}

#[tokio::test]
async fn a_failing_otp_store_gets_503_json_without_internals() {
    let users = otp_reset::MemoryUserStore::from_users(common::seed_users());
    let h = Harness::build(Policy::default(), RecordingSender::ready(), users, DownOtps);
    let answers = [
        h.request_otp(JOHN).await,
        h.verify_otp(JOHN.1, "123456").await,
        h.reset_password(JOHN.1, "123456", "newPass123").await,
    ];
    for answer in answers {
        assert_refused(&answer, StatusCode::SERVICE_UNAVAILABLE, "server_error");
        assert!(!answer.body.to_string().contains("10.0.0.7"));
    }
    assert!(
        h.sender.sent().is_empty(),
        "nothing is sent when the code could not be stored"
    );
}
