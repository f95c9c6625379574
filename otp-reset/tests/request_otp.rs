//! `POST /request-otp`: the seed's rules and our deliberate differences.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Harness, JOHN, RecordingSender, SITI};
use http::StatusCode;
use otp_reset::{Message, Policy, SenderState, ShutdownReport, UnknownUser};
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
async fn an_unknown_pair_gets_the_same_answer_as_a_known_one_and_no_message() {
    let known = Harness::new();
    let unknown = Harness::new();
    let known_answer = known.request_otp(JOHN).await;
    let unknown_answer = unknown.request_otp(("Jane Roe", JOHN.1)).await;
    assert_eq!(known_answer.status, unknown_answer.status);
    assert_eq!(known_answer.body, unknown_answer.body);
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
    let mut record = |a: common::Answer| answers.push((a.status, a.body, a.headers));
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
