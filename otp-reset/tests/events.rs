//! Every step emits a typed event, through `tracing` and the app's hook, with the phone masked
//! and never a code, token or password.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, JOHN, wrong_code};
use http::StatusCode;
use otp_reset::{DeliveryStatus, Event, MessageKind};

#[tokio::test]
async fn the_whole_flow_emits_its_events_in_order() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    h.verify_otp(JOHN.1, &wrong_code(&code)).await;
    h.verify_otp(JOHN.1, &code).await;
    assert_eq!(
        h.reset_password(JOHN.1, &code, "newPass123").await.status,
        StatusCode::OK
    );
    h.sender.wait_for(2).await;
    h.wait_for_events(7).await;
    assert_eq!(
        h.event_names(),
        [
            "code_requested",
            "sent",
            "delivery_changed",
            "verify_failed",
            "verified",
            "password_reset",
            "sent"
        ]
    );
    let events = h.events.lock().unwrap().clone();
    assert!(matches!(
        events[0],
        Event::CodeRequested {
            known_user: true,
            ..
        }
    ));
    assert!(matches!(
        events[1],
        Event::Sent {
            kind: MessageKind::Code,
            ..
        }
    ));
    assert!(matches!(
        events[2],
        Event::DeliveryChanged {
            status: DeliveryStatus::Sent,
            ..
        }
    ));
    assert!(matches!(
        events[3],
        Event::VerifyFailed {
            attempts_left: 2,
            consecutive_failures: 1,
            ..
        }
    ));
    assert!(matches!(
        events[6],
        Event::Sent {
            kind: MessageKind::PasswordChanged,
            ..
        }
    ));
}

#[tokio::test]
async fn a_refused_request_emits_why() {
    let h = Harness::new();
    h.request_otp(JOHN).await;
    h.request_otp(JOHN).await;
    assert_eq!(h.event_names(), ["code_requested", "code_refused"]);
}
