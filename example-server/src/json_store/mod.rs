//! Users and codes in one JSON data file, in the seed's format, safe against crashes.
//!
//! # Design
//!
//! The file `data.json` is a snapshot; every change since it is a line in `data.json.journal`
//! beside it. A change is made in memory under one lock (which makes every store step atomic),
//! appended to the journal in the same critical section (so lines keep the order of the
//! changes), and acknowledged only once a writer thread has synced it. That thread writes every
//! line that arrived while it was busy in one `write` and one `fdatasync` (group commit), so a
//! verification attempt costs one appended line of a few hundred bytes, whatever the number of
//! users, and concurrent requests share a sync.
//!
//! In the background, and at shutdown, the journal is folded back into the snapshot: the new
//! snapshot is written to a temporary file, synced, renamed over `data.json` and the folder
//! synced, so `data.json` is whole, valid JSON at every instant and other tools of the site can
//! read it (at most a few seconds behind). Journal lines are absolute states (a phone's code and
//! counters, a user's password), so replaying a line the snapshot already holds changes nothing,
//! and no crash between the steps can lose or double anything. A torn last line (a crash
//! mid-write, never acknowledged) is ignored.
//!
//! At start, a journal a crash left is folded in at once (its torn tail must not stay where new
//! lines go); without one, `data.json` is left as it is: reading it again gives the same state,
//! so a start costs no rewrite. What the store writes differently (numbers as typed, plain-text
//! codes) is then folded in later, as a change waiting in the journal would be; plain-text
//! passwords are hashed in the background ([`JsonStore::upgrade_plain_passwords`]).
//!
//! A lock on `data.json.lock` keeps a second process off the same file. Every file the store
//! writes is owner-only (0600), and a data file or journal open to others is made so at open.
//!
//! # When the disk fails
//!
//! Faults are transient: the store recovers by itself, without a restart.
//!
//! - A fold that fails (no file handles left, a full disk) keeps the snapshot and every journal
//!   line, and is retried with backoff; changes go on being appended and acknowledged.
//! - An append or sync that fails puts the store in a fault: the changes of that batch are
//!   answered with an error (503, never acknowledged), every new change is refused before it
//!   touches memory ([`JsonStore::failure`] says why, and `/healthz` answers 503), and the
//!   journal retries in the background until the disk takes writes again; then changes are
//!   accepted again.
//! - The in-memory effect of a change whose line failed stays, unseen: a read returns only what
//!   is on disk, waiting for (or, during the fault, failing on) any line it depends on. The
//!   retry that ends the fault writes that line first, so memory and disk agree again from
//!   that moment. Its client was told it failed; as after any failed store write, its outcome
//!   is then "may have happened" (the service already keeps a code consumed once its reset's
//!   password write failed). A crash before the retry loses it, which nobody was told it was
//!   not.

/// Why a data file could not be opened.
mod backoff;
mod code_entry;
mod fold;
mod format;
mod journal;
mod open;
pub(crate) mod owner_only;
mod password_upgrade;
mod state;

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use otp_reset::store::{LedgerStore, PhoneRecords, StandInCache};
use otp_reset::{
    OtpRules, PhoneLedger, PhoneNumber, StoreError, Timestamp, User, UserId, UserStore,
};

use self::journal::{Journal, JournalPaths};
use self::state::State;

/// Why a data file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process has the data file open.
    #[error("{0} is in use by another process (remove nothing: stop the other server first)")]
    Locked(PathBuf),
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file is not the JSON the store expects.
    #[error("{path} is not a valid data file: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where and how it is malformed.
        source: serde_json::Error,
    },
}

/// A phone's code as an entry of the data file's `otps[]`, for tools that write data files
/// (such as the benchmarks' seeding).
pub fn ledger_json(phone: PhoneNumber, ledger: &PhoneLedger) -> Option<serde_json::Value> {
    serde_json::to_value(format::ledger_to_json(phone, ledger).0?).ok()
}

