//! Limits on codes: the cooldown, the send cap, the lockout and the site-wide rates.

use std::time::Duration;

use crate::common::{self, Harness, JOHN, SITI};
use http::StatusCode;
use otp_reset::Policy;

#[tokio::test]
async fn a_second_request_within_the_cooldown_is_told_how_long_to_wait() {
    let h = Harness::new();
    h.request_otp(JOHN).await;
    h.clock.advance(Duration::from_secs(20));
    let answer = h.request_otp(JOHN).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.error(), "cooldown");
    assert_eq!(answer.body["retryAfter"], 40);
    assert_eq!(answer.headers["retry-after"], "40");
    assert!(
        answer.message().starts_with("Sudah ada OTP aktif"),
        "{}",
        answer.message()
    );
    assert!(answer.message().contains("40 detik"));
}

#[tokio::test]
async fn after_the_cooldown_a_new_code_replaces_the_old() {
    let h = Harness::new();
    let old = h.code_for(JOHN).await;
    h.clock.advance(Duration::from_secs(60));
    let new = h.code_for(JOHN).await;
    if old != new {
        let answer = h.verify_otp(JOHN.1, &old).await;
        assert_eq!(answer.error(), "wrong_otp", "the old code no longer works");
    }
    assert_eq!(h.verify_otp(JOHN.1, &new).await.status, StatusCode::OK);
}

#[tokio::test]
async fn at_most_five_codes_per_phone_per_hour() {
    let h = Harness::new();
    for _ in 0..5 {
        assert_eq!(h.request_otp(JOHN).await.status, StatusCode::OK);
        h.clock.advance(Duration::from_secs(60));
    }
    let answer = h.request_otp(JOHN).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.error(), "send_cap");
    assert_eq!(answer.body["retryAfter"], 3600 - 300);
    assert!(answer.headers.contains_key("retry-after"));
    h.clock.advance(Duration::from_secs(3600 - 300));
    assert_eq!(h.request_otp(JOHN).await.status, StatusCode::OK);
}

#[tokio::test]
async fn fifty_failures_from_many_clients_lock_the_phone_out() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    let wrong = common::wrong_code(&code);
    for client in 0..17 {
        for _ in 0..3 {
            h.verify_otp_from(&format!("203.0.113.{client}"), JOHN.1, &wrong)
                .await;
        }
    }
    assert!(h.event_names().contains(&"locked"));
    let guess = h.verify_otp_from("198.51.100.1", JOHN.1, &code).await;
    assert_eq!(guess.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        guess.error(),
        "locked_out",
        "not even the right code while locked"
    );
    h.clock.advance(Duration::from_secs(60));
    let answer = h.request_otp(JOHN).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.error(), "locked_out");
    assert!(answer.headers.contains_key("retry-after"));
    assert!(answer.body["retryAfter"].as_u64().unwrap() > 60);
}

#[tokio::test]
async fn the_site_send_budget_answers_busy_to_every_pair_alike() {
    let hour = Duration::from_secs(3600);
    let h = Harness::with_policy(
        Policy::builder()
            .with_send_budget(2, hour, 2)
            .build()
            .unwrap(),
    );
    assert_eq!(
        h.request_otp(("Jane Roe", JOHN.1)).await.status,
        StatusCode::OK,
        "a made-up pair sends nothing and spends nothing"
    );
    h.code_for(JOHN).await;
    h.code_for(SITI).await;
    for pair in [("Nobody", "081311112222"), ("Siti Aminah", "081298765432")] {
        let answer = h.request_otp(pair).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.error(), "busy");
        assert_eq!(
            answer.headers["retry-after"], "1800",
            "one send per half hour"
        );
    }
    h.clock.advance(Duration::from_secs(1800));
    assert_eq!(
        h.request_otp(("Nobody", "081311112222")).await.status,
        StatusCode::OK
    );
    assert_eq!(h.sender.sent().len(), 2);
}

#[tokio::test]
async fn the_site_request_limit_answers_busy_beyond_it() {
    let minute = Duration::from_secs(60);
    let h = Harness::with_policy(
        Policy::builder()
            .with_request_limit(3, minute)
            .build()
            .unwrap(),
    );
    for n in 0..3 {
        let phone = format!("08131111222{n}");
        assert_eq!(
            h.request_otp(("Nobody", &phone)).await.status,
            StatusCode::OK
        );
    }
    let answer = h.request_otp(JOHN).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.error(), "busy");
    assert_eq!(answer.headers["retry-after"], "20");
    h.clock.advance(Duration::from_secs(20));
    assert_eq!(h.request_otp(JOHN).await.status, StatusCode::OK);
}
