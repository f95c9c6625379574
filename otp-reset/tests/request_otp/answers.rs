//! What a request is answered: the code sent to a known user, input refused, the language.

use std::time::Duration;

use crate::common::{Harness, JOHN};
use http::StatusCode;
use otp_reset::{Message, Policy};
use serde_json::json;

#[tokio::test]
async fn a_known_user_is_sent_a_code_and_told_where() {
    let h = Harness::new();
    let answer = h.request_otp(JOHN).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["success"], true);
    assert_eq!(answer.message(), "OTP dikirim ke WhatsApp");
    assert_eq!(answer.body["phoneNumber"], "6281234567890");
    assert!(
        answer.body.get("testOTP").is_none(),
        "no code in the answer without the development switch"
    );

    let sent = h.sender.wait_for(1).await;
    assert_eq!(sent[0].0.digits(), "6281234567890");
    let Message::Code { code, ttl, .. } = &sent[0].1 else {
        panic!("expected a code")
    };
    assert_eq!(code.expose().len(), 6);
    assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(*ttl, Duration::from_secs(15 * 60));
    assert!(sent[0].1.text().contains(code.expose()));
}

#[tokio::test]
async fn a_number_typed_any_way_reaches_the_same_user() {
    for typed in ["+62 812-3456-7890", "6281234567890", "0812 3456 7890"] {
        let h = Harness::new();
        let answer = h.request_otp((" john DOE ", typed)).await;
        assert_eq!(answer.body["phoneNumber"], "6281234567890", "{typed}");
        assert_eq!(h.sender.wait_for(1).await.len(), 1, "{typed}");
    }
}

#[tokio::test]
async fn a_missing_name_is_refused_with_the_seeds_message() {
    let h = Harness::new();
    for body in [
        json!({ "noHp": JOHN.1 }),
        json!({ "nama": "  ", "noHp": JOHN.1 }),
        json!({ "nama": null, "noHp": JOHN.1 }),
    ] {
        let answer = h.post("/request-otp", body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.body["success"], false);
        assert_eq!(answer.message(), "Nama harus diisi");
        assert_eq!(answer.error(), "name_required");
    }
}

#[tokio::test]
async fn a_missing_phone_is_refused_with_the_seeds_message() {
    let h = Harness::new();
    let answer = h.post("/request-otp", json!({ "nama": JOHN.0 })).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.message(), "NoHp harus diisi");
}

#[tokio::test]
async fn an_impossible_number_is_refused_clearly() {
    let h = Harness::new();
    for typed in ["12345", "0812", "abcdefghij", "+62 0000 0000"] {
        let answer = h.request_otp((JOHN.0, typed)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{typed}");
        assert_eq!(answer.error(), "invalid_phone", "{typed}");
        assert!(
            answer.message().starts_with("Nomor HP tidak valid"),
            "{typed}"
        );
    }
}

#[tokio::test]
async fn a_landline_is_refused_as_not_mobile() {
    let answer = Harness::new().request_otp((JOHN.0, "021 555 1234")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "phone_not_mobile");
}

#[tokio::test]
async fn the_development_switch_puts_the_sent_code_in_the_answer() {
    let h = Harness::with_policy(
        Policy::builder()
            .with_code_exposed_for_development(true)
            .build()
            .unwrap(),
    );
    let answer = h.request_otp(JOHN).await;
    let sent = h.sender.wait_for(1).await;
    let Message::Code { code, .. } = &sent[0].1 else {
        panic!("expected a code")
    };
    assert_eq!(answer.body["testOTP"], code.expose());
}

#[tokio::test]
async fn english_is_answered_to_clients_that_prefer_it() {
    let h = Harness::new();
    let answer = h
        .post_in(
            "en-US,en;q=0.9,id;q=0.5",
            "/request-otp",
            json!({ "noHp": JOHN.1 }),
        )
        .await;
    assert_eq!(answer.message(), "Name is required");
}