/// Users and codes in a JSON data file; implements both [`UserStore`] and, through
/// [`LedgerStore`], [`OtpStore`](otp_reset::OtpStore).
///
/// Cloning is cheap: clones share the file. [`JsonStore::close`] folds the journal in and
/// releases the file; dropping the last clone does the same.
#[derive(Clone, Debug)]
pub struct JsonStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<Guarded>,
    journal: Journal,
    data: PathBuf,
    journal_paths: JournalPaths,
    /// The data file's folder, held open so that syncing it needs no new file handle.
    dir: Arc<File>,
    compactor: Mutex<Option<std::thread::JoinHandle<()>>>,
    stop: Arc<Stop>,
    closed: AtomicBool,
    /// The size of the last snapshot written.
    snapshot_bytes: AtomicU64,
    /// `data.json` holds what the store writes differently (see [`State::load`]); folded in
    /// when a change would be.
    upgrade_pending: AtomicBool,
    /// How long after a change a small data file is rewritten with it.
    fold_delay_ms: AtomicU64,
    compacting: Mutex<()>,
    /// Stand-ins for made-up pairs: in memory only, bounded, never in the file.
    stand_ins: StandInCache,
    _lock: File,
}

/// Settings of a [`JsonStore`] beyond its file.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Phones whose stand-ins (codes for name and phone pairs that match no user) are kept in
    /// memory, least used evicted first (default [`StandInCache::DEFAULT_CAPACITY`]).
    pub stand_in_capacity: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            stand_in_capacity: StandInCache::DEFAULT_CAPACITY,
        }
    }
}

impl StoreOptions {
    /// Keeps stand-ins for at most `phones` phones.
    pub fn with_stand_in_capacity(mut self, phones: usize) -> Self {
        self.stand_in_capacity = phones;
        self
    }
}

/// Set to stop the compactor, which waits on it between looks.
type Stop = (Mutex<bool>, Condvar);

/// What the state lock guards.
#[derive(Debug)]
struct Guarded {
    state: State,
    /// Users whose last password line may not be on disk yet, with its number: a read of one
    /// waits for that line (and only that), so a fault of the disk leaves the others readable.
    unsettled: HashMap<UserId, u64>,
    /// The size at which `unsettled` is next pruned of lines that are on disk.
    prune_at: usize,
}

impl Guarded {
    fn new(state: State) -> Self {
        Self {
            state,
            unsettled: HashMap::new(),
            prune_at: 64,
        }
    }

    /// Notes that `id`'s password is in line `seq`.
    fn unsettle(&mut self, id: &UserId, seq: u64, durable: u64) {
        self.unsettled.insert(id.clone(), seq);
        if self.unsettled.len() >= self.prune_at {
            self.unsettled.retain(|_, line| *line > durable);
            self.prune_at = (self.unsettled.len() * 2).max(64);
        }
    }
}

fn unavailable(reason: &str) -> StoreError {
    StoreError::Unavailable(reason.to_owned().into())
}

impl JsonStore {
    /// Folds the journal into `data.json` now.
    pub fn compact(&self) -> std::io::Result<()> {
        self.inner.compact()
    }

    /// Folds the journal in and stops the background threads; what the server does on shutdown.
    /// Later calls on any clone fail.
    pub fn close(&self) -> std::io::Result<()> {
        self.inner.stop_compactor();
        let result = self.inner.compact();
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.journal.close();
        result
    }

    /// Why the store refuses changes right now: the data file cannot be written (an append or
    /// sync of the journal failed, such as on a full disk, and its retries have not succeeded
    /// yet), or the store is closed. `None` when changes are accepted; a fault ends by itself
    /// once the disk takes writes again.
    pub fn failure(&self) -> Option<String> {
        self.inner.journal.fault().map(|reason| reason.to_string())
    }

    /// How long after a change a small data file (under 8 MiB) is rewritten with the journal
    /// folded in (5 s unless set); larger files wait until their journal is half their size, or
    /// a minute (or this, if longer).
    pub fn set_fold_delay(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.inner.fold_delay_ms.store(millis, Ordering::Relaxed);
    }

    /// How many phones have stand-ins in memory (at most the capacity of [`StoreOptions`]).
    pub fn stand_in_phones(&self) -> usize {
        self.inner.stand_ins.len()
    }

    /// How many users the file holds.
    pub fn user_count(&self) -> usize {
        self.inner.lock().state.users.len()
    }

    /// Replaces a user's password with `phc` only if it is still `expected` (compare-and-set),
    /// durably. `Ok(false)` when no user has this id or the password changed meanwhile: an
    /// upgrade of an old password uses it so that it never overwrites a newer one.
    pub async fn replace_password_hash(
        &self,
        id: &UserId,
        expected: &str,
        phc: &str,
    ) -> Result<bool, StoreError> {
        let seq = {
            let mut guarded = self.inner.lock();
            self.refuse_if_faulted()?;
            let Some(entry) = guarded.state.replace_password(id, expected, phc) else {
                return Ok(false);
            };
            self.journal_password(&mut guarded, id, &entry)
        };
        self.durable(seq).await?;
        Ok(true)
    }

