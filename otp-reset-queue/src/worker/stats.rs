//! What a worker did, counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts of what a [`SenderWorker`](crate::SenderWorker) did with the entries it took, since
/// it was made. Cheap to clone; every clone sees the same counts.
#[derive(Clone, Debug, Default)]
pub struct WorkerStats(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    sent: AtomicU64,
    expired: AtomicU64,
    already_sent: AtomicU64,
    unknown: AtomicU64,
    not_registered: AtomicU64,
    unreadable: AtomicU64,
    decoys: AtomicU64,
}

/// What became of one entry.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outcome {
    Sent,
    Expired,
    AlreadySent,
    Unknown,
    NotRegistered,
    Unreadable,
    Decoy,
}

impl WorkerStats {
    pub(crate) fn count(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Sent => &self.0.sent,
            Outcome::Expired => &self.0.expired,
            Outcome::AlreadySent => &self.0.already_sent,
            Outcome::Unknown => &self.0.unknown,
            Outcome::NotRegistered => &self.0.not_registered,
            Outcome::Unreadable => &self.0.unreadable,
            Outcome::Decoy => &self.0.decoys,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Messages the sender delivered.
    pub fn sent(&self) -> u64 {
        self.0.sent.load(Ordering::Relaxed)
    }

    /// Decoys dropped, as they are meant to be (see
    /// [`Sender::send_decoy`](otp_reset::Sender::send_decoy)).
    pub fn decoys(&self) -> u64 {
        self.0.decoys.load(Ordering::Relaxed)
    }

    /// Messages dropped unsent because their code had expired.
    pub fn expired(&self) -> u64 {
        self.0.expired.load(Ordering::Relaxed)
    }

    /// Messages taken over from a worker that had already delivered them (its record said so,
    /// or the sender found the message under the recorded key): not sent again.
    pub fn already_sent(&self) -> u64 {
        self.0.already_sent.load(Ordering::Relaxed)
    }

    /// Messages taken over whose delivery the sender could not tell: dropped rather than
    /// risk sending them twice.
    pub fn unknown(&self) -> u64 {
        self.0.unknown.load(Ordering::Relaxed)
    }

    /// Messages to numbers with no account on the messaging service.
    pub fn not_registered(&self) -> u64 {
        self.0.not_registered.load(Ordering::Relaxed)
    }

    /// Entries that did not unseal (another secret, another format): dropped.
    pub fn unreadable(&self) -> u64 {
        self.0.unreadable.load(Ordering::Relaxed)
    }
}
