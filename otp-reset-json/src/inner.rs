//! What the clones of a store share: the state under its lock, the journal, the files and the
//! compactor; dropping the last clone folds the journal in.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use otp_reset::UserId;
use otp_reset::store::StandInCache;

use crate::journal::{Journal, JournalPaths};
use crate::state::State;

/// A store's shared part: one per data file, however many clones.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) state: Mutex<Guarded>,
    pub(crate) journal: Journal,
    pub(crate) data: PathBuf,
    pub(crate) journal_paths: JournalPaths,
    /// The data file's folder, held open so that syncing it needs no new file handle.
    pub(crate) dir: Arc<File>,
    pub(crate) compactor: Mutex<Option<std::thread::JoinHandle<()>>>,
    pub(crate) stop: Arc<Stop>,
    pub(crate) closed: AtomicBool,
    /// The size of the last snapshot written.
    pub(crate) snapshot_bytes: AtomicU64,
    /// `data.json` holds what the store writes differently (see [`State::load`]); folded in
    /// when a change would be.
    pub(crate) upgrade_pending: AtomicBool,
    /// How long after a change a small data file is rewritten with it.
    pub(crate) fold_delay_ms: AtomicU64,
    pub(crate) compacting: Mutex<()>,
    /// Stand-ins for made-up pairs: in memory only, bounded, never in the file.
    pub(crate) stand_ins: StandInCache,
    pub(crate) _lock: File,
}

/// Set to stop the compactor, which waits on it between looks.
pub(crate) type Stop = (Mutex<bool>, Condvar);

/// What the state lock guards.
#[derive(Debug)]
pub(crate) struct Guarded {
    pub(crate) state: State,
    /// Users whose last password line may not be on disk yet, with its number: a read of one
    /// waits for that line (and only that), so a fault of the disk leaves the others readable.
    pub(crate) unsettled: HashMap<UserId, u64>,
    /// The size at which `unsettled` is next pruned of lines that are on disk.
    prune_at: usize,
}

impl Guarded {
    pub(crate) fn new(state: State) -> Self {
        Self {
            state,
            unsettled: HashMap::new(),
            prune_at: 64,
        }
    }

    /// Notes that `id`'s password is in line `seq`.
    pub(crate) fn unsettle(&mut self, id: &UserId, seq: u64, durable: u64) {
        self.unsettled.insert(id.clone(), seq);
        if self.unsettled.len() >= self.prune_at {
            self.unsettled.retain(|_, line| *line > durable);
            self.prune_at = (self.unsettled.len() * 2).max(64);
        }
    }
}

impl Inner {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Guarded> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn stop_compactor(&self) {
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