    /// Refuses a change while the journal cannot take it, before it touches memory.
    fn refuse_if_faulted(&self) -> Result<(), StoreError> {
        match self.inner.journal.fault() {
            Some(reason) => Err(unavailable(&reason)),
            None => Ok(()),
        }
    }

    fn journal_password(&self, guarded: &mut Guarded, id: &UserId, entry: &format::Entry) -> u64 {
        let seq = self.inner.journal.append(entry);
        guarded.unsettle(id, seq, self.inner.journal.durable_through());
        seq
    }

    /// Runs one step on a phone's records under the lock and journals the phone if its ledger
    /// changed, or a pad line if only its stand-ins did (a made-up pair's answer waits for a
    /// sync as a real pair's does, or its timing would tell them apart); returns the step's
    /// result once it is durable.
    async fn phone_step<T>(
        &self,
        phone: &PhoneNumber,
        step: impl FnOnce(PhoneRecords<'_>) -> T,
    ) -> Result<T, StoreError> {
        let (result, seq) = {
            let mut guarded = self.inner.lock();
            self.refuse_if_faulted()?;
            let mut stand_ins_changed = false;
            let (result, entry) = guarded.state.step(*phone, |ledger| {
                self.inner.stand_ins.step(phone, |stand_ins| {
                    let before = stand_ins.clone();
                    let result = step(PhoneRecords {
                        ledger,
                        stand_ins: &mut *stand_ins,
                    });
                    stand_ins_changed = *stand_ins != before;
                    result
                })
            });
            let entry = entry.or_else(|| stand_ins_changed.then(format::Entry::pad));
            let seq = match entry {
                Some(entry) => self.inner.journal.append(&entry),
                None => self.inner.journal.appended(),
            };
            (result, seq)
        };
        self.durable(seq).await?;
        Ok(result)
    }

    async fn durable(&self, seq: u64) -> Result<(), StoreError> {
        self.inner
            .journal
            .durable(seq)
            .await
            .map_err(|reason| unavailable(&reason))
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Guarded> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stop_compactor(&self) {
        *self.stop.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.stop.1.notify_all();
        let compactor = self
            .compactor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // The compactor may itself drop the last handle; it must not wait for itself.
        if let Some(compactor) =
            compactor.filter(|c| c.thread().id() != std::thread::current().id())
        {
            let _ = compactor.join();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_compactor();
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        if let Err(error) = self.compact() {
            tracing::warn!(%error, "folding the journal into the data file failed; it will be replayed at start");
        }
    }
}

impl UserStore for JsonStore {
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        let (user, seq) = {
            let guarded = self.inner.lock();
            let user = guarded.state.user_by_phone(*phone);
            let seq = user
                .as_ref()
                .and_then(|user| guarded.unsettled.get(&user.id))
                .copied()
                .unwrap_or(0);
            (user, seq)
        };
        self.durable(seq).await?;
        Ok(user)
    }

    async fn set_password_hash(&self, id: &UserId, phc: &str) -> Result<bool, StoreError> {
        let seq = {
            let mut guarded = self.inner.lock();
            self.refuse_if_faulted()?;
            let Some(entry) = guarded.state.set_password(id, phc) else {
                return Ok(false);
            };
            self.journal_password(&mut guarded, id, &entry)
        };
        self.durable(seq).await?;
        Ok(true)
    }
}

impl LedgerStore for JsonStore {
    async fn with_ledger<T, F>(&self, phone: &PhoneNumber, step: F) -> Result<T, StoreError>
    where
        F: FnOnce(PhoneRecords<'_>) -> T + Send,
        T: Send,
    {
        self.phone_step(phone, step).await
    }

    async fn purge_ledgers(&self, now: Timestamp, rules: &OtpRules) -> Result<usize, StoreError> {
        let (purged, seq) = {
            let mut guarded = self.inner.lock();
            self.refuse_if_faulted()?;
            let (purged, entries) = guarded.state.purge(now, rules);
            let mut seq = self.inner.journal.appended();
            for entry in &entries {
                seq = self.inner.journal.append(entry);
            }
            (purged + self.inner.stand_ins.purge(now, rules), seq)
        };
        self.durable(seq).await?;
        Ok(purged)
    }
}
