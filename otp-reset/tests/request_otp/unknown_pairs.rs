//! Unknown name and phone pairs: concealed by default, revealed as the seed did on request.

use std::time::Duration;

use crate::common::{self, Harness, JOHN};
use http::StatusCode;
use otp_reset::{Policy, ShutdownReport, UnknownUser};

#[tokio::test]
async fn an_unknown_pair_gets_the_same_answer_as_a_known_one_and_no_message() {
    let known = Harness::new();
    let unknown = Harness::new();
    let known_answer = known.request_otp(JOHN).await;
    let unknown_answer = unknown.request_otp(("Jane Roe", JOHN.1)).await;
    assert_eq!(known_answer.status, unknown_answer.status);
    assert_eq!(
        known_answer.comparable_body(),
        unknown_answer.comparable_body()
    );
    assert_eq!(known_answer.headers, unknown_answer.headers);

    known.sender.wait_for(1).await;
    // A shutdown returns once every queued message, the stand-in included, was handed over.
    let report = unknown.service.shutdown(Duration::from_secs(10)).await;
    assert_eq!(report, ShutdownReport::default());
    assert!(
        unknown.sender.sent().is_empty(),
        "nothing is sent for an unknown pair"
    );
}

#[tokio::test]
async fn an_unknown_number_behaves_like_a_known_one_at_verification() {
    let h = Harness::new();
    h.request_otp(("Nobody", "081311112222")).await;
    let answer = h.verify_otp("081311112222", "000000").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.error(),
        "wrong_otp",
        "an attacker sees attempts counted as for a real code"
    );
    assert_eq!(answer.body["attemptsLeft"], 2);
}

/// Plays the same sequence against a phone's real name and a wrong one, and returns every
/// answer (status, body, headers) in order.
async fn probe(name: &str) -> Vec<(http::StatusCode, serde_json::Value, http::HeaderMap)> {
    let h = Harness::new();
    let mut answers = Vec::new();
    let mut record = |a: common::Answer| answers.push((a.status, a.comparable_body(), a.headers));
    record(h.request_otp((name, JOHN.1)).await);
    record(h.verify_otp(JOHN.1, "000000").await);
    record(h.verify_otp(JOHN.1, "000001").await);
    h.clock.advance(Duration::from_secs(61));
    record(h.request_otp(("Surely Not The Name", JOHN.1)).await);
    record(h.verify_otp(JOHN.1, "000002").await);
    h.clock.advance(Duration::from_secs(16 * 60));
    record(h.verify_otp(JOHN.1, "000003").await);
    record(h.request_otp(("Surely Not The Name", JOHN.1)).await);
    record(h.request_otp(("Surely Not The Name", JOHN.1)).await);
    answers
}

#[tokio::test]
async fn no_sequence_of_requests_tells_a_real_pair_from_a_wrong_one() {
    // A real user's code replaced by a stand-in, stand-ins replaced by stand-ins, expiry and
    // cooldowns: everything an attacker can observe is the same.
    assert_eq!(probe(JOHN.0).await, probe("Jane Roe").await);
}

#[tokio::test]
async fn reveal_answers_an_unknown_pair_with_the_seeds_404() {
    let h = Harness::with_policy(
        Policy::builder()
            .with_unknown_user(UnknownUser::Reveal)
            .build()
            .unwrap(),
    );
    let answer = h.request_otp(("Jane Roe", JOHN.1)).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.message(), "User tidak ditemukan");
}

#[tokio::test]
async fn reveal_limits_each_made_up_pair_but_never_the_user() {
    let h = Harness::with_policy(
        Policy::builder()
            .with_unknown_user(UnknownUser::Reveal)
            .build()
            .unwrap(),
    );
    assert_eq!(
        h.request_otp(("Jane Roe", JOHN.1)).await.status,
        StatusCode::NOT_FOUND
    );
    let again = h.request_otp(("jane  roe", JOHN.1)).await;
    assert_eq!(
        again.status,
        StatusCode::TOO_MANY_REQUESTS,
        "one made-up pair cannot be asked for without limit"
    );
    assert_eq!(h.request_otp(JOHN).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_made_up_pair_is_limited_like_a_real_one_but_apart_from_it() {
    let h = Harness::new();
    assert_eq!(
        h.request_otp(("Jane Roe", JOHN.1)).await.status,
        StatusCode::OK
    );
    let again = h.request_otp(("Jane Roe", JOHN.1)).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(again.error(), "cooldown", "as a real pair would be told");
    assert_eq!(
        h.request_otp(JOHN).await.status,
        StatusCode::OK,
        "a stranger's request never holds back the user's"
    );
}
