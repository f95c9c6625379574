//! Opening a data file: the lock, the snapshot, the journal a crash left, and the threads.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use otp_reset::CodeHasher;
use otp_reset::store::StandInCache;

use super::fold::{DEFAULT_FOLD_DELAY, compact_periodically, temporary_path, write_atomically};
use super::format::{DataFile, Entry};
use super::journal::{self, Journal, JournalPaths};
use super::state::State;
use super::{Guarded, Inner, JsonStore, OpenError, StoreOptions, owner_only};

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_owned(),
        source,
    }
}

impl JsonStore {
    /// Opens the data file at `path` (creating an empty one if there is none), folds in any
    /// journal a crash left, and starts the journal writer and the background compaction.
    /// A data file or journal open to other users is made owner-only (0600), with a warning.
    ///
    /// `codes` must be keyed with the service's secret: plain-text codes from an old file are
    /// hashed with it.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("otp-reset-json-open-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// use otp_reset::CodeHasher;
    /// use otp_reset_json::{JsonStore, OpenError};
    ///
    /// let codes = CodeHasher::new(&[7; 32])?;
    /// let store = JsonStore::open(dir.join("data.json"), &codes)?;
    /// assert_eq!(store.user_count(), 0, "a new file has no users");
    /// assert!(
    ///     matches!(JsonStore::open(dir.join("data.json"), &codes), Err(OpenError::Locked(_))),
    ///     "one store per file"
    /// );
    /// # drop(store);
    /// # std::fs::remove_dir_all(dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn open(path: impl AsRef<Path>, codes: &CodeHasher) -> Result<Self, OpenError> {
        Self::open_with(path, codes, StoreOptions::default())
    }

    /// [`JsonStore::open`] with `options`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("otp-reset-json-options-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// use otp_reset::CodeHasher;
    /// use otp_reset_json::{JsonStore, StoreOptions};
    ///
    /// let options = StoreOptions::default().with_stand_in_capacity(10_000);
    /// let store = JsonStore::open_with(dir.join("data.json"), &CodeHasher::new(&[7; 32])?, options)?;
    /// # drop(store);
    /// # std::fs::remove_dir_all(dir)?;
    /// # Ok(())
    /// # }
    /// ```
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
        let dir = Arc::new(File::open(&journal_paths.dir).map_err(io_error(&journal_paths.dir))?);

        let lock_path = sibling(".lock");
        let lock = owner_only::create_options()
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

        owner_only::tighten_path(&data).map_err(io_error(&data))?;
        // A snapshot a crash left half-written: never read, and it may hold old secrets.
        let temporary = temporary_path(&data);
        match std::fs::remove_file(&temporary) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(&temporary)(error));
            }
            _ => {}
        }
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
                let written = write_atomically(&data, &dir, |out| captured.write_to(out))
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
        dir.sync_all().map_err(io_error(&journal_paths.dir))?;

        let journal = Journal::start(journal_paths.clone(), journal_file, Arc::clone(&dir))
            .map_err(io_error(&journal_paths.current))?;
        let inner = Arc::new(Inner {
            state: Mutex::new(Guarded::new(state)),
            journal,
            data,
            journal_paths,
            dir,
            compactor: Mutex::new(None),
            stop: Arc::new((Mutex::new(false), Condvar::new())),
            closed: AtomicBool::new(false),
            snapshot_bytes: AtomicU64::new(snapshot_bytes),
            upgrade_pending: AtomicBool::new(upgrade && !journal_left && file_bytes.is_some()),
            fold_delay_ms: AtomicU64::new(DEFAULT_FOLD_DELAY.as_millis() as u64),
            compacting: Mutex::new(()),
            stand_ins: StandInCache::new(options.stand_in_capacity),
            _lock: lock,
        });
        let (weak, stop) = (Arc::downgrade(&inner), Arc::clone(&inner.stop));
        let compactor = std::thread::Builder::new()
            .name("data-file-compactor".into())
            .spawn(move || compact_periodically(&weak, &stop))
            .map_err(io_error(&inner.data))?;
        *inner
            .compactor
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(compactor);
        Ok(Self { inner })
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
