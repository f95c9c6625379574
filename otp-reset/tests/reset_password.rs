//! `POST /reset-password`: a verified code resets a password once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Harness, JOHN, RecordingSender, SITI, seed_users, wrong_code};
use http::StatusCode;
use otp_reset::{
    Lang, MemoryOtpStore, MemoryUserStore, Message, PasswordCheck, Passwords, PhoneNumber, Policy,
    StoreError, User, UserId, UserStore,
};
use serde_json::json;

async fn verified_code(h: &Harness) -> String {
    let code = h.code_for(JOHN).await;
    assert_eq!(h.verify_otp(JOHN.1, &code).await.status, StatusCode::OK);
    code
}

async fn john(users: &MemoryUserStore) -> User {
    users
        .find_by_phone(&JOHN.1.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_verified_code_replaces_the_password_with_an_argon2_hash() {
    let h = Harness::new();
    let code = verified_code(&h).await;
    let answer = h.reset_password(JOHN.1, &code, "newPass123").await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.body["success"], true);
    assert_eq!(answer.message(), "Password berhasil diubah, silakan login");

    let stored = john(h.service.users()).await.password;
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    let passwords = Passwords::default();
    assert_eq!(
        passwords.verify("newPass123", &stored).await.unwrap(),
        PasswordCheck::Match {
            needs_upgrade: false
        }
    );
    assert_eq!(
        passwords.verify("password123", &stored).await.unwrap(),
        PasswordCheck::Mismatch
    );
}

#[tokio::test]
async fn the_code_is_gone_after_the_reset() {
    let h = Harness::new();
    let code = verified_code(&h).await;
    assert_eq!(
        h.reset_password(JOHN.1, &code, "newPass123").await.status,
        StatusCode::OK
    );
    let again = h.reset_password(JOHN.1, &code, "otherPass456").await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.error(), "otp_not_found");
    assert_eq!(h.verify_otp(JOHN.1, &code).await.error(), "otp_not_found");
}

