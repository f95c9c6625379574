//! `POST /verify-otp`: one atomic attempt per request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Harness, JOHN, wrong_code};
use http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_right_code_verifies_and_returns_the_otp_id_and_a_reset_token() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    let answer = h.verify_otp("+62 812-3456-7890", &code).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["success"], true);
    assert_eq!(answer.message(), "OTP berhasil diverifikasi");
    assert!(
        answer.body["data"]["otpId"]
            .as_u64()
            .is_some_and(|id| id > 0 && id < 1 << 53)
    );
    assert_eq!(
        answer.body["data"]["resetToken"].as_str().map(str::len),
        Some(43)
    );
}

#[tokio::test]
async fn a_wrong_code_is_told_the_attempts_left() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    for left in [2, 1] {
        let answer = h.verify_otp(JOHN.1, &wrong_code(&code)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.error(), "wrong_otp");
        assert_eq!(answer.body["attemptsLeft"], left);
        assert_eq!(
            answer.message(),
            format!("OTP salah. Sisa percobaan: {left}")
        );
    }
}

#[tokio::test]
async fn the_last_wrong_attempt_asks_for_a_new_code_and_the_code_is_dead() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    h.verify_otp(JOHN.1, &wrong_code(&code)).await;
    h.verify_otp(JOHN.1, &wrong_code(&code)).await;
    let last = h.verify_otp(JOHN.1, &wrong_code(&code)).await;
    assert_eq!(last.error(), "otp_attempts_exhausted");
    assert!(last.message().contains("minta OTP baru"));
    let right_too_late = h.verify_otp(JOHN.1, &code).await;
    assert_eq!(right_too_late.status, StatusCode::BAD_REQUEST);
    assert_eq!(right_too_late.error(), "otp_attempts_exhausted");
}

#[tokio::test]
async fn an_expired_code_asks_for_a_new_one() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    h.clock.advance(Duration::from_secs(15 * 60));
    let answer = h.verify_otp(JOHN.1, &code).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "otp_expired");
    assert_eq!(
        answer.message(),
        "OTP sudah kedaluwarsa. Silakan minta OTP baru."
    );
}

#[tokio::test]
async fn a_phone_without_a_code_asks_for_one() {
    let answer = Harness::new().verify_otp(JOHN.1, "123456").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "otp_not_found");
}

#[tokio::test]
async fn a_malformed_code_is_refused_without_costing_an_attempt() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    for typo in ["12345", "1234567", "12a456", "１２３４５６"] {
        let answer = h.verify_otp(JOHN.1, typo).await;
        assert_eq!(answer.error(), "invalid_otp_format", "{typo}");
        assert_eq!(answer.message(), "OTP harus 6 digit angka");
    }
    assert_eq!(
        h.verify_otp(JOHN.1, &wrong_code(&code)).await.body["attemptsLeft"],
        2
    );
}

#[tokio::test]
async fn a_missing_code_is_refused() {
    let answer = Harness::new()
        .post("/verify-otp", json!({ "noHp": JOHN.1 }))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.message(), "OTP harus diisi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_concurrent_wrong_guesses_count_exactly_three_attempts() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    let wrong = wrong_code(&code);
    // Forty, below the phone's lockout at fifty failures (guesses at a used-up code count there).
    let guesses: Vec<_> = (0..40)
        .map(|_| {
            let service = h.service.clone();
            let wrong = wrong.clone();
            tokio::spawn(async move {
                let request = common::json_request(
                    http::Method::POST,
                    "/verify-otp",
                    &json!({ "noHp": JOHN.1, "otp": wrong }),
                );
                common::send_request(&service, request).await
            })
        })
        .collect();
    let mut errors: HashMap<String, usize> = HashMap::new();
    for guess in guesses {
        let answer = guess.await.unwrap();
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        *errors.entry(answer.error().to_owned()).or_default() += 1;
    }
    assert_eq!(
        errors.get("wrong_otp"),
        Some(&2),
        "attempts 1 and 2 report attempts left: {errors:?}"
    );
    assert_eq!(
        errors.get("otp_attempts_exhausted"),
        Some(&38),
        "{errors:?}"
    );
    let failures = h
        .event_names()
        .iter()
        .filter(|&&name| name == "verify_failed")
        .count();
    assert_eq!(failures, 3, "exactly three wrong guesses were counted");
    assert_eq!(
        h.verify_otp(JOHN.1, &code).await.error(),
        "otp_attempts_exhausted"
    );
}
