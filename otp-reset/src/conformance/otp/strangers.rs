//! Stand-ins and strangers: made-up pairs and other clients never touch the user's code.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use super::{
    RIGHT, SECOND, TOKEN, WRONG, consume, consume_by, digest, issue, issued, new_code, phone, race,
    rules, stand_in, stranger, t0, verify, verify_by,
};
use crate::store::{
    ClientKey, ConsumeOutcome, IssueOutcome, NewCode, Proof, Refusal, VerifyOutcome,
};
use crate::{OtpRules, OtpStore, PhoneNumber, Timestamp};

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
