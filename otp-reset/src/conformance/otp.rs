//! The [`OtpStore`] cases. Each takes a future of a fresh, empty store.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::store::{
    CodeRecord, ConsumeOutcome, IssueOutcome, NewCode, Proof, Refusal, VerifyOutcome,
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

fn new_code(byte: u8) -> NewCode {
    NewCode {
        otp_id: OtpId::generate(),
        digest: digest(byte),
        user_id: Some(UserId("1".into())),
        lang: Lang::Id,
    }
}

fn stand_in() -> NewCode {
    NewCode {
        user_id: None,
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
    store
        .verify(phone, &digest(byte), &digest(TOKEN), now, rules)
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
    store
        .consume(phone, proof, now, rules)
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

/// The right code verifies, and verifies again if repeated.
pub async fn issued_code_verifies<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    let id = issued(&store, &phone(1), RIGHT, now, &r).await;
    assert_eq!(
        verify(&store, &phone(1), RIGHT, now, &r).await,
        VerifyOutcome::Verified { otp_id: id }
    );
    assert_eq!(
        verify(&store, &phone(1), RIGHT, now.plus(SECOND), &r).await,
        VerifyOutcome::Verified { otp_id: id }
    );
}

/// Each wrong guess reports the attempts left; after the last, even the right code is refused.
pub async fn wrong_guesses_count_down_the_attempts<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    for (guess, left) in (1..=r.max_attempts).zip((0..r.max_attempts).rev()) {
        assert_eq!(
            verify(&store, &phone(1), WRONG, now, &r).await,
            VerifyOutcome::Mismatch {
                attempts_left: left,
                consecutive_failures: guess
            },
        );
    }
    assert_eq!(
        verify(&store, &phone(1), RIGHT, now, &r).await,
        VerifyOutcome::AttemptsExhausted
    );
    assert_eq!(
        verify(&store, &phone(1), WRONG, now, &r).await,
        VerifyOutcome::AttemptsExhausted
    );
}

/// 50 wrong guesses at once: exactly `max_attempts` are counted, each attempts-left value is
/// reported once, and the code is used up afterwards.
pub async fn concurrent_wrong_guesses_never_exceed_the_limit<O: OtpStore>(
    make: impl Future<Output = O>,
) {
    let (store, r, now) = (Arc::new(make.await), rules(), t0());
    issued(&*store, &phone(1), RIGHT, now, &r).await;
    let outcomes = race(&store, 50, move |store, _| async move {
        verify(&*store, &phone(1), WRONG, now, &r).await
    })
    .await;
    let mut left_seen = Vec::new();
    let mut exhausted = 0;
    for outcome in outcomes {
        match outcome {
            VerifyOutcome::Mismatch { attempts_left, .. } => left_seen.push(attempts_left),
            VerifyOutcome::AttemptsExhausted => exhausted += 1,
            other => panic!("unexpected outcome of a wrong guess: {other:?}"),
        }
    }
    left_seen.sort_unstable();
    let expected: Vec<u32> = (0..r.max_attempts).collect();
    assert_eq!(
        left_seen, expected,
        "each attempts-left value must be reported exactly once"
    );
    assert_eq!(exhausted, 50 - r.max_attempts as usize);
    assert_eq!(
        verify(&*store, &phone(1), RIGHT, now, &r).await,
        VerifyOutcome::AttemptsExhausted
    );
}

/// 20 right guesses at once all verify and none is counted as a failure.
pub async fn concurrent_right_guesses_all_verify<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (Arc::new(make.await), rules(), t0());
    let id = issued(&*store, &phone(1), RIGHT, now, &r).await;
    let outcomes = race(&store, 20, move |store, _| async move {
        verify(&*store, &phone(1), RIGHT, now, &r).await
    })
    .await;
    assert!(
        outcomes
            .iter()
            .all(|&o| o == VerifyOutcome::Verified { otp_id: id }),
        "{outcomes:?}"
    );
}

