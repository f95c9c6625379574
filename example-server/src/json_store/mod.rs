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
//! codes) is then folded in later, as a change waiting in the journal would be.
//!
//! A lock on `data.json.lock` keeps a second process off the same file.

mod code_entry;
mod format;
mod journal;
mod state;

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use otp_reset::store::{PhoneRecords, StandInCache};
use otp_reset::{
    ClientKey, CodeHasher, CodeRecord, ConsumeOutcome, Digest, IssueOutcome, NewCode, OtpRules,
    OtpStore, PhoneLedger, PhoneNumber, Proof, StoreError, Timestamp, User, UserId, UserStore,
    VerifyOutcome,
};

use self::format::{DataFile, Entry};
use self::journal::{Journal, JournalPaths, sync_dir};
use self::state::State;

/// When the journal is folded into the snapshot. Folding rewrites the whole file, so its cost
/// grows with the users; to keep the cost per change constant, a journal is folded once it
/// reaches half the snapshot's size (at least 4 MiB). Staleness is bounded too: a small file
/// (under 8 MiB) is refreshed 5 seconds after a change, any file after 60 seconds.
const COMPACT_AFTER_BYTES: u64 = 4 * 1024 * 1024;
const SMALL_SNAPSHOT_BYTES: u64 = 8 * 1024 * 1024;
const COMPACT_SMALL_AFTER: Duration = Duration::from_secs(5);
const COMPACT_ANY_AFTER: Duration = Duration::from_secs(60);

fn compaction_due(journal_bytes: u64, snapshot_bytes: u64, waited: Duration) -> bool {
    journal_bytes > 0
        && (journal_bytes >= COMPACT_AFTER_BYTES.max(snapshot_bytes / 2)
            || (snapshot_bytes < SMALL_SNAPSHOT_BYTES && waited >= COMPACT_SMALL_AFTER)
            || waited >= COMPACT_ANY_AFTER)
}

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

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Users and codes in a JSON data file; implements both [`UserStore`] and [`OtpStore`].
///
/// Cloning is cheap: clones share the file. [`JsonStore::close`] folds the journal in and
/// releases the file; dropping the last clone does the same.
#[derive(Clone, Debug)]
pub struct JsonStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    journal: Journal,
    data: PathBuf,
    journal_paths: JournalPaths,
    compactor: Mutex<Option<std::thread::JoinHandle<()>>>,
    stop: (Mutex<bool>, Condvar),
    closed: AtomicBool,
    /// The size of the last snapshot written.
    snapshot_bytes: AtomicU64,
    /// `data.json` holds what the store writes differently (see [`State::load`]); folded in
    /// when a change would be.
    upgrade_pending: AtomicBool,
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

impl JsonStore {
    /// Opens the data file at `path` (creating an empty one if there is none), folds in any
    /// journal a crash left, and starts the journal writer and the background compaction.
    ///
    /// `codes` must be keyed with the service's secret: plain-text codes from an old file are
    /// hashed with it.
    pub fn open(path: impl AsRef<Path>, codes: &CodeHasher) -> Result<Self, OpenError> {
        Self::open_with(path, codes, StoreOptions::default())
    }

