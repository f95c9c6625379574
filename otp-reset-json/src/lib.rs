//! Users and codes of [`otp_reset`] in one JSON data file, safe against crashes.
//!
//! A [`JsonStore`] is both the [`UserStore`] and the [`OtpStore`](otp_reset::OtpStore) of a
//! [`ForgotPassword`](otp_reset::ForgotPassword) service: one file (`data.json`) that holds the
//! site's users, their codes and the per-phone limits, in the seed's format that other tools of
//! the site read and write too. It suits one process on one machine; the README describes the
//! file's format.
//!
//! # Mounting the flow over a data file
//!
//! ```
//! use axum::Router;
//! use otp_reset::{CodeHasher, ConsoleSender, ForgotPassword};
//! use otp_reset_json::JsonStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("otp-reset-json-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("data.json");
//! // The secret keys every code digest: the store's and the service's must be the same.
//! let secret = [7u8; 32];
//! let store = JsonStore::open(&path, &CodeHasher::new(&secret)?)?;
//! let forgot_password = ForgotPassword::builder(store.clone(), store, ConsoleSender::new())
//!     .with_secret(secret)
//!     .build()?;
//!
//! let app: Router = Router::new().nest_service("/api/forgot-password", forgot_password);
//! # drop(app);
//! # std::fs::remove_dir_all(dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! # What it guarantees
//!
//! - **Nothing acknowledged is lost.** A change is appended to a journal and synced
//!   (`fdatasync`) before the call that made it returns; `kill -9` or a power cut at any moment
//!   loses only changes nobody was told were stored.
//! - **A whole file at every instant.** `data.json` is only ever replaced by a synced
//!   rename, so it is valid JSON whenever another tool reads it, a few seconds behind at most.
//! - **Atomic steps.** Every store step runs under one lock, as the [`OtpStore`](otp_reset::OtpStore) contract asks;
//!   the crate passes the `otp_reset` conformance suite.
//! - **Owner-only files.** The data file, its journal and every snapshot are 0600, and a file
//!   open to others is made so when the store opens it.
//! - **Recovery from faults by itself.** A full disk or a lack of file handles refuses changes
//!   (an error, never a wrong answer) only while it lasts ([`JsonStore::failure`]).
//! - **One process per file.** A lock file keeps a second store off the same data file.
//! - **Old files read as they are.** Plain-text codes and passwords, numbers as typed and
//!   timestamps in either form are read; plain-text passwords are hashed in the background
//!   ([`JsonStore::upgrade_plain_passwords`]).
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
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod backoff;
mod code_entry;
mod error;
mod fold;
mod format;
mod inner;
mod journal;
mod open;
mod options;
mod owner_only;
mod password_upgrade;
mod state;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use otp_reset::store::{LedgerStore, PhoneRecords};
use otp_reset::{OtpRules, PhoneNumber, StoreError, Timestamp, User, UserId, UserStore};

pub use self::error::OpenError;
use self::inner::{Guarded, Inner};
pub use self::options::StoreOptions;

/// Users and codes in a JSON data file; implements both [`UserStore`] and, through
/// [`LedgerStore`], [`OtpStore`](otp_reset::OtpStore).
///
/// Cloning is cheap: clones share the file. [`JsonStore::close`] folds the journal in and
/// releases the file; dropping the last clone does the same.
#[derive(Clone, Debug)]
pub struct JsonStore {
    inner: Arc<Inner>,
}

fn unavailable(reason: &str) -> StoreError {
    StoreError::Unavailable(reason.to_owned().into())
}

impl JsonStore {
    /// Folds the journal into `data.json` now.
    pub fn compact(&self) -> std::io::Result<()> {
        self.inner.compact()
    }

    /// Folds the journal in and stops the background threads; what a server does on shutdown.
    /// Later calls on any clone fail.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("otp-reset-json-close-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// use otp_reset::{CodeHasher, UserId, UserStore};
    /// use otp_reset_json::JsonStore;
    ///
    /// let store = JsonStore::open(dir.join("data.json"), &CodeHasher::new(&[7; 32])?)?;
    /// store.close()?;
    /// assert!(store.failure().is_some());
    /// assert!(store.set_password_hash(&UserId("1".into()), "$argon2id$…").await.is_err());
    /// # std::fs::remove_dir_all(dir)?;
    /// # Ok(())
    /// # }
    /// ```
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
    /// once the disk takes writes again. A health check reports it:
    ///
    /// ```
    /// # use otp_reset_json::JsonStore;
    /// fn healthy(store: &JsonStore) -> Result<(), String> {
    ///     match store.failure() {
    ///         Some(reason) => Err(format!("the data file cannot be written: {reason}")),
    ///         None => Ok(()),
    ///     }
    /// }
    /// ```
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

    /// From now on, calls `observe` with how long each sync (`fdatasync`) of the journal took,
    /// such as for a metrics histogram: every acknowledged change waits for one. It replaces
    /// the observer set before, runs on the journal's writer thread after each successful sync,
    /// and must be quick (it delays the next sync).
    ///
    /// ```no_run
    /// # fn observed(store: &otp_reset_json::JsonStore) {
    /// store.observe_journal_syncs(|took| tracing::debug!(?took, "journal synced"));
    /// # }
    /// ```
    pub fn observe_journal_syncs(&self, observe: impl Fn(Duration) + Send + Sync + 'static) {
        self.inner.journal.observe_syncs(Arc::new(observe));
    }

    /// How many phones have stand-ins in memory (at most the capacity of [`StoreOptions`]).
    pub fn stand_in_phones(&self) -> usize {
        self.inner.stand_ins.len()
    }

    /// How many users the file holds.
    pub fn user_count(&self) -> usize {
        self.inner.lock().state.users.len()
    }

    /// Every user with a usable phone number, in the file's order, as lookups return them (a
    /// password as stored: a PHC string, or plain text from an old file): for copying the users
    /// into another store. A user whose number does not parse is left out.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("otp-reset-json-users-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("data.json");
    /// std::fs::write(&path, r#"{"users":[{"id":1,"nama":"John Doe","noHp":"081234567890","password":"password123"}],"otps":[]}"#)?;
    /// let store = otp_reset_json::JsonStore::open(&path, &otp_reset::CodeHasher::new(&[7; 32])?)?;
    /// let users = store.users();
    /// assert_eq!(users.len(), 1);
    /// assert_eq!(users[0].phone.digits(), "6281234567890");
    /// # drop(store);
    /// # std::fs::remove_dir_all(dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn users(&self) -> Vec<User> {
        let guarded = self.inner.lock();
        guarded
            .state
            .users
            .iter()
            .filter_map(|user| user.phone.map(|phone| user.to_user(phone)))
            .collect()
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
