//! What a store keeps about one phone's real user.

use smallvec::SmallVec;

use super::CodeRecord;
use super::ledger::forget_stale_sends;
use crate::{OtpRules, Timestamp};

/// What a store keeps about one phone's real user: the code sent to them and the limits it
/// counts against.
///
/// A store keeps one per phone, next to the phone's [`StandIns`](super::StandIns);
/// [`PhoneRecords`](super::PhoneRecords) applies each step of the store contract to the pair.
/// An in-process store holds both behind a lock, which makes every step atomic per phone; a
/// database store implements the same steps in its own transaction or script. The conformance suite pins these semantics.
///
/// A store that persists ledgers reads one through its accessors and rebuilds it with
/// [`PhoneLedger::new`] and the setters:
///
/// ```
/// use otp_reset::{PhoneLedger, Timestamp};
///
/// let mut ledger = PhoneLedger::new(None);
/// ledger.set_recent_sends([Timestamp::from_millis(1_000), Timestamp::from_millis(2_000)]);
/// ledger.set_failures(3, Some(Timestamp::from_millis(2_500)));
/// assert_eq!(ledger.recent_sends().len(), 2);
/// assert_eq!(ledger.consecutive_failures(), 3);
/// assert!(ledger.code().is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhoneLedger {
    /// The active code, if any.
    pub(super) code: Option<CodeRecord>,
    /// When the codes within the current send window were issued, oldest first. Most phones
    /// have one or two, kept inline.
    pub(super) recent_sends: SmallVec<[Timestamp; 2]>,
    /// Failed guesses in a row on this phone's real code, across codes and clients.
    pub(super) consecutive_failures: u32,
    /// When the last of those failures happened.
    pub(super) last_failure_at: Option<Timestamp>,
}

impl PhoneLedger {
    /// A ledger holding `code`, with no sends and no failures counted.
    pub fn new(code: Option<CodeRecord>) -> Self {
        Self {
            code,
            ..Self::default()
        }
    }

    /// The active code, if any.
    pub fn code(&self) -> Option<&CodeRecord> {
        self.code.as_ref()
    }

    /// When the codes within the current send window were issued, oldest first.
    pub fn recent_sends(&self) -> &[Timestamp] {
        &self.recent_sends
    }

    /// Failed guesses in a row on this phone's real code, across codes and clients.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// When the last of the [`consecutive_failures`](Self::consecutive_failures) happened.
    pub fn last_failure_at(&self) -> Option<Timestamp> {
        self.last_failure_at
    }

    /// Replaces the active code.
    pub fn set_code(&mut self, code: Option<CodeRecord>) {
        self.code = code;
    }

    /// Replaces the send times, which must be oldest first.
    pub fn set_recent_sends(&mut self, sends: impl IntoIterator<Item = Timestamp>) {
        self.recent_sends = sends.into_iter().collect();
    }

    /// Replaces the failure count and when the last failure happened.
    pub fn set_failures(&mut self, consecutive_failures: u32, last_failure_at: Option<Timestamp>) {
        self.consecutive_failures = consecutive_failures;
        self.last_failure_at = last_failure_at;
    }

    /// [`OtpStore::restore`](super::OtpStore::restore) for this phone.
    pub fn restore(&mut self, record: CodeRecord, now: Timestamp) -> bool {
        let has_live_code = self.code.as_ref().is_some_and(|code| now < code.expires_at);
        if has_live_code || now >= record.expires_at {
            return false;
        }
        self.code = Some(record);
        true
    }

    /// Drops an expired code and counters that no longer limit anything, as
    /// [`OtpStore::purge_expired`](super::OtpStore::purge_expired) does for every phone.
    /// Returns whether a code was dropped.
    pub fn purge(&mut self, now: Timestamp, rules: &OtpRules) -> bool {
        self.forget_stale(now, rules);
        let expired = self
            .code
            .as_ref()
            .is_some_and(|code| now >= code.expires_at);
        if expired {
            self.code = None;
        }
        expired
    }

    /// Whether the ledger holds nothing that still limits the phone, so a store may drop it;
    /// meaningful right after [`PhoneLedger::purge`].
    pub fn is_empty(&self) -> bool {
        self.code.is_none() && self.recent_sends.is_empty() && self.consecutive_failures == 0
    }

    pub(super) fn forget_stale(&mut self, now: Timestamp, rules: &OtpRules) {
        forget_stale_sends(&mut self.recent_sends, now, rules);
        if self
            .last_failure_at
            .is_some_and(|at| now >= at.plus(rules.lockout_max))
        {
            self.consecutive_failures = 0;
            self.last_failure_at = None;
        }
    }
}