/// 20 consumptions of one verified code at once: exactly one succeeds.
pub async fn verified_code_is_consumed_exactly_once_under_concurrency<O: OtpStore>(
    make: impl Future<Output = O>,
) {
    let (store, r, now) = (Arc::new(make.await), rules(), t0());
    let id = issued(&*store, &phone(1), RIGHT, now, &r).await;
    verify(&*store, &phone(1), RIGHT, now, &r).await;
    let outcomes = race(&store, 20, move |store, _| async move {
        consume(&*store, &phone(1), Proof::Code(digest(RIGHT)), now, &r).await
    })
    .await;
    let mut consumed = 0;
    for outcome in outcomes {
        match outcome {
            ConsumeOutcome::Consumed(record) => {
                assert_eq!(record.otp_id, id);
                consumed += 1;
            }
            ConsumeOutcome::NoCode => {}
            other => panic!("a losing consumption must find no code, found {other:?}"),
        }
    }
    assert_eq!(consumed, 1, "exactly one consumption must succeed");
    assert_eq!(
        verify(&*store, &phone(1), RIGHT, now, &r).await,
        VerifyOutcome::NoCode
    );
}

/// The reset token attached at verification proves like the code; a wrong token is a guess.
pub async fn reset_token_proves_like_the_code<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    assert!(
        matches!(
            consume(&store, &phone(1), Proof::ResetToken(digest(TOKEN)), now, &r).await,
            ConsumeOutcome::Mismatch { .. }
        ),
        "a token before verification proves nothing"
    );
    verify(&store, &phone(1), RIGHT, now, &r).await;
    assert!(matches!(
        consume(&store, &phone(1), Proof::ResetToken(digest(WRONG)), now, &r).await,
        ConsumeOutcome::Mismatch {
            attempts_left: 1,
            ..
        }
    ));
    assert!(matches!(
        consume(&store, &phone(1), Proof::ResetToken(digest(TOKEN)), now, &r).await,
        ConsumeOutcome::Consumed(_)
    ));
}

/// The right code that was never verified does not reset, and stays usable.
pub async fn consume_needs_a_verified_code<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    assert_eq!(
        consume(&store, &phone(1), Proof::Code(digest(RIGHT)), now, &r).await,
        ConsumeOutcome::NotVerified
    );
    assert!(matches!(
        verify(&store, &phone(1), RIGHT, now, &r).await,
        VerifyOutcome::Verified { .. }
    ));
    consume_once(&store, now, &r).await;
}

/// Guessing at reset time is counted like guessing at verification, so it is no way around the
/// attempt limit.
pub async fn wrong_proof_at_consume_counts_as_a_guess<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    verify(&store, &phone(1), RIGHT, now, &r).await;
    for _ in 0..r.max_attempts {
        assert!(matches!(
            consume(&store, &phone(1), Proof::Code(digest(WRONG)), now, &r).await,
            ConsumeOutcome::Mismatch { .. }
        ));
    }
    assert_eq!(
        consume(&store, &phone(1), Proof::Code(digest(RIGHT)), now, &r).await,
        ConsumeOutcome::AttemptsExhausted
    );
}

/// A code is accepted until its lifetime ends and refused from then on.
pub async fn expired_code_is_refused<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    let last_moment = now.plus(r.code_ttl - Duration::from_millis(1));
    let expiry = now.plus(r.code_ttl);
    assert!(matches!(
        verify(&store, &phone(1), RIGHT, last_moment, &r).await,
        VerifyOutcome::Verified { .. }
    ));
    assert_eq!(
        verify(&store, &phone(1), RIGHT, expiry, &r).await,
        VerifyOutcome::Expired
    );
    assert_eq!(
        verify(&store, &phone(1), WRONG, expiry, &r).await,
        VerifyOutcome::Expired
    );
    assert_eq!(
        consume(&store, &phone(1), Proof::Code(digest(RIGHT)), expiry, &r).await,
        ConsumeOutcome::Expired
    );
}

