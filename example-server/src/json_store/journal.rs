//! The journal: an append-only file of [`Entry`] lines, written by one thread that groups
//! every line appended while it was writing into one write and one `fdatasync`.
//!
//! A change is acknowledged only once its line is durable ([`Journal::durable`]), so a crash
//! loses nothing that got an answer; grouping makes that cost one sync per batch, not per
//! request. [`Journal::rotate`] starts a new segment (`*.journal.next`) so a snapshot can be
//! written while appends go on.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::format::Entry;

/// The files of a data file's journal.
#[derive(Clone, Debug)]
pub(crate) struct JournalPaths {
    pub(crate) current: PathBuf,
    pub(crate) next: PathBuf,
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Default)]
struct Pending {
    /// Lines appended and not yet taken by the writer.
    buffer: Vec<u8>,
    /// The number of the last line appended.
    appended: u64,
    /// Lines that belong to the segment being closed by a rotation.
    closing: Option<Vec<u8>>,
    rotations_requested: u64,
    rotations_done: u64,
    /// Bytes appended since the last rotation.
    segment_bytes: u64,
    failed: Option<String>,
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

/// How far the journal is durable, or why it stopped.
#[derive(Clone, Debug)]
enum Durable {
    Through(u64),
    Failed(String),
}

/// The journal of one data file.
#[derive(Debug)]
pub(crate) struct Journal {
    shared: Arc<Shared>,
    durable: watch::Receiver<Durable>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Journal {
    /// Starts the writer thread, appending to `file` (the current segment).
    pub(crate) fn start(paths: JournalPaths, file: File) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let (report, durable) = watch::channel(Durable::Through(0));
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("data-file-journal".into())
            .spawn(move || write_loop(&writer_shared, &paths, file, &report))?;
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
        pending.segment_bytes += line.len() as u64;
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

    /// Bytes appended since the last rotation.
    pub(crate) fn segment_bytes(&self) -> u64 {
        self.shared.lock().segment_bytes
    }

    /// Waits until line `seq` and all before it are on disk.
    pub(crate) async fn durable(&self, seq: u64) -> Result<(), String> {
        let mut durable = self.durable.clone();
        loop {
            match &*durable.borrow_and_update() {
                Durable::Failed(error) => return Err(error.clone()),
                Durable::Through(done) if *done >= seq => return Ok(()),
                Durable::Through(_) => {}
            }
            if durable.changed().await.is_err() {
                return Err("the journal writer stopped".into());
            }
        }
    }

    /// Ends the current segment: lines appended so far go to it, later ones to a new
    /// `*.journal.next`. Returns the rotation's number for [`Journal::wait_rotated`].
    pub(crate) fn rotate(&self) -> u64 {
        let mut pending = self.shared.lock();
        let lines = std::mem::take(&mut pending.buffer);
        pending
            .closing
            .get_or_insert_with(Vec::new)
            .extend_from_slice(&lines);
        pending.rotations_requested += 1;
        pending.segment_bytes = 0;
        self.shared.work.notify_one();
        pending.rotations_requested
    }

    /// Waits (blocking) until rotation `id` is done: the old segment synced, the new one created.
    pub(crate) fn wait_rotated(&self, id: u64) -> Result<(), String> {
        let mut pending = self.shared.lock();
        loop {
            if let Some(error) = &pending.failed {
                return Err(error.clone());
            }
            if pending.rotations_done >= id {
                return Ok(());
            }
            pending = self
                .shared
                .rotated
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Writes what is pending and stops the writer thread.
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
        pending
            .failed
            .get_or_insert_with(|| "the data file is closed".into());
        self.shared.rotated.notify_all();
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_loop(
    shared: &Shared,
    paths: &JournalPaths,
    mut file: File,
    report: &watch::Sender<Durable>,
) {
    loop {
        let (closing, batch, through, rotation) = {
            let mut pending = shared.lock();
            while pending.buffer.is_empty() && pending.closing.is_none() && !pending.closed {
                pending = shared
                    .work
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if pending.buffer.is_empty() && pending.closing.is_none() {
                return;
            }
            let closing = pending.closing.take();
            (
                closing,
                std::mem::take(&mut pending.buffer),
                pending.appended,
                pending.rotations_requested,
            )
        };
        let rotating = closing.is_some();
        let written = write_batch(&mut file, paths, closing, &batch);
        let mut pending = shared.lock();
        match written {
            Ok(()) => {
                if rotating {
                    pending.rotations_done = rotation;
                    shared.rotated.notify_all();
                }
                drop(pending);
                report.send_replace(Durable::Through(through));
            }
            Err(error) => {
                // Fail-stop: nothing later may be acknowledged once a write was lost.
                let message = format!(
                    "writing the journal {} failed: {error}",
                    paths.current.display()
                );
                tracing::error!("{message}");
                pending.failed = Some(message.clone());
                shared.rotated.notify_all();
                drop(pending);
                report.send_replace(Durable::Failed(message));
                return;
            }
        }
    }
}

fn write_batch(
    file: &mut File,
    paths: &JournalPaths,
    closing: Option<Vec<u8>>,
    batch: &[u8],
) -> std::io::Result<()> {
    if let Some(old) = closing {
        file.write_all(&old)?;
        file.sync_data()?;
        // Append, never truncate: if the last compaction failed before renaming the new
        // segment into place, `next` is the very file written so far, and it must be kept.
        *file = open_segment(&paths.next)?;
        sync_dir(&paths.dir)?;
    }
    if !batch.is_empty() {
        file.write_all(batch)?;
        file.sync_data()?;
    }
    Ok(())
}

/// Opens (or creates, owner-only) a journal segment for appending.
pub(crate) fn open_segment(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Whether the writer stopped after a failed write.
impl Journal {
    pub(crate) fn failure(&self) -> Option<String> {
        self.shared.lock().failed.clone()
    }
}

/// Makes a rename or a new file in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}