#[tokio::test]
async fn the_reset_token_works_in_place_of_the_code() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    let token = h.verify_otp(JOHN.1, &code).await.body["data"]["resetToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = h
        .post(
            "/reset-password",
            json!({ "noHp": JOHN.1, "resetToken": token, "newPassword": "viaToken1", "confirmPassword": "viaToken1" }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
}

#[tokio::test]
async fn a_wrong_reset_token_counts_as_a_wrong_guess() {
    let h = Harness::new();
    verified_code(&h).await;
    let answer = h
        .post(
            "/reset-password",
            json!({ "noHp": JOHN.1, "resetToken": "forged", "newPassword": "newPass123", "confirmPassword": "newPass123" }),
        )
        .await;
    assert_eq!(answer.error(), "wrong_otp");
    assert_eq!(answer.body["attemptsLeft"], 2);
}

#[tokio::test]
async fn an_unverified_code_does_not_reset() {
    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    let answer = h.reset_password(JOHN.1, &code, "newPass123").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "otp_not_verified");
    assert_eq!(john(h.service.users()).await.password, "password123");
}

#[tokio::test]
async fn guessing_at_the_reset_is_limited_like_verification() {
    let h = Harness::new();
    let code = verified_code(&h).await;
    for _ in 0..3 {
        h.reset_password(JOHN.1, &wrong_code(&code), "newPass123")
            .await;
    }
    let answer = h.reset_password(JOHN.1, &code, "newPass123").await;
    assert_eq!(answer.error(), "otp_attempts_exhausted");
    assert_eq!(john(h.service.users()).await.password, "password123");
}

#[tokio::test]
async fn an_expired_verified_code_does_not_reset() {
    let h = Harness::new();
    let code = verified_code(&h).await;
    h.clock.advance(std::time::Duration::from_secs(15 * 60));
    assert_eq!(
        h.reset_password(JOHN.1, &code, "newPass123").await.error(),
        "otp_expired"
    );
}

#[tokio::test]
async fn the_passwords_must_match_and_be_long_enough() {
    let h = Harness::new();
    let code = verified_code(&h).await;
    let cases = [
        (
            json!({ "noHp": JOHN.1, "otp": code, "confirmPassword": "abcdef" }),
            "Password baru harus diisi",
        ),
        (
            json!({ "noHp": JOHN.1, "otp": code, "newPassword": "abcdef" }),
            "Konfirmasi password harus diisi",
        ),
        (
            json!({ "noHp": JOHN.1, "otp": code, "newPassword": "abcdef", "confirmPassword": "abcdeg" }),
            "Password dan konfirmasi password tidak sama",
        ),
        (
            json!({ "noHp": JOHN.1, "otp": code, "newPassword": "abcde", "confirmPassword": "abcde" }),
            "Password minimal 6 karakter",
        ),
        (
            json!({ "noHp": JOHN.1, "newPassword": "abcdef", "confirmPassword": "abcdef" }),
            "OTP harus diisi",
        ),
    ];
    for (body, message) in cases {
        let answer = h.post("/reset-password", body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{message}");
        assert_eq!(answer.message(), message);
    }
    let long = "x".repeat(257);
    assert_eq!(
        h.reset_password(JOHN.1, &code, &long).await.error(),
        "password_too_long"
    );
    // None of the refusals used the code up.
    assert_eq!(
        h.reset_password(JOHN.1, &code, "abcdef").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn length_counts_characters_not_bytes() {
    let h = Harness::new();
    let code = verified_code(&h).await;
    assert_eq!(
        h.reset_password(JOHN.1, &code, "sandiö").await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_resets_with_one_code_change_the_password_once() {
    let h = Harness::new();
    let code = verified_code(&h).await;
    let resets: Vec<_> = (0..20)
        .map(|i| {
            let service = h.service.clone();
            let code = code.clone();
            tokio::spawn(async move {
                let password = format!("racer-{i:02}");
                let body = json!({ "noHp": JOHN.1, "otp": code, "newPassword": password, "confirmPassword": password });
                let answer = common::send_request(&service, common::json_request(http::Method::POST, "/reset-password", &body)).await;
                (password, answer)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for reset in resets {
        let (password, answer) = reset.await.unwrap();
        match answer.status {
            StatusCode::OK => winners.push(password),
            StatusCode::BAD_REQUEST => assert_eq!(answer.error(), "otp_not_found"),
            other => panic!("unexpected {other}: {:?}", answer.body),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one reset succeeds");
    let stored = john(h.service.users()).await.password;
    assert!(matches!(
        Passwords::default()
            .verify(&winners[0], &stored)
            .await
            .unwrap(),
        PasswordCheck::Match { .. }
    ));
    let resets = h
        .event_names()
        .iter()
        .filter(|&&name| name == "password_reset")
        .count();
    assert_eq!(resets, 1);
}

#[tokio::test]
async fn the_owner_is_told_the_password_changed_in_the_language_the_code_was_sent_in() {
    let h = Harness::new();
    let answer = h
        .post_in(
            "en",
            "/request-otp",
            json!({ "nama": JOHN.0, "noHp": JOHN.1 }),
        )
        .await;
    assert_eq!(answer.message(), "OTP sent to WhatsApp");
    let Message::Code {
        code,
        lang: Lang::En,
        ..
    } = &h.sender.wait_for(1).await[0].1
    else {
        panic!("expected an English code")
    };
    let code = code.expose().to_owned();
    h.verify_otp(JOHN.1, &code).await;
    // The reset itself comes without a language preference.
    assert_eq!(
        h.reset_password(JOHN.1, &code, "newPass123").await.status,
        StatusCode::OK
    );
    let sent = h.sender.wait_for(2).await;
    assert_eq!(sent[1].0, JOHN.1.parse::<PhoneNumber>().unwrap());
    assert!(matches!(
        sent[1].1,
        Message::PasswordChanged { lang: Lang::En }
    ));
    assert!(sent[1].1.text().contains("If this was not you"));
}

#[tokio::test]
async fn a_reset_whose_client_goes_away_still_completes() {
    let h = Harness::new();
    let code = verified_code(&h).await;
    let body = json!({ "noHp": JOHN.1, "otp": code, "newPassword": "newPass123", "confirmPassword": "newPass123" });
    let request = common::json_request(http::Method::POST, "/reset-password", &body);
    // The client gives up while the password is being hashed: its future is dropped.
    let abandoned = tokio::time::timeout(
        std::time::Duration::from_millis(1),
        common::send_request(&h.service, request),
    )
    .await;
    assert!(
        abandoned.is_err(),
        "hashing takes longer than a millisecond"
    );
    let notice = h.sender.wait_for(2).await;
    assert!(
        matches!(notice[1].1, Message::PasswordChanged { .. }),
        "the reset went on to the end"
    );
    let stored = john(h.service.users()).await.password;
    assert!(matches!(
        Passwords::default()
            .verify("newPass123", &stored)
            .await
            .unwrap(),
        PasswordCheck::Match { .. }
    ));
    assert!(h.event_names().contains(&"password_reset"));
}

/// A user store whose password writes fail while `failing` is set.
#[derive(Debug)]
struct FlakyUsers {
    inner: MemoryUserStore,
    failing: Arc<AtomicBool>,
}

impl UserStore for FlakyUsers {
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        self.inner.find_by_phone(phone).await
    }

    async fn set_password_hash(&self, id: &UserId, phc: &str) -> Result<bool, StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("disk full".into()));
        }
        self.inner.set_password_hash(id, phc).await
    }
}

#[tokio::test]
async fn a_failed_password_write_gets_503_and_the_code_is_not_given_back() {
    let failing = Arc::new(AtomicBool::new(true));
    let users = FlakyUsers {
        inner: MemoryUserStore::from_users(seed_users()),
        failing: Arc::clone(&failing),
    };
    let h = Harness::build(
        Policy::default(),
        RecordingSender::ready(),
        users,
        MemoryOtpStore::new(),
    );
    let code = h.code_for(JOHN).await;
    assert_eq!(h.verify_otp(JOHN.1, &code).await.status, StatusCode::OK);

    let answer = h.reset_password(JOHN.1, &code, "newPass123").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.error(), "server_error");
    assert!(
        !answer.message().contains("disk full"),
        "internals never reach the client"
    );

    // The write may have landed before it failed: the code must not get a second use.
    failing.store(false, Ordering::SeqCst);
    assert_eq!(
        h.reset_password(JOHN.1, &code, "newPass123").await.error(),
        "otp_not_found"
    );
}

#[tokio::test]
async fn one_users_code_does_not_reset_another_user() {
    let h = Harness::new();
    let code = verified_code(&h).await;
    let answer = h.reset_password(SITI.1, &code, "newPass123").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "otp_not_found");
}