    /// [`JsonStore::open`] with `options`.
    pub fn open_with(
        path: impl AsRef<Path>,
        codes: &CodeHasher,
        options: StoreOptions,
    ) -> Result<Self, OpenError> {
        let data = path.as_ref().to_owned();
        let dir = match data.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let sibling = |suffix: &str| {
            let mut name = data.clone().into_os_string();
            name.push(suffix);
            PathBuf::from(name)
        };
        let journal_paths = JournalPaths {
            current: sibling(".journal"),
            next: sibling(".journal.next"),
            dir,
        };

        let lock_path = sibling(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        lock.try_lock().map_err(|error| match error {
            std::fs::TryLockError::WouldBlock => OpenError::Locked(data.clone()),
            std::fs::TryLockError::Error(source) => OpenError::Io {
                path: lock_path.clone(),
                source,
            },
        })?;

        let (file, file_bytes) = match std::fs::read(&data) {
            Ok(bytes) => {
                let file = serde_json::from_slice::<DataFile>(&bytes).map_err(|source| {
                    OpenError::Corrupt {
                        path: data.clone(),
                        source,
                    }
                })?;
                (file, Some(bytes.len() as u64))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                (DataFile::default(), None)
            }
            Err(error) => return Err(io_error(&data)(error)),
        };
        let (mut state, upgrade) = State::load(file, codes);
        let mut journal_left = false;
        for segment in [&journal_paths.current, &journal_paths.next] {
            journal_left |= replay(segment, &mut state, codes)?;
        }

        let snapshot_bytes = match file_bytes {
            Some(bytes) if !journal_left => bytes,
            // Fold the journal into a fresh snapshot (or create the file) and start anew.
            _ => {
                let captured = state.capture();
                let written =
                    write_atomically(&data, &journal_paths.dir, |out| captured.write_to(out))
                        .map_err(io_error(&data))?;
                let _ = std::fs::remove_file(&journal_paths.current);
                written
            }
        };
        let journal_file = journal::open_segment(&journal_paths.current)
            .map_err(io_error(&journal_paths.current))?;
        match std::fs::remove_file(&journal_paths.next) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(&journal_paths.next)(error));
            }
            _ => {}
        }
        sync_dir(&journal_paths.dir).map_err(io_error(&journal_paths.dir))?;

        let journal = Journal::start(journal_paths.clone(), journal_file)
            .map_err(io_error(&journal_paths.current))?;
        let inner = Arc::new(Inner {
            state: Mutex::new(state),
            journal,
            data,
            journal_paths,
            compactor: Mutex::new(None),
            stop: (Mutex::new(false), Condvar::new()),
            closed: AtomicBool::new(false),
            snapshot_bytes: AtomicU64::new(snapshot_bytes),
            upgrade_pending: AtomicBool::new(upgrade && !journal_left && file_bytes.is_some()),
            compacting: Mutex::new(()),
            stand_ins: StandInCache::new(options.stand_in_capacity),
            _lock: lock,
        });
        let weak = Arc::downgrade(&inner);
        let compactor = std::thread::Builder::new()
            .name("data-file-compactor".into())
            .spawn(move || compact_periodically(&weak))
            .map_err(io_error(&inner.data))?;
        *inner
            .compactor
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(compactor);
        Ok(Self { inner })
    }

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

    /// Why the store stopped accepting changes (a journal write failed, such as on a full
    /// disk), if it did; every change is refused from then on, until a restart.
    pub fn failure(&self) -> Option<String> {
        self.inner.journal.failure()
    }

    /// How many phones have stand-ins in memory (at most the capacity of [`StoreOptions`]).
    pub fn stand_in_phones(&self) -> usize {
        self.inner.stand_ins.len()
    }

    /// How many users the file holds.
    pub fn user_count(&self) -> usize {
        self.inner.lock().users.len()
    }

    /// Runs one step on a phone's ledger under the lock and journals the phone if it changed;
    /// returns the step's result once it is durable.
    async fn phone_step<T>(
        &self,
        phone: &PhoneNumber,
        step: impl FnOnce(PhoneRecords<'_>) -> T,
    ) -> Result<T, StoreError> {
        let (result, seq) = {
            let mut state = self.inner.lock();
            let (result, entry) = state.step(*phone, |ledger| {
                self.inner
                    .stand_ins
                    .step(phone, |stand_ins| step(PhoneRecords { ledger, stand_ins }))
            });
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
            .map_err(|error| StoreError::Unavailable(error.into()))
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn compact(&self) -> std::io::Result<()> {
        // One compaction at a time: they share the temporary file and the rotation.
        let _one = self
            .compacting
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.closed.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("the data file is closed"));
        }
        // Capture and rotate in one moment under the lock; serialise outside it, so requests
        // never wait for a whole file to be written out.
        let (captured, rotation) = {
            let state = self.lock();
            (state.capture(), self.journal.rotate())
        };
        let written = write_atomically(&self.data, &self.journal_paths.dir, |out| {
            captured.write_to(out)
        })?;
        drop(captured);
        self.snapshot_bytes.store(written, Ordering::Relaxed);
        self.upgrade_pending.store(false, Ordering::Relaxed);
        self.journal
            .wait_rotated(rotation)
            .map_err(std::io::Error::other)?;
        std::fs::rename(&self.journal_paths.next, &self.journal_paths.current)?;
        sync_dir(&self.journal_paths.dir)
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

fn compact_periodically(inner: &std::sync::Weak<Inner>) {
    let mut waited = Duration::ZERO;
    let tick = Duration::from_millis(250);
    loop {
        let Some(inner) = inner.upgrade() else { return };
        {
            let stopped = inner.stop.0.lock().unwrap_or_else(PoisonError::into_inner);
            let (stopped, _) = inner
                .stop
                .1
                .wait_timeout(stopped, tick)
                .unwrap_or_else(PoisonError::into_inner);
            if *stopped {
                return;
            }
        }
        // A pending upgrade counts as a change waiting: folded within the same bounds.
        let pending = inner.journal.segment_bytes()
            + u64::from(inner.upgrade_pending.load(Ordering::Relaxed));
        waited = if pending == 0 {
            Duration::ZERO
        } else {
            waited + tick
        };
        if compaction_due(
            pending,
            inner.snapshot_bytes.load(Ordering::Relaxed),
            waited,
        ) {
            waited = Duration::ZERO;
            if let Err(error) = inner.compact() {
                tracing::error!(%error, "folding the journal into the data file failed");
            }
        }
    }
}

/// Replays a journal segment into `state`; whether there was one, not empty. A torn last line
/// (a crash mid-write) is ignored; a bad line before the last is corruption.
fn replay(path: &Path, state: &mut State, codes: &CodeHasher) -> Result<bool, OpenError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(io_error(path)(error)),
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut BufReader::new(file), &mut bytes).map_err(io_error(path))?;
    if bytes.is_empty() {
        return Ok(false);
    }
    let lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .collect();
    for (index, line) in lines.iter().enumerate() {
        match serde_json::from_slice::<Entry>(line) {
            Ok(entry) => state.apply(entry, codes),
            // A crash mid-write can leave garbage after the last synced line (never
            // acknowledged); a bad line followed by good ones is corruption.
            Err(source) => {
                let torn_tail = lines[index..]
                    .iter()
                    .all(|rest| serde_json::from_slice::<Entry>(rest).is_err());
                if !torn_tail {
                    return Err(OpenError::Corrupt {
                        path: path.to_owned(),
                        source,
                    });
                }
                tracing::warn!(journal = %path.display(), lines = lines.len() - index, "ignoring a torn journal tail (never acknowledged)");
                break;
            }
        }
    }
    Ok(true)
}

