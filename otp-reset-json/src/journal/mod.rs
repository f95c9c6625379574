//! The journal: an append-only file of [`Entry`] lines, written by one thread that groups
//! every line appended while it was writing into one write and one `fdatasync`.
//!
//! A change is acknowledged only once its line is durable ([`Journal::durable`]), so a crash
//! loses nothing that got an answer; grouping makes that cost one sync per batch, not per
//! request. [`Journal::rotate`] starts a new segment (`*.journal.next`) so a snapshot can be
//! written while appends go on.
//!
//! # Faults
//!
//! A write or sync that fails (a full disk, an I/O error) is a fault: the lines of that batch
//! are not acknowledged (whoever waits for them gets the error), and [`Journal::fault`] tells
//! the store to refuse new changes. The lines stay queued, as their effect stays in the
//! store's memory; the writer retries with backoff (50 ms doubling to 1 s), each time first
//! cutting the segment back to its last synced length (a failed write can leave part of a
//! line, and after a failed sync the kernel may have dropped pages it never wrote), then
//! writing them again. The first retry that is synced ends the fault. A crash during a fault
//! loses only lines that no one was told were written, and leaves at most a torn last line,
//! which a start ignores.
//!
//! A rotation needs a new file handle. When none can be had (the process is out of file
//! handles) or the old segment cannot be synced, the rotation fails, the fold that asked for
//! it fails, and lines keep going to the current segment: appending never needs a new handle.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use super::format::Entry;
use super::owner_only;
use writer::Writer;

mod writer;

/// The files of a data file's journal.
#[derive(Clone, Debug)]
pub(crate) struct JournalPaths {
    pub(crate) current: PathBuf,
    pub(crate) next: PathBuf,
    pub(crate) dir: PathBuf,
}

/// A rotation asked for and not yet taken by the writer.
#[derive(Debug)]
struct Rotation {
    /// Its number, for [`Journal::wait_rotated`].
    id: u64,
    /// The lines that end the old segment.
    closing: Vec<u8>,
    /// The number of the last of them.
    through: u64,
}

#[derive(Debug, Default)]
struct Pending {
    /// Lines appended and not yet taken by the writer.
    buffer: Vec<u8>,
    /// The number of the last line appended.
    appended: u64,
    rotation: Option<Rotation>,
    rotations_requested: u64,
    /// The last rotation that succeeded or failed, and why it failed.
    rotations_settled: u64,
    rotation_error: Option<String>,
    /// Bytes appended since the last successful fold.
    unfolded_bytes: u64,
    /// Why the journal cannot take lines right now; `None` when it can.
    fault: Option<Arc<str>>,
    closed: bool,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    work: Condvar,
    rotated: Condvar,
    /// Told how long each successful `fdatasync` of the journal took.
    sync_observer: Mutex<Option<SyncObserver>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What [`Journal::observe_syncs`] installed.
#[derive(Clone)]
struct SyncObserver(Arc<dyn Fn(Duration) + Send + Sync>);

impl std::fmt::Debug for SyncObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncObserver")
    }
}

/// How far the journal is durable, and whether it is in a fault.
#[derive(Clone, Debug, Default, PartialEq)]
struct Durable {
    through: u64,
    fault: Option<Arc<str>>,
}

