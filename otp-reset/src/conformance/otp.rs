//! The [`OtpStore`] cases. Each takes a future of a fresh, empty store.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::store::{
    ClientKey, CodeRecord, ConsumeOutcome, IssueOutcome, NewCode, PairKey, Proof, Refusal,
    VerifyOutcome,
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

/// 30 wrong guesses at once from one client: exactly `max_attempts` are counted on the code,
/// each attempts-left value is reported once, and the code is used up for that client.
pub async fn concurrent_wrong_guesses_never_exceed_the_limit<O: OtpStore>(
    make: impl Future<Output = O>,
) {
    let (store, r, now) = (Arc::new(make.await), rules(), t0());
    issued(&*store, &phone(1), RIGHT, now, &r).await;
    let outcomes = race(&store, 30, move |store, _| async move {
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
    assert_eq!(exhausted, 30 - r.max_attempts as usize);
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

/// While the phone is locked out no guess is taken; each failure after the lockout ends
/// doubles the next one.
pub async fn lockout_grows_with_further_failures<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, start) = (make.await, strict_rules(), t0());
    issued(&store, &phone(1), RIGHT, start, &r).await;
    for n in 0..4 {
        verify_by(&store, stranger(n), &phone(1), WRONG, start, &r).await;
    }
    assert_eq!(
        verify_by(
            &store,
            stranger(9),
            &phone(1),
            WRONG,
            start.plus(SECOND),
            &r
        )
        .await,
        VerifyOutcome::LockedOut {
            retry_after: r.lockout_base - SECOND
        },
        "a locked phone takes no guess"
    );
    let after = start.plus(r.lockout_base);
    issued(&store, &phone(1), RIGHT, after, &r).await;
    assert!(matches!(
        verify_by(&store, stranger(9), &phone(1), WRONG, after, &r).await,
        VerifyOutcome::Mismatch {
            consecutive_failures: 5,
            ..
        }
    ));
    let probe = after.plus(r.lockout_base);
    assert_eq!(
        issue(&store, &phone(1), new_code(RIGHT), probe, &r).await,
        IssueOutcome::Refused(Refusal::LockedOut {
            retry_after: r.lockout_base
        }),
        "one failure past the threshold: twice the base"
    );
    issued(&store, &phone(1), RIGHT, after.plus(r.lockout_base * 2), &r).await;
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

/// A stand-in never replaces, expires or limits the user's code: the user's right code still
/// verifies, and the user's own cooldown and sends are counted from the user's codes alone.
pub async fn stand_in_never_touches_the_users_code<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    let id = issued(&store, &phone(1), RIGHT, now, &r).await;
    let mut at = now.plus(SECOND);
    for pair in 2..2 + u64::from(r.max_sends_per_window) + 1 {
        assert_eq!(
            issue(&store, &phone(1), stand_in(pair), at, &r).await,
            IssueOutcome::Issued,
            "each made-up pair has its own limits"
        );
        at = at.plus(SECOND);
    }
    assert_eq!(
        issue(&store, &phone(1), new_code(RIGHT), at, &r).await,
        IssueOutcome::Refused(Refusal::Cooldown {
            retry_after: r.resend_cooldown - now.until(at)
        }),
        "the user's cooldown runs from the user's own code"
    );
    assert_eq!(
        verify(&store, &phone(1), RIGHT, at, &r).await,
        VerifyOutcome::Verified { otp_id: id },
        "the user's right code verifies whatever strangers asked for since"
    );
    let later = now.plus(r.resend_cooldown);
    issued(&store, &phone(1), RIGHT, later, &r).await;
}

/// A stand-in is limited per pair exactly as a real code is per user: the same cooldown, the
/// same send cap, answered with the same waits.
pub async fn stand_in_is_limited_per_pair_like_a_user<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, start) = (make.await, rules(), t0());
    let script = |code: fn() -> NewCode, phone: PhoneNumber| {
        let store = &store;
        async move {
            let mut outcomes = Vec::new();
            let mut now = start;
            outcomes.push(issue(store, &phone, code(), now, &r).await);
            outcomes.push(issue(store, &phone, code(), now.plus(SECOND), &r).await);
            for _ in 1..r.max_sends_per_window {
                now = now.plus(r.resend_cooldown);
                outcomes.push(issue(store, &phone, code(), now, &r).await);
            }
            now = now.plus(r.resend_cooldown);
            outcomes.push(issue(store, &phone, code(), now, &r).await);
            outcomes.push(issue(store, &phone, code(), start.plus(r.send_window), &r).await);
            outcomes
        }
    };
    let real = script(|| new_code(RIGHT), phone(1)).await;
    let made_up = script(|| stand_in(2), phone(2)).await;
    assert_eq!(real, made_up);
    assert!(matches!(
        real[1],
        IssueOutcome::Refused(Refusal::Cooldown { .. })
    ));
    assert!(matches!(
        real[real.len() - 2],
        IssueOutcome::Refused(Refusal::SendCap { .. })
    ));
}

