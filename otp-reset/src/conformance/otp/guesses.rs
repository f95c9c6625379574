//! Guesses and attempts: the right code verifies, wrong ones count down, under concurrency too.

use std::future::Future;
use std::sync::Arc;

use super::{RIGHT, SECOND, WRONG, issued, phone, race, rules, t0, verify};
use crate::OtpStore;
use crate::store::VerifyOutcome;

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
