//! Shutdown drains the outbox: queued codes are sent within the deadline, what is left at the
//! deadline is reported failed, and request-otp is refused from the moment it begins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Harness, JOHN, RecordingSender, SITI};
use http::StatusCode;
use otp_reset::{Event, Policy};

/// A harness whose sender holds every send until released, with `queued` codes waiting: the
/// first one with the sender, the others in the queue.
async fn with_codes_waiting(users: &[(&str, &str)]) -> Harness {
    let h = Harness::with_sender(Policy::default(), RecordingSender::held());
    for &user in users {
        assert_eq!(h.request_otp(user).await.status, StatusCode::OK);
    }
    h.sender.wait_until_asked(1).await;
    h
}

fn failures(h: &Harness) -> Vec<String> {
    h.events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|event| match event {
            Event::SendFailed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn queued_codes_are_sent_within_the_deadline() {
    let h = with_codes_waiting(&[JOHN, SITI]).await;
    let shutdown = tokio::spawn(h.service.shutdown(Duration::from_secs(30)));
    h.sender.release(2);
    let report = shutdown.await.unwrap();
    assert_eq!((report.sent, report.failed, report.abandoned), (2, 0, 0));
    assert_eq!(h.sender.sent().len(), 2);
    assert_eq!(
        h.event_names(),
        [
            "code_requested",
            "code_requested",
            "sent",
            "delivery_changed",
            "sent",
            "delivery_changed"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn what_is_left_at_the_deadline_is_reported_failed() {
    let h = with_codes_waiting(&[JOHN, SITI, ("Nobody", "081311112222")]).await;
    let shutdown = tokio::spawn(h.service.shutdown(Duration::from_secs(5)));
    // One is sent; the other waits on the sender until the deadline, which the paused clock
    // reaches as soon as nothing else can run.
    h.sender.release(1);
    let report = shutdown.await.unwrap();
    assert_eq!((report.sent, report.failed, report.abandoned), (1, 0, 1));
    assert_eq!(h.sender.sent().len(), 1);
    let failures = failures(&h);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("shut down"), "{failures:?}");
}

#[tokio::test]
async fn request_otp_is_refused_from_the_start_of_a_shutdown_for_every_pair() {
    let h = with_codes_waiting(&[JOHN]).await;
    let shutdown = tokio::spawn(h.service.shutdown(Duration::from_secs(30)));
    let known = h.request_otp(SITI).await;
    let unknown = h.request_otp(("Nobody", "081311112222")).await;
    assert_eq!(known.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(known.error(), "sender_unavailable");
    assert_eq!(known.body, unknown.body);
    assert_eq!(known.headers, unknown.headers);
    h.sender.release(1);
    assert_eq!(shutdown.await.unwrap().sent, 1);
    // Still refused once shut down; a second shutdown returns the first one's report.
    assert_eq!(h.request_otp(SITI).await.error(), "sender_unavailable");
    assert_eq!(h.service.shutdown(Duration::ZERO).await.sent, 1);
}

#[tokio::test]
async fn a_password_changed_notice_after_shutdown_is_reported_failed() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    assert_eq!(h.verify_otp(JOHN.1, &code).await.status, StatusCode::OK);
    h.service.shutdown(Duration::from_secs(10)).await;
    assert_eq!(
        h.reset_password(JOHN.1, &code, "newPass123").await.status,
        StatusCode::OK
    );
    h.wait_for_events(5).await;
    let failures = failures(&h);
    assert!(
        failures.iter().any(|error| error.contains("shut down")),
        "{failures:?}"
    );
}
