//! `POST /delivery-status`: a user sees what became of the code, and a stranger probing a pair
//! that matches no account sees the same statuses at the same times.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Answer, Harness, JOHN, RecordingSender, SITI};
use http::StatusCode;
use otp_reset::{DeliveryUpdate, Policy, SendError};
use serde_json::json;

impl Harness {
    /// Asks for a code and returns the answer's request id.
    async fn request_id(&self, pair: (&str, &str)) -> String {
        let answer = self.request_otp(pair).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        answer.body["requestId"].as_str().unwrap().to_owned()
    }

    async fn delivery(&self, request_id: &str) -> Answer {
        self.post("/delivery-status", json!({ "requestId": request_id }))
            .await
    }

    async fn status(&self, request_id: &str) -> String {
        let answer = self.delivery(request_id).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        answer.body["status"].as_str().unwrap().to_owned()
    }

    /// Waits (in tokio's time) until the request reaches `status`.
    async fn wait_for_status(&self, request_id: &str, status: &str) {
        for _ in 0..200 {
            if self.status(request_id).await == status {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the status stayed {} instead of {status}",
            self.status(request_id).await
        );
    }
}

#[tokio::test]
async fn a_code_moves_from_pending_to_delivered_as_the_sender_reports() {
    let h = Harness::with_sender(Policy::default(), RecordingSender::held());
    let id = h.request_id(JOHN).await;
    h.sender.wait_until_asked(1).await;
    assert_eq!(h.status(&id).await, "pending");
    let answer = h.delivery(&id).await;
    assert_eq!(answer.message(), "OTP sedang dikirim ke WhatsApp");

    h.sender.release(1);
    h.wait_for_status(&id, "sent").await;
    h.sender.report("test-1", DeliveryUpdate::Delivered);
    h.wait_for_status(&id, "delivered").await;
    // A late or repeated report never moves a status back.
    h.sender.report("test-1", DeliveryUpdate::Sent);
    h.sender
        .report("test-1", DeliveryUpdate::Failed("late".into()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(h.status(&id).await, "delivered");
}

#[tokio::test]
async fn a_report_that_comes_before_the_send_returns_is_kept() {
    let h = Harness::with_sender(Policy::default(), RecordingSender::held());
    let id = h.request_id(JOHN).await;
    h.sender.wait_until_asked(1).await;
    h.sender.report("test-1", DeliveryUpdate::Read);
    h.sender.release(1);
    h.wait_for_status(&id, "delivered").await;
}

#[tokio::test]
async fn a_number_not_on_whatsapp_and_a_failed_send_say_so() {
    let h = Harness::new();
    h.sender.unregister(JOHN.1);
    let id = h.request_id(JOHN).await;
    h.wait_for_status(&id, "not_on_whatsapp").await;
    let answer = h.delivery(&id).await;
    assert!(answer.message().contains("tidak terdaftar di WhatsApp"));

    let h = Harness::new();
    h.sender
        .refuse_with(|| SendError::Failed("the service refused".into()));
    let id = h.request_id(JOHN).await;
    h.wait_for_status(&id, "failed").await;
    // A failure reported later, as a status webhook does, is final too.
    let h = Harness::new();
    let id = h.request_id(SITI).await;
    h.wait_for_status(&id, "sent").await;
    h.sender.report("test-1", DeliveryUpdate::NotRegistered);
    h.wait_for_status(&id, "not_on_whatsapp").await;
}

#[tokio::test]
async fn bad_ids_get_clear_answers() {
    let h = Harness::new();
    let missing = h.post("/delivery-status", json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.error(), "request_id_required");
    let unknown = h.delivery("AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error(), "request_not_found");
    let long = h.delivery(&"x".repeat(65)).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert_eq!(long.error(), "too_long");
    let not_text = h.post("/delivery-status", json!({ "requestId": 7 })).await;
    assert_eq!(not_text.error(), "invalid_type");
    let get = h.get("/delivery-status").await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// The statuses of a request, read at the same offsets from its answer.
async fn course(h: &Harness, pair: (&str, &str)) -> Vec<String> {
    let id = h.request_id(pair).await;
    let mut seen = Vec::new();
    for step in [0, 100, 200, 300, 500, 1000, 1500, 2000, 5000] {
        tokio::time::sleep(Duration::from_millis(step)).await;
        seen.push(h.status(&id).await);
    }
    seen
}

#[tokio::test(start_paused = true)]
async fn a_pair_that_matches_no_user_follows_a_real_codes_course() {
    let h = Harness::new();
    // Each send (and lookup) takes 300 ms; a sent code reaches the phone 1.2 s later.
    h.sender.set_timing(
        Duration::from_millis(300),
        Some(Duration::from_millis(1200)),
    );
    let real = course(&h, JOHN).await;
    assert_eq!(real.first().unwrap(), "pending");
    assert!(real.contains(&"sent".to_owned()), "{real:?}");
    assert_eq!(real.last().unwrap(), "delivered");
    // A wrong name on another phone: nothing is sent, the course is the real one's.
    let stranger = course(&h, ("Jane Roe", SITI.1)).await;
    assert_eq!(stranger, real);
    assert_eq!(h.sender.sent().len(), 1, "nothing is sent to a stranger");

    // A number with no WhatsApp account: the same for a user and a stranger.
    h.sender.unregister("081311112222");
    h.sender.unregister("081311113333");
    let users: Vec<otp_reset::User> = common::seed_users()
        .into_iter()
        .chain([otp_reset::User {
            id: otp_reset::UserId("3".into()),
            name: "Budi".into(),
            phone: "081311112222".parse().unwrap(),
            password: "rahasia99".into(),
        }])
        .collect();
    let h = Harness::build(
        Policy::default(),
        h.sender.clone(),
        otp_reset::MemoryUserStore::from_users(users),
        otp_reset::MemoryOtpStore::new(),
    );
    let real = course(&h, ("Budi", "081311112222")).await;
    assert_eq!(real.last().unwrap(), "not_on_whatsapp");
    let stranger = course(&h, ("Budi", "081311113333")).await;
    assert_eq!(stranger, real);
}

#[tokio::test(start_paused = true)]
async fn statuses_are_forgotten_with_the_code() {
    let h = Harness::new();
    let real = h.request_id(JOHN).await;
    let stranger = h.request_id(("Jane Roe", SITI.1)).await;
    h.wait_for_status(&real, "sent").await;
    tokio::time::sleep(Policy::default().code_ttl()).await;
    for id in [real, stranger] {
        assert_eq!(h.delivery(&id).await.error(), "request_not_found");
    }
}
