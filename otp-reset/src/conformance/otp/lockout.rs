//! Lockout: failures counted per phone across codes, and the lockout they lead to.

use std::future::Future;

use super::{
    RIGHT, SECOND, TOKEN, WRONG, consume, digest, issue, issued, new_code, phone, stranger, t0,
    verify, verify_by,
};
use crate::store::{ConsumeOutcome, IssueOutcome, Proof, Refusal, VerifyOutcome};
use crate::{OtpRules, OtpStore};

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