/// Replaces `path` with what `write` writes so that the file is whole at every instant: a
/// temporary file, synced, renamed over it, and the folder synced. Returns its size.
fn write_atomically(
    path: &Path,
    dir: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let mut temporary = path.to_owned().into_os_string();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    // The file holds password hashes: owner-only, unless the operator chose otherwise for the
    // file being replaced.
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&temporary)?;
    if let Ok(existing) = std::fs::metadata(path) {
        file.set_permissions(existing.permissions())?;
    }
    let mut out = BufWriter::with_capacity(1 << 20, file);
    write(&mut out)?;
    let file = out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    file.sync_all()?;
    let written = file.metadata()?.len();
    drop(file);
    std::fs::rename(&temporary, path)?;
    sync_dir(dir)?;
    Ok(written)
}

impl UserStore for JsonStore {
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        let (user, seq) = {
            let state = self.inner.lock();
            (state.user_by_phone(*phone), self.inner.journal.appended())
        };
        self.durable(seq).await?;
        Ok(user)
    }

    async fn set_password_hash(&self, id: &UserId, phc: &str) -> Result<bool, StoreError> {
        let seq = {
            let mut state = self.inner.lock();
            match state.set_password(id, phc) {
                Some(entry) => self.inner.journal.append(&entry),
                None => return Ok(false),
            }
        };
        self.durable(seq).await?;
        Ok(true)
    }
}

impl OtpStore for JsonStore {
    async fn issue(
        &self,
        phone: &PhoneNumber,
        code: NewCode,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<IssueOutcome, StoreError> {
        self.phone_step(phone, |mut records| records.issue(code, now, rules))
            .await
    }

    async fn verify(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        candidate: &Digest,
        reset_token: &Digest,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<VerifyOutcome, StoreError> {
        self.phone_step(phone, |mut records| {
            records.verify(client, candidate, reset_token, now, rules)
        })
        .await
    }

    async fn consume(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        proof: Proof,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<ConsumeOutcome, StoreError> {
        self.phone_step(phone, |mut records| {
            records.consume(client, proof, now, rules)
        })
        .await
    }

    async fn restore(
        &self,
        phone: &PhoneNumber,
        record: CodeRecord,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.phone_step(phone, |records| records.ledger.restore(record, now))
            .await
    }

    async fn purge_expired(&self, now: Timestamp, rules: &OtpRules) -> Result<usize, StoreError> {
        let (purged, seq) = {
            let mut state = self.inner.lock();
            let (purged, entries) = state.purge(now, rules);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_cost_per_change_stays_constant_and_staleness_bounded() {
        let mib = 1024 * 1024;
        assert!(
            !compaction_due(0, 0, Duration::from_secs(3600)),
            "nothing to fold"
        );
        assert!(
            compaction_due(100, mib, Duration::from_secs(5)),
            "a small file is refreshed within seconds"
        );
        assert!(
            !compaction_due(100, 200 * mib, Duration::from_secs(5)),
            "a large file is not rewritten for one change"
        );
        assert!(
            compaction_due(100 * mib, 200 * mib, Duration::ZERO),
            "a journal half the snapshot's size is folded"
        );
        assert!(
            compaction_due(100, 200 * mib, Duration::from_secs(60)),
            "no file is more than a minute behind"
        );
    }
}
