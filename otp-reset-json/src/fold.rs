//! Folding the journal into the snapshot `data.json`: when, how, and what happens when it
//! fails.
//!
//! A fold captures the state and rotates the journal in one moment under the state lock, waits
//! until the old segment is synced and the new one open, writes the snapshot beside the data
//! file (`data.json.tmp`, owner-only), syncs it, renames it over `data.json`, syncs the folder,
//! and only then lets the new segment replace the old. A fold that fails at any step (no file
//! handles left, a full disk) changes nothing that a start relies on: the old snapshot and every
//! journal line are kept, and a start replays them. The compactor retries it with backoff
//! (1 s doubling to 30 s); appends go on meanwhile.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{PoisonError, Weak};
use std::time::{Duration, Instant};

use super::backoff::Backoff;
use super::inner::{Inner, Stop};
use super::owner_only;

/// When the journal is folded into the snapshot. Folding rewrites the whole file, so its cost
/// grows with the users; to keep the cost per change constant, a journal is folded once it
/// reaches half the snapshot's size (at least 4 MiB). Staleness is bounded too: a small file
/// (under 8 MiB) is refreshed a few seconds after a change (`DATA_FILE_FOLD_SECS`, 5 by
/// default), any file after 60 seconds (or that setting, if longer).
const COMPACT_AFTER_BYTES: u64 = 4 * 1024 * 1024;
const SMALL_SNAPSHOT_BYTES: u64 = 8 * 1024 * 1024;
pub(crate) const DEFAULT_FOLD_DELAY: Duration = Duration::from_secs(5);
const COMPACT_ANY_AFTER: Duration = Duration::from_secs(60);

/// How often the compactor looks.
const TICK: Duration = Duration::from_millis(250);

/// How soon, and at most how long apart, a failed fold is retried.
const RETRY: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));

pub(crate) fn compaction_due(
    journal_bytes: u64,
    snapshot_bytes: u64,
    waited: Duration,
    small_after: Duration,
) -> bool {
    journal_bytes > 0
        && (journal_bytes >= COMPACT_AFTER_BYTES.max(snapshot_bytes / 2)
            || (snapshot_bytes < SMALL_SNAPSHOT_BYTES && waited >= small_after)
            || waited >= COMPACT_ANY_AFTER.max(small_after))
}

impl Inner {
    pub(super) fn compact(&self) -> std::io::Result<()> {
        // One fold at a time: they share the temporary file and the rotation.
        let _one = self
            .compacting
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.closed.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("the data file is closed"));
        }
        // Capture and rotate in one moment under the lock; serialise outside it, so requests
        // never wait for a whole file to be written out.
        let (captured, (rotation, bytes)) = {
            let guarded = self.lock();
            (guarded.state.capture(), self.journal.rotate())
        };
        // The snapshot holds only lines that are on disk: a line that failed is not in it.
        self.journal
            .wait_rotated(rotation)
            .map_err(std::io::Error::other)?;
        let written = write_atomically(&self.data, &self.dir, |out| captured.write_to(out))?;
        drop(captured);
        self.snapshot_bytes.store(written, Ordering::Relaxed);
        self.upgrade_pending.store(false, Ordering::Relaxed);
        let paths = &self.journal_paths;
        std::fs::rename(&paths.next, &paths.current).map_err(in_file(&paths.current))?;
        self.dir.sync_all().map_err(in_file(&paths.dir))?;
        self.journal.folded(bytes);
        Ok(())
    }
}