/// A guess that proves nothing is answered by the phone's newest code, real or stand-in, and
/// counted there; the user's right code verifies all the same.
pub async fn wrong_guesses_are_answered_by_the_newest_code<O: OtpStore>(
    make: impl Future<Output = O>,
) {
    let (store, r, now) = (make.await, rules(), t0());
    let id = issued(&store, &phone(1), RIGHT, now, &r).await;
    for left in [2, 1] {
        assert!(matches!(
            verify_by(&store, stranger(1), &phone(1), WRONG, now, &r).await,
            VerifyOutcome::Mismatch { attempts_left, .. } if attempts_left == left
        ));
    }
    let later = now.plus(SECOND);
    issue(&store, &phone(1), stand_in(2), later, &r).await;
    assert!(
        matches!(
            verify_by(&store, stranger(1), &phone(1), WRONG, later, &r).await,
            VerifyOutcome::Mismatch {
                attempts_left: 2,
                consecutive_failures: 3
            }
        ),
        "the newer stand-in answers, with its own attempts; the phone counts every failure"
    );
    assert_eq!(
        verify_by(&store, stranger(1), &phone(1), RIGHT, later, &r).await,
        VerifyOutcome::Mismatch {
            attempts_left: 1,
            consecutive_failures: 4
        },
        "a stranger who used up their guesses at the user's code gets none more at it, not even \
         the right one, and is answered by the newest code"
    );
    assert_eq!(
        verify(&store, &phone(1), RIGHT, later, &r).await,
        VerifyOutcome::Verified { otp_id: id }
    );
}

/// A stranger's wrong guesses use up the stranger's attempts, never the user's.
pub async fn a_strangers_guesses_never_use_up_the_users_attempts<O: OtpStore>(
    make: impl Future<Output = O>,
) {
    let (store, r, now) = (make.await, rules(), t0());
    let id = issued(&store, &phone(1), RIGHT, now, &r).await;
    for _ in 0..r.max_attempts {
        verify_by(&store, stranger(1), &phone(1), WRONG, now, &r).await;
    }
    assert_eq!(
        verify_by(&store, stranger(1), &phone(1), RIGHT, now, &r).await,
        VerifyOutcome::AttemptsExhausted
    );
    assert!(matches!(
        verify(&store, &phone(1), WRONG, now, &r).await,
        VerifyOutcome::Mismatch {
            attempts_left: 2,
            ..
        }
    ));
    assert_eq!(
        verify(&store, &phone(1), RIGHT, now, &r).await,
        VerifyOutcome::Verified { otp_id: id }
    );
}

/// Once a code is verified, no wrong guess (at verification or at reset, by code or by token)
/// revokes the reset token handed out.
pub async fn no_guess_revokes_a_reset_token<O: OtpStore>(make: impl Future<Output = O>) {
    let (store, r, now) = (make.await, rules(), t0());
    let id = issued(&store, &phone(1), RIGHT, now, &r).await;
    verify(&store, &phone(1), RIGHT, now, &r).await;
    for n in 1..=3 {
        for _ in 0..r.max_attempts {
            verify_by(&store, stranger(n), &phone(1), WRONG, now, &r).await;
            consume_by(
                &store,
                stranger(n),
                &phone(1),
                Proof::Code(digest(WRONG)),
                now,
                &r,
            )
            .await;
            let token = Proof::ResetToken(digest(WRONG));
            consume_by(&store, stranger(n), &phone(1), token, now, &r).await;
        }
    }
    match consume(&store, &phone(1), Proof::ResetToken(digest(TOKEN)), now, &r).await {
        ConsumeOutcome::Consumed(record) => assert_eq!(record.otp_id, id),
        other => panic!("the reset token must still be good, got {other:?}"),
    }
}

