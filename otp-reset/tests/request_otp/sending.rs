//! Delivery: a sender that cannot send, one that holds every send, and a full queue.

use crate::common::{self, Harness, JOHN, RecordingSender, SITI};
use http::StatusCode;
use otp_reset::{Policy, SendError, SenderState};

#[tokio::test]
async fn while_the_sender_cannot_send_every_phone_gets_503() {
    let sender = RecordingSender::ready();
    sender.set_state(SenderState::WaitingForQr);
    let h = Harness::with_sender(Policy::default(), sender);
    let known = h.request_otp(JOHN).await;
    let unknown = h.request_otp(("Jane Roe", "081399998888")).await;
    assert_eq!(known.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(known.error(), "sender_unavailable");
    assert!(known.message().contains("WhatsApp"));
    assert_eq!(known.body, unknown.body);
    assert!(known.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn while_the_sender_cannot_send_the_development_switch_answers_as_the_seed() {
    let sender = RecordingSender::ready();
    sender.set_state(SenderState::Disconnected);
    let policy = Policy::builder()
        .with_code_exposed_for_development(true)
        .build()
        .unwrap();
    let h = Harness::with_sender(policy, sender);
    let answer = h.request_otp(JOHN).await;
    assert_eq!(answer.status, StatusCode::OK);
    let code = answer.body["testOTP"].as_str().unwrap().to_owned();
    assert_eq!(h.verify_otp(JOHN.1, &code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_answer_never_waits_for_delivery() {
    let sender = RecordingSender::held();
    let h = Harness::with_sender(Policy::default(), sender.clone());
    // The sender holds every send; the answer still comes.
    let answer = h.request_otp(JOHN).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(sender.sent().is_empty());
    sender.release(1);
    assert_eq!(sender.wait_for(1).await.len(), 1);
}

#[tokio::test]
async fn a_full_queue_refuses_with_503() {
    let sender = RecordingSender::held();
    let users = otp_reset::MemoryUserStore::from_users(common::seed_users());
    let otps = otp_reset::MemoryOtpStore::new();
    let h = Harness::build_with(Policy::default(), sender, users, otps, |b| {
        b.with_outbox_capacity(1)
    });
    // The drain task takes the first message and waits on the held sender; the second fills
    // the queue of one.
    assert_eq!(h.request_otp(JOHN).await.status, StatusCode::OK);
    h.sender.wait_until_asked(1).await;
    assert_eq!(h.request_otp(SITI).await.status, StatusCode::OK);
    let refused = h.request_otp(("Budi Santoso", "085711112222")).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.error(), "busy");
    assert!(refused.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn a_durable_queue_holds_the_code_before_the_answer_and_a_decoy_for_a_stranger() {
    let sender = RecordingSender::durable();
    let h = Harness::with_sender(Policy::default(), sender.clone());
    let known = h.request_otp(JOHN).await;
    assert_eq!(known.status, StatusCode::OK);
    // Handed off before the answer: nothing to wait for.
    assert_eq!(sender.sent().len(), 1);
    assert_eq!(sender.decoys(), 0);
    let unknown = h.request_otp(("Jane Roe", "081399998888")).await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(sender.sent().len(), 1, "a stranger's pair sends nothing");
    assert_eq!(sender.decoys(), 1, "but hands a decoy to the queue");
    assert_eq!(
        known.body["message"], unknown.body["message"],
        "both pairs are answered alike"
    );
}

#[tokio::test]
async fn a_full_or_unreachable_durable_queue_answers_every_pair_alike() {
    for (error, code) in [
        ((|| SendError::QueueFull) as fn() -> SendError, "busy"),
        (
            || SendError::Failed("connection refused".into()),
            "sender_unavailable",
        ),
    ] {
        let sender = RecordingSender::durable();
        sender.refuse_with(error);
        let h = Harness::with_sender(Policy::default(), sender.clone());
        let known = h.request_otp(JOHN).await;
        let unknown = h.request_otp(("Jane Roe", "081399998888")).await;
        assert_eq!(known.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(known.error(), code);
        assert_eq!(known.body, unknown.body);
        assert!(known.headers.contains_key("retry-after"));
    }
}