/// Folds the journal in when [`compaction_due`] says so, retrying a failed fold with backoff,
/// until the store is dropped or stopped.
/// The store is never held while waiting, so dropping its last clone releases it at once.
pub(super) fn compact_periodically(inner: &Weak<Inner>, stop: &Stop) {
    let mut waited = Duration::ZERO;
    let mut retry = RETRY;
    let mut not_before: Option<Instant> = None;
    let mut failures = 0u32;
    loop {
        {
            let stopped = stop.0.lock().unwrap_or_else(PoisonError::into_inner);
            let (stopped, _) = stop
                .1
                .wait_timeout(stopped, TICK)
                .unwrap_or_else(PoisonError::into_inner);
            if *stopped {
                return;
            }
        }
        let Some(inner) = inner.upgrade() else { return };
        // A pending upgrade counts as a change waiting: folded within the same bounds.
        let pending = inner.journal.unfolded_bytes()
            + u64::from(inner.upgrade_pending.load(Ordering::Relaxed));
        waited = if pending == 0 {
            Duration::ZERO
        } else {
            waited + TICK
        };
        if not_before.is_some_and(|at| Instant::now() < at) {
            continue;
        }
        let due = compaction_due(
            pending,
            inner.snapshot_bytes.load(Ordering::Relaxed),
            waited,
            Duration::from_millis(inner.fold_delay_ms.load(Ordering::Relaxed)),
        );
        if !due {
            continue;
        }
        match inner.compact() {
            Ok(()) => {
                waited = Duration::ZERO;
                if failures > 0 {
                    tracing::info!(
                        failures,
                        "folding the journal into the data file works again"
                    );
                }
                failures = 0;
                retry.reset();
                not_before = None;
            }
            Err(error) => {
                failures += 1;
                let delay = retry.next_delay();
                not_before = Some(Instant::now() + delay);
                tracing::error!(
                    %error,
                    failures,
                    retry_in_ms = delay.as_millis() as u64,
                    "folding the journal into the data file failed; every change is kept in the journal, and the fold will be retried"
                );
            }
        }
    }
}

/// Replaces `path` with what `write` writes so that the file is whole at every instant: a
/// temporary file (owner-only), synced, renamed over it, and the folder (`dir`, held open so
/// that this needs one new file handle, not two) synced. Returns its size. On failure the
/// temporary file is removed, so that a full disk gets its space back.
pub(super) fn write_atomically(
    path: &Path,
    dir: &File,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let temporary = temporary_path(path);
    let written = write_through(path, &temporary, dir, write);
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Where a snapshot is written before it is renamed over `path`.
pub(super) fn temporary_path(path: &Path) -> PathBuf {
    let mut temporary = path.to_owned().into_os_string();
    temporary.push(".tmp");
    PathBuf::from(temporary)
}

fn write_through(
    path: &Path,
    temporary: &Path,
    dir: &File,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let file = owner_only::create_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(temporary)
        .map_err(in_file(temporary))?;
    // One a crash left keeps its mode through `truncate`.
    owner_only::tighten(&file, temporary).map_err(in_file(temporary))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    write(&mut out).map_err(in_file(temporary))?;
    let file = out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)
        .map_err(in_file(temporary))?;
    file.sync_all().map_err(in_file(temporary))?;
    let written = file.metadata().map_err(in_file(temporary))?.len();
    drop(file);
    std::fs::rename(temporary, path).map_err(in_file(path))?;
    dir.sync_all().map_err(in_file(path))?;
    Ok(written)
}

/// Names the file in an I/O error, keeping its kind.
pub(super) fn in_file(path: &Path) -> impl FnOnce(std::io::Error) -> std::io::Error + '_ {
    move |error| std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_cost_per_change_stays_constant_and_staleness_bounded() {
        let mib = 1024 * 1024;
        let small = DEFAULT_FOLD_DELAY;
        assert!(
            !compaction_due(0, 0, Duration::from_secs(3600), small),
            "nothing to fold"
        );
        assert!(
            compaction_due(100, mib, Duration::from_secs(5), small),
            "a small file is refreshed within seconds"
        );
        assert!(
            !compaction_due(100, 200 * mib, Duration::from_secs(5), small),
            "a large file is not rewritten for one change"
        );
        assert!(
            compaction_due(100 * mib, 200 * mib, Duration::ZERO, small),
            "a journal half the snapshot's size is folded"
        );
        assert!(
            compaction_due(100, 200 * mib, Duration::from_secs(60), small),
            "no file is more than a minute behind"
        );
    }

    #[test]
    fn the_fold_delay_sets_how_stale_a_small_file_gets() {
        let mib = 1024 * 1024;
        let one = Duration::from_secs(1);
        assert!(compaction_due(100, mib, one, one));
        assert!(!compaction_due(100, mib, one, DEFAULT_FOLD_DELAY));
        let long = Duration::from_secs(600);
        assert!(
            !compaction_due(100, 200 * mib, Duration::from_secs(60), long),
            "a delay longer than a minute holds for large files too"
        );
        assert!(compaction_due(100, 200 * mib, long, long));
    }
}
