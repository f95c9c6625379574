//! Stand-ins: the codes kept for name and phone pairs that match no user, apart from the
//! user's own, in a bounded cache.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use smallvec::SmallVec;

use super::ledger::{forget_stale_sends, send_refusal};
use super::{CodeRecord, IssueOutcome, PairKey};
use crate::{OtpRules, PhoneNumber, Timestamp};

/// The stand-ins of one phone: per pair that matched no user, its last code and its sends,
/// limited exactly as a real user's; and the failed guesses counted on them.
///
/// At most [`StandIns::MAX_PAIRS`] pairs per phone are kept; a further pair pushes out the one
/// least recently issued.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StandIns {
    pairs: SmallVec<[StandIn; 1]>,
    failures: u32,
    last_failure_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct StandIn {
    pair: PairKey,
    code: Option<CodeRecord>,
    recent_sends: SmallVec<[Timestamp; 2]>,
}

impl StandIns {
    /// Pairs kept per phone.
    pub const MAX_PAIRS: usize = 8;

    pub(super) fn issue(
        &mut self,
        pair: PairKey,
        record: CodeRecord,
        now: Timestamp,
        rules: &OtpRules,
    ) -> IssueOutcome {
        let index = match self.pairs.iter().position(|kept| kept.pair == pair) {
            Some(index) => index,
            None => {
                if self.pairs.len() >= Self::MAX_PAIRS
                    && let Some(oldest) = self.least_recently_issued()
                {
                    self.pairs.remove(oldest);
                }
                self.pairs.push(StandIn {
                    pair,
                    code: None,
                    recent_sends: SmallVec::new(),
                });
                self.pairs.len() - 1
            }
        };
        let stand_in = &mut self.pairs[index];
        if let Some(refusal) = send_refusal(&stand_in.recent_sends, now, rules) {
            return IssueOutcome::Refused(refusal);
        }
        stand_in.recent_sends.push(now);
        stand_in.code = Some(record);
        IssueOutcome::Issued
    }

    fn least_recently_issued(&self) -> Option<usize> {
        (0..self.pairs.len()).min_by_key(|&i| self.pairs[i].recent_sends.last().copied())
    }

    /// When the newest stand-in code was issued.
    pub(super) fn newest_issued(&self) -> Option<Timestamp> {
        self.pairs
            .iter()
            .filter_map(|stand_in| stand_in.code.as_ref().map(|code| code.issued_at))
            .max()
    }

    pub(super) fn newest_code(&mut self) -> Option<&mut CodeRecord> {
        self.pairs
            .iter_mut()
            .filter_map(|stand_in| stand_in.code.as_mut())
            .max_by_key(|code| code.issued_at)
    }

    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    pub(super) fn last_failure_at(&self) -> Option<Timestamp> {
        self.last_failure_at
    }

    pub(super) fn failures_mut(&mut self) -> (&mut u32, &mut Option<Timestamp>) {
        (&mut self.failures, &mut self.last_failure_at)
    }

    pub(super) fn forget_stale(&mut self, now: Timestamp, rules: &OtpRules) {
        for stand_in in &mut self.pairs {
            forget_stale_sends(&mut stand_in.recent_sends, now, rules);
        }
        if self
            .last_failure_at
            .is_some_and(|at| now >= at.plus(rules.lockout_max))
        {
            self.failures = 0;
            self.last_failure_at = None;
        }
    }

    /// Drops expired codes and what no longer limits anything, as
    /// [`PhoneLedger::purge`](super::PhoneLedger::purge) does for the real code; returns how
    /// many codes went.
    pub fn purge(&mut self, now: Timestamp, rules: &OtpRules) -> usize {
        self.forget_stale(now, rules);
        let mut purged = 0;
        for stand_in in &mut self.pairs {
            if stand_in
                .code
                .as_ref()
                .is_some_and(|code| now >= code.expires_at)
            {
                stand_in.code = None;
                purged += 1;
            }
        }
        self.pairs
            .retain(|stand_in| stand_in.code.is_some() || !stand_in.recent_sends.is_empty());
        purged
    }

    /// Whether nothing is left that limits or answers anything.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty() && self.failures == 0
    }
}

/// Every phone's [`StandIns`] in a cache of bounded size that evicts the least used phones
/// first, so a flood of made-up pairs costs a fixed amount of memory, never a growing one.
///
/// Stand-ins exist only so that a stranger cannot tell a wrong pair from a real one; evicting
/// one forgets a stranger's limits early and spoils nothing of a real user's. A store that
/// keeps its codes in this process holds one of these beside its
/// [`PhoneLedger`](super::PhoneLedger)s and runs each step under both locks, ledger first.
///
/// ```
/// use otp_reset::store::StandInCache;
///
/// let cache = StandInCache::new(10_000);
/// assert!(cache.is_empty());
/// ```
#[derive(Debug)]
pub struct StandInCache {
    phones: Mutex<quick_cache::unsync::Cache<PhoneNumber, StandIns>>,
    len: AtomicUsize,
}

impl StandInCache {
    /// The default number of phones kept: about 150 bytes each, so some 8 MB when full.
    pub const DEFAULT_CAPACITY: usize = 50_000;

    /// A cache of at most `phones` phones' stand-ins (at least 1).
    pub fn new(phones: usize) -> Self {
        Self {
            phones: Mutex::new(quick_cache::unsync::Cache::new(phones.max(1))),
            len: AtomicUsize::new(0),
        }
    }

    /// Runs `step` on the phone's stand-ins, kept afterwards unless they are empty.
    ///
    /// The caller holds the phone's ledger lock, which makes the step atomic for the phone;
    /// while no phone has stand-ins (the usual case), no lock of the cache's own is taken.
    pub fn step<T>(&self, phone: &PhoneNumber, step: impl FnOnce(&mut StandIns) -> T) -> T {
        if self.is_empty() {
            let mut stand_ins = StandIns::default();
            let result = step(&mut stand_ins);
            if !stand_ins.is_empty() {
                let mut phones = self.lock();
                phones.insert(*phone, stand_ins);
                self.len.store(phones.len(), Ordering::Relaxed);
            }
            return result;
        }
        let mut phones = self.lock();
        let result = match phones.get_mut(phone) {
            Some(mut stand_ins) => {
                let result = step(&mut stand_ins);
                let empty = stand_ins.is_empty();
                drop(stand_ins);
                if empty {
                    phones.remove(phone);
                }
                result
            }
            None => {
                let mut stand_ins = StandIns::default();
                let result = step(&mut stand_ins);
                if !stand_ins.is_empty() {
                    phones.insert(*phone, stand_ins);
                }
                result
            }
        };
        self.len.store(phones.len(), Ordering::Relaxed);
        result
    }

    /// Purges every phone's stand-ins; returns how many codes went.
    pub fn purge(&self, now: Timestamp, rules: &OtpRules) -> usize {
        let mut phones = self.lock();
        let keys: Vec<PhoneNumber> = phones.iter().map(|(phone, _)| *phone).collect();
        let mut purged = 0;
        for phone in keys {
            let Some(mut stand_ins) = phones.peek_mut(&phone) else {
                continue;
            };
            purged += stand_ins.purge(now, rules);
            let empty = stand_ins.is_empty();
            drop(stand_ins);
            if empty {
                phones.remove(&phone);
            }
        }
        self.len.store(phones.len(), Ordering::Relaxed);
        purged
    }

    /// How many phones have stand-ins.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether no phone has stand-ins.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, quick_cache::unsync::Cache<PhoneNumber, StandIns>> {
        self.phones.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for StandInCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}
