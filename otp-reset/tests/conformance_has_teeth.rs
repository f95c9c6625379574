//! The conformance suite catches a store that is not atomic: a store that reads a phone's
//! ledger, waits, and writes it back loses counted attempts and consumes a code twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Mutex;

use otp_reset::conformance::{otp, run};
use otp_reset::store::{PhoneRecords, StandIns};
use otp_reset::{
    ClientKey, CodeRecord, ConsumeOutcome, Digest, IssueOutcome, NewCode, OtpRules, OtpStore,
    PhoneLedger, PhoneNumber, Proof, StoreError, Timestamp, VerifyOutcome,
};

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

impl OtpStore for RacyStore {
    async fn issue(
        &self,
        phone: &PhoneNumber,
        code: NewCode,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<IssueOutcome, StoreError> {
        Ok(self.step(phone, |mut p| p.issue(code, now, rules)).await)
    }
    async fn verify(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        candidate: &Digest,
        token: &Digest,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<VerifyOutcome, StoreError> {
        Ok(self
            .step(phone, |mut p| {
                p.verify(client, candidate, token, now, rules)
            })
            .await)
    }
    async fn consume(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        proof: Proof,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<ConsumeOutcome, StoreError> {
        Ok(self
            .step(phone, |mut p| p.consume(client, proof, now, rules))
            .await)
    }
    async fn restore(
        &self,
        phone: &PhoneNumber,
        record: CodeRecord,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self.step(phone, |p| p.ledger.restore(record, now)).await)
    }
    async fn purge_expired(&self, _: Timestamp, _: &OtpRules) -> Result<usize, StoreError> {
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
