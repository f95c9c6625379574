//! The [`OtpStore`] cases. Each takes a future of a fresh, empty store.
//!
//! The cases live in one file per topic (issuing and limits, guesses and attempts, consuming
//! and tokens, stand-ins and strangers, lockout) and are all re-exported here.

mod consuming;
mod guesses;
mod issuing;
mod lockout;
mod strangers;

pub use consuming::{
    consume_needs_a_verified_code, consumed_record_names_its_user_and_language,
    reset_token_proves_like_the_code, restore_never_replaces_a_newer_code,
    restore_puts_back_a_consumed_code_once,
    verified_code_is_consumed_exactly_once_under_concurrency,
    wrong_proof_at_consume_counts_as_a_guess,
};
pub use guesses::{
    concurrent_right_guesses_all_verify, concurrent_wrong_guesses_never_exceed_the_limit,
    issued_code_verifies, wrong_guesses_count_down_the_attempts,
};
pub use issuing::{
    concurrent_issues_for_one_phone_issue_once, cooldown_refuses_then_a_new_code_replaces_the_old,
    expired_code_is_refused, phones_are_independent, purge_removes_expired_codes_only,
    send_cap_limits_codes_per_window,
};
pub use lockout::{
    failures_survive_a_new_code_and_lock_the_phone,
    lockout_counts_every_client_and_spares_a_reset_token, lockout_grows_with_further_failures,
    success_resets_the_failures,
};
pub use strangers::{
    a_strangers_guesses_never_use_up_the_users_attempts, concurrent_guesses_count_per_client,
    no_guess_revokes_a_reset_token, stand_in_is_limited_per_pair_like_a_user,
    stand_in_never_touches_the_users_code, stand_ins_and_real_codes_answer_alike,
    wrong_guesses_are_answered_by_the_newest_code,
};

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::store::{
    ClientKey, CodeRecord, ConsumeOutcome, IssueOutcome, NewCode, PairKey, Proof, VerifyOutcome,
};
use crate::{
    Clock, Digest, Lang, OtpId, OtpRules, OtpStore, PhoneNumber, SystemClock, Timestamp, UserId,
};

const SECOND: Duration = Duration::from_secs(1);

fn phone(n: u64) -> PhoneNumber {
    PhoneNumber::from_u64(6_281_200_000_000 + n).unwrap_or_else(|| unreachable!())
}

fn digest(byte: u8) -> Digest {
    Digest::from_bytes([byte; 32])
}

const RIGHT: u8 = 1;
const WRONG: u8 = 2;
const TOKEN: u8 = 3;

fn rules() -> OtpRules {
    OtpRules::DEFAULT
}

/// A start time near the real clock, so stores that also expire keys by their own clock agree.
fn t0() -> Timestamp {
    SystemClock.now()
}

/// The user's own client, and two strangers'.
const USER: ClientKey = ClientKey::UNKNOWN;

fn stranger(n: u64) -> ClientKey {
    ClientKey::from_u64(1000 + n)
}

fn new_code(byte: u8) -> NewCode {
    NewCode {
        otp_id: OtpId::generate(),
        digest: digest(byte),
        user_id: Some(UserId("1".into())),
        pair: PairKey::from_u64(1),
        lang: Lang::Id,
    }
}

/// A stand-in for the made-up pair `pair` (never 1, the user's).
fn stand_in(pair: u64) -> NewCode {
    NewCode {
        user_id: None,
        pair: PairKey::from_u64(pair),
        ..new_code(WRONG)
    }
}

async fn issue<O: OtpStore>(
    store: &O,
    phone: &PhoneNumber,
    code: NewCode,
    now: Timestamp,
    rules: &OtpRules,
) -> IssueOutcome {
    store
        .issue(phone, code, now, rules)
        .await
        .unwrap_or_else(|e| panic!("issue failed: {e}"))
}

async fn issued<O: OtpStore>(
    store: &O,
    phone: &PhoneNumber,
    byte: u8,
    now: Timestamp,
    rules: &OtpRules,
) -> OtpId {
    let code = new_code(byte);
    let otp_id = code.otp_id;
    assert_eq!(
        issue(store, phone, code, now, rules).await,
        IssueOutcome::Issued,
        "a code must be issued"
    );
    otp_id
}

async fn verify<O: OtpStore>(
    store: &O,
    phone: &PhoneNumber,
    byte: u8,
    now: Timestamp,
    rules: &OtpRules,
) -> VerifyOutcome {
    verify_by(store, USER, phone, byte, now, rules).await
}

async fn verify_by<O: OtpStore>(
    store: &O,
    client: ClientKey,
    phone: &PhoneNumber,
    byte: u8,
    now: Timestamp,
    rules: &OtpRules,
) -> VerifyOutcome {
    store
        .verify(phone, client, &digest(byte), &digest(TOKEN), now, rules)
        .await
        .unwrap_or_else(|e| panic!("verify failed: {e}"))
}

async fn consume<O: OtpStore>(
    store: &O,
    phone: &PhoneNumber,
    proof: Proof,
    now: Timestamp,
    rules: &OtpRules,
) -> ConsumeOutcome {
    consume_by(store, USER, phone, proof, now, rules).await
}

async fn consume_by<O: OtpStore>(
    store: &O,
    client: ClientKey,
    phone: &PhoneNumber,
    proof: Proof,
    now: Timestamp,
    rules: &OtpRules,
) -> ConsumeOutcome {
    store
        .consume(phone, client, proof, now, rules)
        .await
        .unwrap_or_else(|e| panic!("consume failed: {e}"))
}

/// Verifies phone 1's code (`RIGHT`) and consumes it, returning the record.
async fn verify_and_consume<O: OtpStore>(store: &O, now: Timestamp, r: &OtpRules) -> CodeRecord {
    verify(store, &phone(1), RIGHT, now, r).await;
    match consume(store, &phone(1), Proof::Code(digest(RIGHT)), now, r).await {
        ConsumeOutcome::Consumed(record) => record,
        other => panic!("a verified code must be consumed, got {other:?}"),
    }
}

/// Phone 1's verified code is consumed once, and is gone after.
async fn consume_once<O: OtpStore>(store: &O, now: Timestamp, r: &OtpRules) {
    let first = consume(store, &phone(1), Proof::Code(digest(RIGHT)), now, r).await;
    assert!(matches!(first, ConsumeOutcome::Consumed(_)), "{first:?}");
    let second = consume(store, &phone(1), Proof::Code(digest(RIGHT)), now, r).await;
    assert_eq!(second, ConsumeOutcome::NoCode);
}

/// Runs `count` calls of `op` at once, each in its own task, and returns their results.
async fn race<O, T, F, Fut>(store: &Arc<O>, count: u8, op: F) -> Vec<T>
where
    O: OtpStore,
    F: Fn(Arc<O>, u8) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..count)
        .map(|i| tokio::spawn(op(Arc::clone(store), i)))
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(
            task.await
                .unwrap_or_else(|e| panic!("a racing call failed: {e}")),
        );
    }
    results
}
