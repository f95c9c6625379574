//! Every phone key carries an expiry, and goes once nothing in it limits anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{TestStore, keys_with_pttl, new_code, now, phone};
use otp_reset::{IssueOutcome, OtpRules, OtpStore};

#[tokio::test]
async fn a_phone_key_expires_when_its_last_limit_ends() {
    let test = TestStore::new().await;
    let rules = OtpRules::DEFAULT;
    let issued = test
        .store
        .issue(&phone(1), new_code(1), now(), &rules)
        .await
        .unwrap();
    assert_eq!(issued, IssueOutcome::Issued);
    let keys = keys_with_pttl(&test.prefix);
    assert_eq!(keys.len(), 1, "{keys:?}");
    let (key, pttl) = &keys[0];
    assert_eq!(key, &test.store.phone_key(&phone(1)));
    // The send window (an hour) is the last limit, plus the margin.
    let longest = rules.send_window + Duration::from_secs(5);
    assert!(pttl > &0 && *pttl <= longest.as_millis() as i64, "{pttl}");
    assert!(
        *pttl > (rules.send_window.as_millis() as i64) - 10_000,
        "{pttl}"
    );
}

#[tokio::test]
async fn a_phone_key_disappears_by_itself() {
    let test = TestStore::with_options(|o| o.with_expiry_margin(Duration::from_millis(100))).await;
    let mut rules = OtpRules::DEFAULT;
    rules.code_ttl = Duration::from_millis(200);
    rules.resend_cooldown = Duration::from_millis(100);
    rules.send_window = Duration::from_millis(300);
    let issued = test
        .store
        .issue(&phone(1), new_code(1), now(), &rules)
        .await
        .unwrap();
    assert_eq!(issued, IssueOutcome::Issued);
    assert_eq!(keys_with_pttl(&test.prefix).len(), 1);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(keys_with_pttl(&test.prefix), vec![]);
}

#[tokio::test]
async fn a_purge_after_every_limit_ended_deletes_the_key() {
    let test = TestStore::new().await;
    let rules = OtpRules::DEFAULT;
    let start = now();
    test.store
        .issue(&phone(1), new_code(1), start, &rules)
        .await
        .unwrap();
    let later = start.plus(rules.send_window);
    assert_eq!(test.store.purge_expired(later, &rules).await.unwrap(), 1);
    assert_eq!(keys_with_pttl(&test.prefix), vec![]);
}