/// A second code within the cooldown is refused with the time left; after it, the new code
/// replaces the old one.
pub async fn cooldown_refuses_then_a_new_code_replaces_the_old<O: OtpStore>(
    make: impl Future<Output = O>,
) {
    let (store, r, now) = (make.await, rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    assert_eq!(
        issue(&store, &phone(1), new_code(WRONG), now.plus(SECOND), &r).await,
        IssueOutcome::Refused(Refusal::Cooldown {
            retry_after: r.resend_cooldown - SECOND
        })
    );
    let later = now.plus(r.resend_cooldown);
    let new_id = issued(&store, &phone(1), WRONG, later, &r).await;
    assert!(
        matches!(
            verify(&store, &phone(1), RIGHT, later, &r).await,
            VerifyOutcome::Mismatch { .. }
        ),
        "the old code is gone"
    );
    assert_eq!(
        verify(&store, &phone(1), WRONG, later, &r).await,
        VerifyOutcome::Verified { otp_id: new_id }
    );
}

/// 20 requests for one phone at once: exactly one code is issued, the rest wait the cooldown.
pub async fn concurrent_issues_for_one_phone_issue_once<O: OtpStore>(
    make: impl Future<Output = O>,
) {
    let (store, r, now) = (Arc::new(make.await), rules(), t0());
    let outcomes = race(&store, 20, move |store, i| async move {
        (
            i,
            issue(&*store, &phone(1), new_code(10 + i), now, &r).await,
        )
    })
    .await;
    let mut winners = Vec::new();
    for (i, outcome) in outcomes {
        match outcome {
            IssueOutcome::Issued => winners.push(i),
            IssueOutcome::Refused(Refusal::Cooldown { .. }) => {}
            other => panic!("a losing request must hit the cooldown, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one code must be issued");
    assert!(
        matches!(
            verify(&*store, &phone(1), 10 + winners[0], now, &r).await,
            VerifyOutcome::Verified { .. }
        ),
        "the issued code is the winner's"
    );
}

/// At most `max_sends_per_window` codes in any window; the next waits for the oldest to leave it.
pub async fn send_cap_limits_codes_per_window<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, start) = (make.await, rules(), t0());
    let mut now = start;
    for _ in 0..r.max_sends_per_window {
        issued(&store, &phone(1), RIGHT, now, &r).await;
        now = now.plus(r.resend_cooldown);
    }
    assert_eq!(
        issue(&store, &phone(1), new_code(RIGHT), now, &r).await,
        IssueOutcome::Refused(Refusal::SendCap {
            retry_after: now.until(start.plus(r.send_window))
        })
    );
    issued(&store, &phone(1), RIGHT, start.plus(r.send_window), &r).await;
}

fn strict_rules() -> OtpRules {
    OtpRules {
        lockout_threshold: 4,
        ..OtpRules::DEFAULT
    }
}

/// Failures count per phone across codes: a new code does not reset them, and at the
/// threshold the phone gets no new code until the lockout ends.
pub async fn failures_survive_a_new_code_and_lock_the_phone<O: OtpStore>(
    make: impl Future<Output = O>,
) {
    let (store, r, mut now) = (make.await, strict_rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    for _ in 0..3 {
        verify(&store, &phone(1), WRONG, now, &r).await;
    }
    now = now.plus(r.resend_cooldown);
    issued(&store, &phone(1), RIGHT, now, &r).await;
    assert_eq!(
        verify(&store, &phone(1), WRONG, now, &r).await,
        VerifyOutcome::Mismatch {
            attempts_left: 2,
            consecutive_failures: 4
        },
        "the fourth failure in a row counts across codes"
    );
    let later = now.plus(r.resend_cooldown);
    assert_eq!(
        issue(&store, &phone(1), new_code(RIGHT), later, &r).await,
        IssueOutcome::Refused(Refusal::LockedOut {
            retry_after: later.until(now.plus(r.lockout_base))
        })
    );
    issued(&store, &phone(1), RIGHT, now.plus(r.lockout_base), &r).await;
}

/// Each failure past the threshold doubles the lockout.
pub async fn lockout_grows_with_further_failures<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, mut at) = (make.await, strict_rules(), t0());
    let mut last_failure = at;
    for _ in 0..2 {
        issued(&store, &phone(1), RIGHT, at, &r).await;
        for _ in 0..3 {
            verify(&store, &phone(1), WRONG, at, &r).await;
        }
        last_failure = at;
        at = at.plus(r.resend_cooldown);
    }
    // Six failures in a row, two past the threshold of four: four times the base lockout.
    let probe = last_failure.plus(r.lockout_base);
    assert_eq!(
        issue(&store, &phone(1), new_code(RIGHT), probe, &r).await,
        IssueOutcome::Refused(Refusal::LockedOut {
            retry_after: r.lockout_base * 3
        })
    );
    issued(
        &store,
        &phone(1),
        RIGHT,
        last_failure.plus(r.lockout_base * 4),
        &r,
    )
    .await;
}

/// The right code resets the phone's failures.
pub async fn success_resets_the_failures<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, strict_rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    verify(&store, &phone(1), WRONG, now, &r).await;
    verify(&store, &phone(1), WRONG, now, &r).await;
    verify(&store, &phone(1), RIGHT, now, &r).await;
    let later = now.plus(r.resend_cooldown);
    issued(&store, &phone(1), RIGHT, later, &r).await;
    assert_eq!(
        verify(&store, &phone(1), WRONG, later, &r).await,
        VerifyOutcome::Mismatch {
            attempts_left: 2,
            consecutive_failures: 1
        }
    );
}

