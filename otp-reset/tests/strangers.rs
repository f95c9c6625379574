//! No stranger can spoil a user's reset, and no stranger can tell a real pair from a made-up
//! one: each attack found on the release server, replayed against the service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Answer, Harness, JOHN, RecordingSender, wrong_code};
use http::StatusCode;
use otp_reset::{MemoryOtpStore, MemoryUserStore, Policy};

const STRANGER: &str = "203.0.113.66";
const USER: &str = "198.51.100.7";

#[tokio::test]
async fn a_wrong_name_never_replaces_the_users_live_code() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    let answer = h.request_otp(("Jane Roe", JOHN.1)).await;
    assert_eq!(answer.status, StatusCode::OK);
    let verified = h.verify_otp_from(USER, JOHN.1, &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
}

#[tokio::test]
async fn guesses_at_a_verified_code_never_revoke_its_reset_token() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    let verified = h.verify_otp_from(USER, JOHN.1, &code).await;
    let token = verified.body["data"]["resetToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = wrong_code(&code);
    for _ in 0..3 {
        h.verify_otp_from(STRANGER, JOHN.1, &wrong).await;
        h.reset_password_from(STRANGER, JOHN.1, ("otp", &wrong), "Attacker!1")
            .await;
        h.reset_password_from(STRANGER, JOHN.1, ("resetToken", "forged"), "Attacker!1")
            .await;
    }
    let reset = h
        .reset_password_from(USER, JOHN.1, ("resetToken", &token), "NewSecret!9")
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{:?}", reset.body);
}

#[tokio::test]
async fn a_strangers_guesses_never_use_up_the_users_attempts() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    let wrong = wrong_code(&code);
    for _ in 0..3 {
        h.verify_otp_from(STRANGER, JOHN.1, &wrong).await;
    }
    let stranger = h.verify_otp_from(STRANGER, JOHN.1, &code).await;
    assert_eq!(stranger.error(), "otp_attempts_exhausted");
    let typo = h.verify_otp_from(USER, JOHN.1, &wrong).await;
    assert_eq!(
        typo.body["attemptsLeft"], 2,
        "the user's own attempts are whole"
    );
    assert_eq!(
        h.verify_otp_from(USER, JOHN.1, &code).await.status,
        StatusCode::OK
    );
}

/// The release server's cheapest lockout: wrong-name requests with three guesses each, about
/// six requests and 18 guesses a day. None of it now holds the user back.
#[tokio::test]
async fn wrong_name_requests_and_their_guesses_never_lock_the_user_out() {
    let h = Harness::new();
    for round in 0..6 {
        let name = format!("Not John {round}");
        assert_eq!(
            h.request_otp((name.as_str(), JOHN.1)).await.status,
            StatusCode::OK
        );
        for _ in 0..3 {
            h.verify_otp_from(STRANGER, JOHN.1, "000000").await;
        }
        h.clock.advance(Duration::from_secs(61));
    }
    let code = h.code_for(JOHN).await;
    assert_eq!(
        h.verify_otp_from(USER, JOHN.1, &code).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_name_requests_never_use_up_the_users_sends() {
    let h = Harness::new();
    for round in 0..10 {
        let name = format!("Not John {round}");
        h.request_otp((name.as_str(), JOHN.1)).await;
    }
    for _ in 0..5 {
        h.code_for(JOHN).await;
        h.clock.advance(Duration::from_secs(60));
    }
}

/// Every answer (status, body, headers) of a sequence an attacker plays on John's number.
async fn play(h: &Harness<MemoryUserStore, MemoryOtpStore>, name: &str) -> Vec<Answer> {
    let mut answers = Vec::new();
    let other = |n: u8| format!("192.0.2.{n}");
    answers.push(h.request_otp((name, JOHN.1)).await);
    answers.push(h.request_otp((name, JOHN.1)).await);
    for _ in 0..2 {
        answers.push(h.verify_otp_from(&other(1), JOHN.1, "000000").await);
    }
    answers.push(h.verify_otp_from(&other(2), JOHN.1, "000001").await);
    answers.push(
        h.reset_password_from(&other(1), JOHN.1, ("otp", "000002"), "Attacker!1")
            .await,
    );
    answers.push(
        h.reset_password_from(&other(3), JOHN.1, ("resetToken", "forged"), "Attacker!1")
            .await,
    );
    h.clock.advance(Duration::from_secs(61));
    answers.push(h.request_otp(("Surely Not The Name", JOHN.1)).await);
    for _ in 0..4 {
        answers.push(h.verify_otp_from(&other(1), JOHN.1, "000003").await);
    }
    h.clock.advance(Duration::from_secs(61));
    answers.push(h.request_otp((name, JOHN.1)).await);
    // Enough clients to lock the number out, then what the lockout looks like.
    for client in 10..30 {
        for _ in 0..3 {
            answers.push(h.verify_otp_from(&other(client), JOHN.1, "000004").await);
        }
    }
    answers.push(h.request_otp((name, JOHN.1)).await);
    answers.push(h.verify_otp_from(&other(99), JOHN.1, "000005").await);
    answers.push(
        h.reset_password_from(&other(99), JOHN.1, ("otp", "000005"), "Attacker!1")
            .await,
    );
    h.clock.advance(Duration::from_secs(16 * 60));
    answers.push(h.verify_otp_from(&other(98), JOHN.1, "000006").await);
    h.service.purge_expired().await.unwrap();
    answers.push(h.verify_otp_from(&other(98), JOHN.1, "000006").await);
    answers.push(h.request_otp((name, JOHN.1)).await);
    answers.push(h.verify_otp_from(&other(97), JOHN.1, "000007").await);
    answers
}

fn comparable(answers: Vec<Answer>) -> Vec<(StatusCode, serde_json::Value, http::HeaderMap)> {
    answers
        .into_iter()
        .map(|a| (a.status, a.comparable_body(), a.headers))
        .collect()
}

#[tokio::test]
async fn no_sequence_tells_a_real_pair_a_wrong_name_or_an_unregistered_number_apart() {
    let real = comparable(play(&Harness::new(), JOHN.0).await);
    let wrong_name = comparable(play(&Harness::new(), "Jane Roe").await);
    let nobody = Harness::build(
        Policy::default(),
        RecordingSender::ready(),
        MemoryUserStore::new(),
        MemoryOtpStore::new(),
    );
    let unregistered = comparable(play(&nobody, JOHN.0).await);
    let errors: Vec<&str> = real
        .iter()
        .map(|(_, body, _)| body["error"].as_str().unwrap_or("ok"))
        .collect();
    for expected in [
        "cooldown",
        "wrong_otp",
        "otp_attempts_exhausted",
        "locked_out",
        "otp_expired",
        "otp_not_found",
    ] {
        assert!(
            errors.contains(&expected),
            "{expected} not played: {errors:?}"
        );
    }
    assert_eq!(real, wrong_name);
    assert_eq!(real, unregistered);
}
