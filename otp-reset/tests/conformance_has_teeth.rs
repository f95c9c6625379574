//! The conformance suite catches a store that is not atomic: a store that reads a phone's
//! ledger, waits, and writes it back loses counted attempts and consumes a code twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Mutex;

use otp_reset::conformance::{otp, run};
use otp_reset::store::{LedgerStore, PhoneRecords, StandIns};
use otp_reset::{OtpRules, PhoneLedger, PhoneNumber, StoreError, Timestamp};

/// Read, wait, modify, write: the classic lost update.
#[derive(Debug, Default)]
struct RacyStore {
    ledgers: Mutex<HashMap<PhoneNumber, (PhoneLedger, StandIns)>>,
}

impl RacyStore {
    async fn step<T>(&self, phone: &PhoneNumber, step: impl FnOnce(PhoneRecords<'_>) -> T) -> T {
        let (mut ledger, mut stand_ins) = self
            .ledgers
            .lock()
            .unwrap()
            .get(phone)
            .cloned()
            .unwrap_or_default();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let result = step(PhoneRecords {
            ledger: &mut ledger,
            stand_ins: &mut stand_ins,
        });
        self.ledgers
            .lock()
            .unwrap()
            .insert(*phone, (ledger, stand_ins));
        result
    }
}

impl LedgerStore for RacyStore {
    async fn with_ledger<T, F>(&self, phone: &PhoneNumber, step: F) -> Result<T, StoreError>
    where
        F: FnOnce(PhoneRecords<'_>) -> T + Send,
        T: Send,
    {
        Ok(self.step(phone, step).await)
    }

    async fn purge_ledgers(&self, _: Timestamp, _: &OtpRules) -> Result<usize, StoreError> {
        Ok(0)
    }
}

#[test]
#[should_panic(expected = "attempts-left value must be reported exactly once")]
fn lost_attempt_counts_are_caught() {
    run(otp::concurrent_wrong_guesses_never_exceed_the_limit(
        async { RacyStore::default() },
    ));
}

#[test]
#[should_panic(expected = "exactly one consumption must succeed")]
fn double_consumption_is_caught() {
    run(
        otp::verified_code_is_consumed_exactly_once_under_concurrency(async {
            RacyStore::default()
        }),
    );
}

#[test]
#[should_panic(expected = "exactly one code must be issued")]
fn double_issue_is_caught() {
    run(otp::concurrent_issues_for_one_phone_issue_once(async {
        RacyStore::default()
    }));
}
