//! The journal's writer thread: takes the lines appended meanwhile, writes them in one `write`
//! and one `fdatasync`, reports how far the journal is durable, rotates segments, and retries
//! through a fault.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{Durable, JournalPaths, Rotation, Shared, SyncObserver, open_segment};
use crate::backoff::Backoff;

/// How soon, and at most how long apart, a write the disk refused is retried.
const RETRY: Backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));

/// Lines taken from [`Pending`] in one go.
struct Work {
    rotation: Option<Rotation>,
    batch: Vec<u8>,
    through: u64,
}

/// The writer thread's own state.
pub(super) struct Writer {
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
    pub(super) fn new(
        shared: Arc<Shared>,
        paths: JournalPaths,
        dir: Arc<File>,
        report: watch::Sender<Durable>,
        file: File,
        synced_len: u64,
    ) -> Self {
        Self {
            shared,
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
        }
    }

    pub(super) fn run(mut self) {
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
        let syncing = Instant::now();
        self.file.sync_data()?;
        let observer = self
            .shared
            .sync_observer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(SyncObserver(observe)) = observer {
            observe(syncing.elapsed());
        }
        Ok(())
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