/// The consumed record names the user the code was issued for and its language.
pub async fn consumed_record_names_its_user_and_language<O: OtpStore>(
    make: impl Future<Output = O>,
) {
    let (store, r, now) = (make.await, rules(), t0());
    let code = NewCode {
        lang: Lang::En,
        ..new_code(RIGHT)
    };
    assert_eq!(
        issue(&store, &phone(1), code.clone(), now, &r).await,
        IssueOutcome::Issued
    );
    let record = verify_and_consume(&store, now, &r).await;
    assert_eq!(record.otp_id, code.otp_id);
    assert_eq!(record.user_id, code.user_id);
    assert_eq!(record.lang, Lang::En);
    assert_eq!(record.issued_at, now);
    assert_eq!(record.expires_at, now.plus(r.code_ttl));
}

/// A stand-in for a pair that matches no user is limited and replaced exactly like a real code.
pub async fn stand_in_counts_like_a_real_code<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    assert_eq!(
        issue(&store, &phone(1), stand_in(), now, &r).await,
        IssueOutcome::Issued
    );
    assert!(matches!(
        issue(&store, &phone(1), new_code(RIGHT), now.plus(SECOND), &r).await,
        IssueOutcome::Refused(Refusal::Cooldown { .. })
    ));
    assert!(matches!(
        verify(&store, &phone(1), RIGHT, now, &r).await,
        VerifyOutcome::Mismatch {
            attempts_left: 2,
            ..
        }
    ));
    let later = now.plus(r.resend_cooldown);
    let id = issued(&store, &phone(1), RIGHT, later, &r).await;
    assert_eq!(
        verify(&store, &phone(1), RIGHT, later, &r).await,
        VerifyOutcome::Verified { otp_id: id },
        "a real code replaces a stand-in"
    );
}

/// Purging removes expired codes and keeps live ones.
pub async fn purge_removes_expired_codes_only<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    let later = now.plus(r.code_ttl - r.resend_cooldown);
    let live = issued(&store, &phone(2), RIGHT, later, &r).await;
    let purge_time = now.plus(r.code_ttl);
    let purged = store
        .purge_expired(purge_time, &r)
        .await
        .unwrap_or_else(|e| panic!("purge failed: {e}"));
    assert_eq!(purged, 1);
    assert_eq!(
        verify(&store, &phone(1), RIGHT, purge_time, &r).await,
        VerifyOutcome::NoCode
    );
    assert_eq!(
        verify(&store, &phone(2), RIGHT, purge_time, &r).await,
        VerifyOutcome::Verified { otp_id: live }
    );
}

/// A consumed code restored after a failed reset can be consumed again, once.
pub async fn restore_puts_back_a_consumed_code_once<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    let record = verify_and_consume(&store, now, &r).await;
    let restored = store
        .restore(&phone(1), record, now)
        .await
        .unwrap_or_else(|e| panic!("restore failed: {e}"));
    assert!(restored);
    consume_once(&store, now, &r).await;
}

/// Restoring never replaces a code issued after the consumption.
pub async fn restore_never_replaces_a_newer_code<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    let record = verify_and_consume(&store, now, &r).await;
    let later = now.plus(r.resend_cooldown);
    let newer = issued(&store, &phone(1), WRONG, later, &r).await;
    let restored = store
        .restore(&phone(1), record, later)
        .await
        .unwrap_or_else(|e| panic!("restore failed: {e}"));
    assert!(!restored);
    assert_eq!(
        verify(&store, &phone(1), WRONG, later, &r).await,
        VerifyOutcome::Verified { otp_id: newer }
    );
}

/// Codes, attempts and limits of one phone never touch another's.
pub async fn phones_are_independent<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    let mut ids = HashMap::new();
    for n in 1..=3 {
        ids.insert(n, issued(&store, &phone(n), RIGHT, now, &r).await);
    }
    for _ in 0..r.max_attempts {
        verify(&store, &phone(1), WRONG, now, &r).await;
    }
    assert_eq!(
        verify(&store, &phone(1), RIGHT, now, &r).await,
        VerifyOutcome::AttemptsExhausted
    );
    for n in 2..=3 {
        assert_eq!(
            verify(&store, &phone(n), RIGHT, now, &r).await,
            VerifyOutcome::Verified { otp_id: ids[&n] }
        );
    }
    assert_eq!(
        verify(&store, &phone(4), RIGHT, now, &r).await,
        VerifyOutcome::NoCode
    );
}
