//! Consuming and tokens: single use, the reset token, guesses at reset time, restoring.

use std::future::Future;
use std::sync::Arc;

use super::{
    RIGHT, TOKEN, WRONG, consume, consume_once, digest, issue, issued, new_code, phone, race,
    rules, t0, verify, verify_and_consume,
};
use crate::store::{ConsumeOutcome, IssueOutcome, NewCode, Proof, VerifyOutcome};
use crate::{Lang, OtpStore};

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
