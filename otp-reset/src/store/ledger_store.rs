//! One adapter for stores that keep a [`PhoneLedger`](super::PhoneLedger) per phone: implement
//! [`LedgerStore`] once and get [`OtpStore`] for free.

use std::future::Future;

use super::{
    ClientKey, CodeRecord, ConsumeOutcome, IssueOutcome, NewCode, OtpStore, PhoneRecords, Proof,
    StoreError, VerifyOutcome,
};
use crate::{Digest, OtpRules, PhoneNumber, Timestamp};

/// A store that can run one step atomically on a phone's [`PhoneRecords`]; every such store is
/// an [`OtpStore`] through the blanket implementation, which runs the matching
/// [`PhoneRecords`] step for each [`OtpStore`] method.
///
/// # What an implementation must guarantee
///
/// - [`LedgerStore::with_ledger`] runs `step` **atomically per phone**: no other step on the
///   same phone runs between reading the phone's records and keeping what `step` left in them.
///   Steps on different phones may run in parallel.
/// - What `step` left is kept, and the result is returned only once it is as durable as the
///   store makes anything. A step that changed nothing may skip persisting, but a store whose
///   timing could tell a real pair from a made-up one (one that waits for a disk) makes a step
///   that changed only [`StandIns`](super::StandIns) wait as long as one that changed the
///   ledger (the JSON store appends a pad line for it).
/// - The phone's records start empty ([`PhoneLedger::default`](super::PhoneLedger) and
///   [`StandIns::default`](super::StandIns)) when the store has none, and a store may drop a
///   ledger or stand-ins once they are [`is_empty`](super::PhoneLedger::is_empty).
/// - [`LedgerStore::purge_ledgers`] applies [`PhoneLedger::purge`](super::PhoneLedger::purge)
///   and [`StandIns::purge`](super::StandIns::purge) to every phone, each phone atomically.
///
/// The conformance suite (feature `conformance`) checks all of this under concurrency.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// use otp_reset::store::{LedgerStore, PhoneRecords, StandIns};
/// use otp_reset::{OtpRules, OtpStore, PhoneLedger, PhoneNumber, StoreError, Timestamp};
///
/// /// Every phone behind one lock: atomic, if not fast.
/// #[derive(Default)]
/// struct OneLock(Mutex<HashMap<PhoneNumber, (PhoneLedger, StandIns)>>);
///
/// impl LedgerStore for OneLock {
///     async fn with_ledger<T, F>(&self, phone: &PhoneNumber, step: F) -> Result<T, StoreError>
///     where
///         F: FnOnce(PhoneRecords<'_>) -> T + Send,
///         T: Send,
///     {
///         let mut phones = self.0.lock().map_err(|_| StoreError::Corrupt("poisoned".into()))?;
///         let (ledger, stand_ins) = phones.entry(*phone).or_default();
///         Ok(step(PhoneRecords { ledger, stand_ins }))
///     }
///
///     async fn purge_ledgers(&self, now: Timestamp, rules: &OtpRules) -> Result<usize, StoreError> {
///         let mut phones = self.0.lock().map_err(|_| StoreError::Corrupt("poisoned".into()))?;
///         let mut purged = 0;
///         phones.retain(|_, (ledger, stand_ins)| {
///             purged += usize::from(ledger.purge(now, rules)) + stand_ins.purge(now, rules);
///             !(ledger.is_empty() && stand_ins.is_empty())
///         });
///         Ok(purged)
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = OneLock::default();
/// assert_eq!(store.purge_expired(Timestamp::from_millis(0), &OtpRules::DEFAULT).await?, 0);
/// # Ok::<(), StoreError>(())
/// # }).unwrap();
/// ```
pub trait LedgerStore: Send + Sync + 'static {
    /// Runs `step` on the phone's records atomically and returns its result once what it left
    /// is kept.
    fn with_ledger<T, F>(
        &self,
        phone: &PhoneNumber,
        step: F,
    ) -> impl Future<Output = Result<T, StoreError>> + Send
    where
        F: FnOnce(PhoneRecords<'_>) -> T + Send,
        T: Send;

    /// Purges every phone's ledger and stand-ins of what expired at `now`; returns how many
    /// codes went (real ones and stand-ins).
    fn purge_ledgers(
        &self,
        now: Timestamp,
        rules: &OtpRules,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

impl<S: LedgerStore> OtpStore for S {
    fn issue(
        &self,
        phone: &PhoneNumber,
        code: NewCode,
        now: Timestamp,
        rules: &OtpRules,
    ) -> impl Future<Output = Result<IssueOutcome, StoreError>> + Send {
        self.with_ledger(phone, move |mut records| records.issue(code, now, rules))
    }

    fn verify(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        candidate: &Digest,
        reset_token: &Digest,
        now: Timestamp,
        rules: &OtpRules,
    ) -> impl Future<Output = Result<VerifyOutcome, StoreError>> + Send {
        self.with_ledger(phone, move |mut records| {
            records.verify(client, candidate, reset_token, now, rules)
        })
    }

    fn consume(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        proof: Proof,
        now: Timestamp,
        rules: &OtpRules,
    ) -> impl Future<Output = Result<ConsumeOutcome, StoreError>> + Send {
        self.with_ledger(phone, move |mut records| {
            records.consume(client, proof, now, rules)
        })
    }

    fn restore(
        &self,
        phone: &PhoneNumber,
        record: CodeRecord,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.with_ledger(phone, move |mut records| records.restore(record, now))
    }

    fn purge_expired(
        &self,
        now: Timestamp,
        rules: &OtpRules,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        self.purge_ledgers(now, rules)
    }
}