/// The lockout counts every client's failures on the phone, refuses guesses and new codes
/// alike, and still takes a reset token handed out before it.
pub async fn lockout_counts_every_client_and_spares_a_reset_token<O: OtpStore>(
    make: impl Future<Output = O>,
) {
    let (store, r, now) = (make.await, strict_rules(), t0());
    issued(&store, &phone(1), RIGHT, now, &r).await;
    verify(&store, &phone(1), RIGHT, now, &r).await;
    for n in 0..r.lockout_threshold {
        let client = stranger(u64::from(n % 2));
        verify_by(&store, client, &phone(1), WRONG, now, &r).await;
    }
    let locked = VerifyOutcome::LockedOut {
        retry_after: r.lockout_base,
    };
    assert_eq!(
        verify_by(&store, stranger(7), &phone(1), WRONG, now, &r).await,
        locked
    );
    assert_eq!(verify(&store, &phone(1), RIGHT, now, &r).await, locked);
    assert!(matches!(
        issue(
            &store,
            &phone(1),
            new_code(RIGHT),
            now.plus(r.resend_cooldown),
            &r
        )
        .await,
        IssueOutcome::Refused(Refusal::LockedOut { .. })
    ));
    assert!(matches!(
        consume(&store, &phone(1), Proof::ResetToken(digest(TOKEN)), now, &r).await,
        ConsumeOutcome::Consumed(_)
    ));
}

/// Ten clients guessing at once: each gets exactly its own attempts, and the phone counts
/// every failure once.
pub async fn concurrent_guesses_count_per_client<O: OtpStore>(make: impl Future<Output = O>) {
    let r = OtpRules {
        lockout_threshold: 1000,
        ..OtpRules::DEFAULT
    };
    let (store, now) = (Arc::new(make.await), t0());
    issued(&*store, &phone(1), RIGHT, now, &r).await;
    let outcomes = race(&store, 50, move |store, i| async move {
        let client = stranger(u64::from(i % 10));
        (
            client,
            verify_by(&*store, client, &phone(1), WRONG, now, &r).await,
        )
    })
    .await;
    let mut left_by_client: HashMap<ClientKey, Vec<u32>> = HashMap::new();
    let mut failures = Vec::new();
    for (client, outcome) in outcomes {
        match outcome {
            VerifyOutcome::Mismatch {
                attempts_left,
                consecutive_failures,
            } => {
                left_by_client
                    .entry(client)
                    .or_default()
                    .push(attempts_left);
                failures.push(consecutive_failures);
            }
            VerifyOutcome::AttemptsExhausted => {}
            other => panic!("unexpected outcome of a wrong guess: {other:?}"),
        }
    }
    assert_eq!(left_by_client.len(), 10);
    for (client, mut left) in left_by_client {
        left.sort_unstable();
        assert_eq!(left, vec![0, 1, 2], "client {client:?}");
    }
    failures.sort_unstable();
    failures.dedup();
    assert_eq!(
        failures.len(),
        30,
        "each counted failure has its own number"
    );
    assert_eq!(
        verify(&*store, &phone(1), WRONG, now, &r).await,
        VerifyOutcome::Mismatch {
            attempts_left: 2,
            consecutive_failures: 51
        },
        "the user still has every attempt; the phone counted all fifty guesses"
    );
}

/// Whatever a stranger plays on a number (codes asked for under several names, guesses,
/// waits, expiry, purges), a real pair and a made-up one give the same outcomes.
pub async fn stand_ins_and_real_codes_answer_alike<O: OtpStore>(make: impl Future<Output = O>) {
    let store = make.await;
    let start = t0();
    let play = |phone: PhoneNumber, first: NewCode| {
        let store = &store;
        async move {
            let r = rules();
            let mut seen = Vec::new();
            let mut now = start;
            let guess = |now: Timestamp| verify_by(store, stranger(1), &phone, WRONG, now, &r);
            seen.push(format!("{:?}", issue(store, &phone, first, now, &r).await));
            seen.push(format!("{:?}", guess(now).await));
            seen.push(format!("{:?}", guess(now).await));
            now = now.plus(SECOND);
            seen.push(format!(
                "{:?}",
                issue(store, &phone, stand_in(7), now, &r).await
            ));
            seen.push(format!("{:?}", guess(now).await));
            now = now.plus(r.resend_cooldown);
            seen.push(format!(
                "{:?}",
                issue(store, &phone, stand_in(8), now, &r).await
            ));
            for _ in 0..4 {
                seen.push(format!("{:?}", guess(now).await));
            }
            now = now.plus(r.code_ttl);
            seen.push(format!("{:?}", guess(now).await));
            let purged = store
                .purge_expired(now, &r)
                .await
                .unwrap_or_else(|e| panic!("purge failed: {e}"));
            seen.push(format!("purged {purged}"));
            seen.push(format!("{:?}", guess(now).await));
            seen.push(format!(
                "{:?}",
                issue(store, &phone, stand_in(8), now, &r).await
            ));
            seen
        }
    };
    let real = play(phone(1), new_code(RIGHT)).await;
    let made_up = play(phone(2), stand_in(2)).await;
    assert_eq!(real, made_up);
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