/// The journal of one data file.
#[derive(Debug)]
pub(crate) struct Journal {
    shared: Arc<Shared>,
    durable: watch::Receiver<Durable>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Journal {
    /// Starts the writer thread, appending to `file` (the current segment); `dir` is the open
    /// folder of the segments, synced when a new segment is created.
    pub(crate) fn start(paths: JournalPaths, file: File, dir: Arc<File>) -> std::io::Result<Self> {
        let synced_len = file.metadata()?.len();
        let shared = Arc::new(Shared::default());
        let (report, durable) = watch::channel(Durable::default());
        let writer = Writer::new(Arc::clone(&shared), paths, dir, report, file, synced_len);
        let writer = std::thread::Builder::new()
            .name("data-file-journal".into())
            .spawn(move || writer.run())?;
        Ok(Self {
            shared,
            durable,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// From now on, tells `observe` how long each successful sync of the journal took (in place
    /// of the observer set before, if any). It runs on the writer thread.
    pub(crate) fn observe_syncs(&self, observe: Arc<dyn Fn(Duration) + Send + Sync>) {
        *self
            .shared
            .sync_observer
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(SyncObserver(observe));
    }

    /// Appends `entry`; returns its number, to pass to [`Journal::durable`]. Callers append
    /// under their own state lock, so lines are in the order the changes were made.
    pub(crate) fn append(&self, entry: &Entry) -> u64 {
        let mut line = serde_json::to_vec(entry).unwrap_or_default();
        line.push(b'\n');
        let mut pending = self.shared.lock();
        pending.unfolded_bytes += line.len() as u64;
        pending.buffer.extend_from_slice(&line);
        pending.appended += 1;
        self.shared.work.notify_one();
        pending.appended
    }

    /// The number of the last line appended: what a reader must wait for to be sure that what
    /// it saw is durable.
    pub(crate) fn appended(&self) -> u64 {
        self.shared.lock().appended
    }

    /// The number of the last line known to be on disk.
    pub(crate) fn durable_through(&self) -> u64 {
        self.durable.borrow().through
    }

    /// Bytes appended since the last successful fold ([`Journal::folded`]).
    pub(crate) fn unfolded_bytes(&self) -> u64 {
        self.shared.lock().unfolded_bytes
    }

    /// Why the journal cannot take lines right now (a write or sync failed and its retries
    /// have not yet succeeded, or the journal is closed); `None` when it can.
    pub(crate) fn fault(&self) -> Option<Arc<str>> {
        self.shared.lock().fault.clone()
    }

    /// Waits until line `seq` and all before it are on disk; fails at once, with the reason,
    /// when they are not and the journal is in a fault.
    pub(crate) async fn durable(&self, seq: u64) -> Result<(), Arc<str>> {
        let mut durable = self.durable.clone();
        loop {
            if let Some(answer) = settled(&durable.borrow_and_update(), seq) {
                return answer;
            }
            if durable.changed().await.is_err() {
                // The writer stopped: what it reported last is final.
                return settled(&durable.borrow(), seq)
                    .unwrap_or_else(|| Err("the data file is closed".into()));
            }
        }
    }

    /// Ends the current segment: lines appended so far go to it, later ones to a new
    /// `*.journal.next`. Returns the rotation's number for [`Journal::wait_rotated`] and the
    /// bytes to pass to [`Journal::folded`] once the fold that asked for it is done.
    pub(crate) fn rotate(&self) -> (u64, u64) {
        let mut pending = self.shared.lock();
        let lines = std::mem::take(&mut pending.buffer);
        let through = pending.appended;
        pending.rotations_requested += 1;
        let id = pending.rotations_requested;
        match &mut pending.rotation {
            Some(rotation) => {
                rotation.closing.extend_from_slice(&lines);
                rotation.through = through;
                rotation.id = id;
            }
            None => {
                pending.rotation = Some(Rotation {
                    id,
                    closing: lines,
                    through,
                });
            }
        }
        self.shared.work.notify_one();
        (id, pending.unfolded_bytes)
    }

    /// Waits (blocking) until rotation `id` is settled: the old segment synced and the new one
    /// created, or why not (then lines still go to the old segment).
    pub(crate) fn wait_rotated(&self, id: u64) -> Result<(), String> {
        let mut pending = self.shared.lock();
        while pending.rotations_settled < id {
            pending = self
                .shared
                .rotated
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        pending.rotation_error.clone().map_or(Ok(()), Err)
    }

    /// Counts `bytes` (from [`Journal::rotate`]) as folded into the snapshot.
    pub(crate) fn folded(&self, bytes: u64) {
        let mut pending = self.shared.lock();
        pending.unfolded_bytes = pending.unfolded_bytes.saturating_sub(bytes);
    }

    /// Writes what is pending (one last try, even during a fault) and stops the writer thread.
    pub(crate) fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_one();
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        let mut pending = self.shared.lock();
        pending.fault = Some("the data file is closed".into());
        if pending.rotations_settled < pending.rotations_requested {
            pending.rotations_settled = pending.rotations_requested;
            pending.rotation_error = Some("the data file is closed".into());
        }
        self.shared.rotated.notify_all();
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.close();
    }
}

/// What a waiter for line `seq` is told, or `None` to wait on.
fn settled(durable: &Durable, seq: u64) -> Option<Result<(), Arc<str>>> {
    if durable.through >= seq {
        Some(Ok(()))
    } else {
        durable.fault.clone().map(Err)
    }
}

/// Opens (or creates, owner-only) a journal segment for appending; an existing one open to
/// other users is made owner-only.
pub(crate) fn open_segment(path: &Path) -> std::io::Result<File> {
    let file = owner_only::create_options()
        .create(true)
        .append(true)
        .open(path)?;
    owner_only::tighten(&file, path)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_is_acknowledged_only_for_lines_on_disk() {
        let healthy = Durable {
            through: 5,
            fault: None,
        };
        assert_eq!(settled(&healthy, 5), Some(Ok(())));
        assert_eq!(settled(&healthy, 6), None, "not yet on disk: wait");
        let faulted = Durable {
            through: 5,
            fault: Some("disk full".into()),
        };
        assert_eq!(
            settled(&faulted, 4),
            Some(Ok(())),
            "synced before the fault"
        );
        assert_eq!(settled(&faulted, 6), Some(Err("disk full".into())));
    }
}
