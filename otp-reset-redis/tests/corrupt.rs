//! A phone key holding what the scripts cannot read gives `StoreError::Corrupt`, not a wrong
//! answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestStore, new_code, now, phone, redis_url};
use otp_reset::{ClientKey, Digest, OtpRules, OtpStore, StoreError};

#[tokio::test]
async fn an_unreadable_record_is_corrupt() {
    let test = TestStore::new().await;
    let mut conn = redis::Client::open(redis_url().as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let key = test.store.phone_key(&phone(1));
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("{not json")
        .query(&mut conn)
        .unwrap();
    let rules = OtpRules::DEFAULT;
    let issued = test
        .store
        .issue(&phone(1), new_code(1), now(), &rules)
        .await;
    assert!(matches!(issued, Err(StoreError::Corrupt(_))), "{issued:?}");
    let digest = Digest::from_bytes([1; 32]);
    let verified = test
        .store
        .verify(
            &phone(1),
            ClientKey::UNKNOWN,
            &digest,
            &digest,
            now(),
            &rules,
        )
        .await;
    assert!(
        matches!(verified, Err(StoreError::Corrupt(_))),
        "{verified:?}"
    );
    // Not an outage: the store still takes changes on other phones.
    assert!(test.store.failure().is_none());
}
