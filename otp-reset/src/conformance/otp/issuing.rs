//! Issuing and limits: expiry, cooldown, the send cap, purging, and phones kept apart.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::{
    RIGHT, SECOND, WRONG, consume, digest, issue, issued, new_code, phone, race, rules, t0, verify,
};
use crate::OtpStore;
use crate::store::{ConsumeOutcome, IssueOutcome, Proof, Refusal, VerifyOutcome};

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
