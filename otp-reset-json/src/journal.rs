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
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use super::backoff::Backoff;
use super::format::Entry;
use super::owner_only;

/// How soon, and at most how long apart, a write the disk refused is retried.
const RETRY: Backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));

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
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
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
        let writer = Writer {
            shared: Arc::clone(&shared),
            paths,
            dir,
            report,
            file,
            synced_len,
            unsynced: Vec::new(),
            unsynced_through: 0,
            durable: 0,
            fault: None,
            retry: RETRY,
            retry_in: Duration::ZERO,
            last_try: false,
        };
        let writer = std::thread::Builder::new()
            .name("data-file-journal".into())
            .spawn(move || writer.run())?;
        Ok(Self {
            shared,
            durable,
            writer: Mutex::new(Some(writer)),
        })
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

/// Lines taken from [`Pending`] in one go.
struct Work {
    rotation: Option<Rotation>,
    batch: Vec<u8>,
    through: u64,
}

/// The writer thread's own state.
struct Writer {
    shared: Arc<Shared>,
    paths: JournalPaths,
    dir: Arc<File>,
    report: watch::Sender<Durable>,
    /// The segment lines go to.
    file: File,
    /// How much of `file` is known to be on disk.
    synced_len: u64,
    /// Lines taken from [`Pending`] and not yet on disk, oldest first.
    unsynced: Vec<u8>,
    /// The number of the last of them.
    unsynced_through: u64,
    /// The number of the last line on disk.
    durable: u64,
    fault: Option<Arc<str>>,
    retry: Backoff,
    /// How long after the last failure the next try comes.
    retry_in: Duration,
    /// The journal is closing and the last write was tried.
    last_try: bool,
}

impl Writer {
    fn run(mut self) {
        while let Some(work) = self.next_work() {
            let mut failed = false;
            if let Some(rotation) = work.rotation {
                self.queue(&rotation.closing, rotation.through);
                let flushed = self.flush();
                failed = flushed.is_err();
                let result = flushed
                    .and_then(|()| self.switch_segment())
                    .map_err(|error| error.to_string());
                self.settle(rotation.id, result);
            }
            self.queue(&work.batch, work.through);
            // After a failed write, the next try waits for its backoff.
            if !failed {
                let _ = self.flush();
            }
        }
    }

    fn queue(&mut self, lines: &[u8], through: u64) {
        self.unsynced.extend_from_slice(lines);
        self.unsynced_through = self.unsynced_through.max(through);
    }

    /// Waits for lines, a rotation, the close, or (during a fault) the time to retry; `None`
    /// once closed with nothing left to try.
    fn next_work(&mut self) -> Option<Work> {
        let mut pending = self.shared.lock();
        loop {
            if !pending.buffer.is_empty() || pending.rotation.is_some() {
                break;
            }
            if pending.closed {
                if self.unsynced.is_empty() || self.last_try {
                    return None;
                }
                self.last_try = true;
                break;
            }
            if self.fault.is_some() {
                let (guard, waited) = self
                    .shared
                    .work
                    .wait_timeout(pending, self.retry_in)
                    .unwrap_or_else(PoisonError::into_inner);
                pending = guard;
                if waited.timed_out() {
                    break;
                }
            } else {
                pending = self
                    .shared
                    .work
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        Some(Work {
            rotation: pending.rotation.take(),
            batch: std::mem::take(&mut pending.buffer),
            through: pending.appended,
        })
    }

    /// Writes and syncs the unsynced lines; reports them durable, or the fault.
    fn flush(&mut self) -> std::io::Result<()> {
        if self.unsynced.is_empty() {
            return Ok(());
        }
        let written = self.write_unsynced();
        match written {
            Ok(()) => {
                self.synced_len += self.unsynced.len() as u64;
                self.unsynced.clear();
                self.durable = self.unsynced_through;
                if self.fault.take().is_some() {
                    self.shared.lock().fault = None;
                    self.retry.reset();
                    tracing::info!(journal = %self.paths.current.display(), "the data file takes writes again; changes are accepted");
                }
                self.report.send_replace(Durable {
                    through: self.durable,
                    fault: None,
                });
                Ok(())
            }
            Err(error) => {
                let message: Arc<str> = format!(
                    "the data file cannot be written right now: writing its journal {} failed: {error}",
                    self.paths.current.display()
                )
                .into();
                let retry_in = self.retry.next_delay();
                self.retry_in = retry_in;
                if self.fault.is_none() {
                    tracing::error!(
                        retry_in_ms = retry_in.as_millis() as u64,
                        "{message}; changes are refused until a retry succeeds"
                    );
                } else {
                    tracing::debug!(retry_in_ms = retry_in.as_millis() as u64, "{message}");
                }
                self.fault = Some(Arc::clone(&message));
                self.shared.lock().fault = Some(Arc::clone(&message));
                self.report.send_replace(Durable {
                    through: self.durable,
                    fault: Some(message),
                });
                Err(error)
            }
        }
    }

    fn write_unsynced(&mut self) -> std::io::Result<()> {
        if self.fault.is_some() {
            // Whatever the failed attempt left past the synced length is untrusted.
            self.file.set_len(self.synced_len)?;
        }
        self.file.write_all(&self.unsynced)?;
        self.file.sync_data()
    }

    /// Goes on in `*.journal.next`, its name durable before any line in it is acknowledged.
    /// Append, never truncate: if the last fold failed before renaming the new segment into
    /// place, `next` is the very file written so far, and it must be kept.
    fn switch_segment(&mut self) -> std::io::Result<()> {
        let next = self.paths.next.clone();
        let context = |error: std::io::Error| {
            std::io::Error::new(
                error.kind(),
                format!("starting the journal segment {}: {error}", next.display()),
            )
        };
        let file = open_segment(&next).map_err(context)?;
        let synced_len = file.metadata().map_err(context)?.len();
        self.dir.sync_all().map_err(context)?;
        self.file = file;
        self.synced_len = synced_len;
        Ok(())
    }

    fn settle(&self, id: u64, result: Result<(), String>) {
        let mut pending = self.shared.lock();
        pending.rotations_settled = id;
        pending.rotation_error = result.err();
        self.shared.rotated.notify_all();
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
