//! What the service needs from storage: users, and codes with their per-phone limits.
//!
//! # Generic, not `dyn`
//!
//! The service is generic over its stores ([`UserStore`], [`OtpStore`]) because they sit on every
//! request's path: a generic call is inlined and allocates nothing, where a `dyn` call through
//! `async-trait` boxes a future per call. The traits use `impl Future + Send` in their methods,
//! which makes them not object-safe; a server that picks its store at run time (from a setting)
//! wraps its candidates in an enum that implements the trait by delegating, which keeps the
//! static dispatch. The [`Sender`](crate::Sender) is the opposite case: it is chosen at run time,
//! works off the request path and costs a network round trip, so it is an `Arc<dyn Sender>`.
//!
//! # What every store must guarantee
//!
//! Each method's doc states its contract. In short: every [`OtpStore`] method is one atomic
//! step per phone (no interleaving of two calls on the same phone can be observed), and
//! [`OtpStore::consume`] succeeds at most once per issued code. No stranger can spoil a
//! user's reset: a pair that matches no user gets a stand-in kept apart from the user's code,
//! wrong guesses are counted per client, and a reset token once handed out stays good. The
//! reference semantics are [`PhoneRecords`]; the conformance suite (feature `conformance`)
//! checks them under concurrency, and every store runs it.

mod keys;
mod ledger;
mod ledger_store;
mod memory;
mod phone_ledger;
mod stand_in;

use std::future::Future;
use std::time::Duration;

pub use keys::{Attempts, ClientAddress, ClientKey, PairKey};
pub use ledger::PhoneRecords;
pub use ledger_store::LedgerStore;
pub use memory::{MemoryOtpStore, MemoryUserStore};
pub use phone_ledger::PhoneLedger;
pub use stand_in::{StandInCache, StandIns};

use crate::{Digest, Lang, OtpId, OtpRules, PhoneNumber, Timestamp};

/// A store failed: it could not be reached, timed out, or found its data corrupt.
///
/// The service answers these with 503 and never shows their text to the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or did not answer in time.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The backend answered with data the store cannot read.
    #[error("store data corrupt: {0}")]
    Corrupt(String),
}

/// The opaque key of a user in its store.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserId(pub String);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user as a [`UserStore`] returns it.
#[derive(Clone)]
pub struct User {
    /// The store's key for the user.
    pub id: UserId,
    /// The name as registered (the seed's `nama`).
    pub name: String,
    /// The normalised phone number (the seed's `noHp`).
    pub phone: PhoneNumber,
    /// The stored password: an argon2 PHC string, or plain text from a legacy data file (see
    /// [`Passwords::verify`](crate::Passwords::verify)).
    pub password: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("phone", &self.phone)
            .finish_non_exhaustive()
    }
}

/// Whether a name a user typed matches the registered one: letters compared without case, and
/// spaces around and between words ignored, so "john  doe " matches "John Doe".
///
/// ```
/// assert!(otp_reset::names_match("John Doe", " john  DOE"));
/// assert!(!otp_reset::names_match("John Doe", "John"));
/// ```
pub fn names_match(registered: &str, typed: &str) -> bool {
    folded_name(registered) == folded_name(typed)
}

/// A name as [`names_match`] compares it: its words in lower case, one space between them.
pub(crate) fn folded_name(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        if !folded.is_empty() {
            folded.push(' ');
        }
        folded.extend(word.chars().flat_map(char::to_lowercase));
    }
    folded
}

/// Where users live.
///
/// One phone number belongs to at most one user; when a legacy store holds several, the store
/// decides which one it returns, always the same one.
pub trait UserStore: Send + Sync + 'static {
    /// The user with this phone number, if any.
    fn find_by_phone(
        &self,
        phone: &PhoneNumber,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// The user with this phone number whose registered name matches `name` under
    /// [`names_match`]; `None` when there is no user with the number or the names differ.
    fn find_by_name_and_phone(
        &self,
        name: &str,
        phone: &PhoneNumber,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send {
        async move {
            Ok(self
                .find_by_phone(phone)
                .await?
                .filter(|user| names_match(&user.name, name)))
        }
    }

    /// Replaces the user's stored password with `phc`, an argon2 PHC string.
    ///
    /// Returns `false` when no user has this id. Once it returns `Ok(true)` the new password is
    /// durable as far as the store can make it (a file store has synced it), and a later
    /// [`UserStore::find_by_phone`] returns it.
    fn set_password_hash(
        &self,
        id: &UserId,
        phc: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A code issued to one phone, as a store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    /// The id returned as `data.otpId`.
    pub otp_id: OtpId,
    /// The keyed digest of the code.
    pub digest: Digest,
    /// The user the code was sent to, whose password it resets; `None` for the stand-in kept
    /// for a pair that matches no user (whose digest no code matches).
    pub user_id: Option<UserId>,
    /// The language the code was sent in, which the password-changed notice uses too.
    pub lang: Lang,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
    /// Wrong guesses so far, per client.
    pub attempts: Attempts,
    /// Whether the right code has been given.
    pub verified: bool,
    /// The digest of the reset token handed out at verification, if any.
    pub reset_token: Option<Digest>,
}

/// A code to issue, as the service hands it to [`OtpStore::issue`].
#[derive(Clone, Debug)]
pub struct NewCode {
    /// Its id.
    pub otp_id: OtpId,
    /// The keyed digest of the code.
    pub digest: Digest,
    /// The user it is sent to, or `None` for a stand-in for a pair that matches no user. A
    /// stand-in is stored and limited exactly like a real code, so that nothing an attacker can
    /// observe tells the two apart, but apart from the user's code, which it never touches.
    pub user_id: Option<UserId>,
    /// The name and phone pair asked for; a stand-in is kept and limited per pair, as a real
    /// code is per user.
    pub pair: PairKey,
    /// The language it is sent in.
    pub lang: Lang,
}

/// What [`OtpStore::issue`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueOutcome {
    /// The code is now the phone's only active code.
    Issued,
    /// The phone may not have a new code yet.
    Refused(Refusal),
}

/// Why a phone may not have a new code yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The previous code was issued less than the resend cooldown ago.
    Cooldown {
        /// Until the cooldown ends.
        retry_after: Duration,
    },
    /// The phone received its quota of codes within the send window.
    SendCap {
        /// Until the oldest send in the window leaves it.
        retry_after: Duration,
    },
    /// Too many consecutive failed guesses on this phone.
    LockedOut {
        /// Until the lockout ends.
        retry_after: Duration,
    },
}

impl Refusal {
    /// How long the phone has to wait.
    pub fn retry_after(self) -> Duration {
        match self {
            Self::Cooldown { retry_after }
            | Self::SendCap { retry_after }
            | Self::LockedOut { retry_after } => retry_after,
        }
    }
}

/// What [`OtpStore::verify`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// The code was right; it is now verified, and the reset token passed to
    /// [`OtpStore::verify`] is attached to it.
    Verified {
        /// The code's id.
        otp_id: OtpId,
    },
    /// The code was wrong; the attempt was counted.
    Mismatch {
        /// Wrong guesses the code still survives (0: it is used up).
        attempts_left: u32,
        /// Consecutive failures on this phone across codes, this one included.
        consecutive_failures: u32,
    },
    /// This client's attempts at the code were already used up; the guess counted only
    /// towards the phone's lockout.
    AttemptsExhausted,
    /// The code expired; nothing was counted.
    Expired,
    /// The phone has no code.
    NoCode,
    /// Too many failed guesses on the phone: no guess is taken until the lockout ends.
    LockedOut {
        /// Until the lockout ends.
        retry_after: Duration,
    },
}

/// What proves the right to reset: the code itself or the token its verification returned.
#[derive(Clone, Copy, Debug)]
pub enum Proof {
    /// The digest of the code (the seed's `otp` field).
    Code(Digest),
    /// The digest of the reset token.
    ResetToken(Digest),
}

/// What [`OtpStore::consume`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumeOutcome {
    /// The code was verified and the proof right: it is removed and returned. Only one call per
    /// issued code ever gets this.
    Consumed(CodeRecord),
    /// The proof was wrong; the attempt was counted like a wrong guess.
    Mismatch {
        /// Wrong guesses the code still survives.
        attempts_left: u32,
        /// Consecutive failures on this phone across codes.
        consecutive_failures: u32,
    },
    /// The proof was right but the code was never verified.
    NotVerified,
    /// This client's attempts at the code are used up.
    AttemptsExhausted,
    /// The code expired.
    Expired,
    /// The phone has no code (never issued, already consumed, or purged).
    NoCode,
    /// Too many failed guesses on the phone; only a reset token is taken until the lockout ends.
    LockedOut {
        /// Until the lockout ends.
        retry_after: Duration,
    },
}

/// Where codes and the per-phone limits live.
///
/// Every method is **atomic per phone**: whatever runs concurrently on the same phone, the
/// result is as if the calls ran one after the other. Times come from the caller (`now`), never
/// from the store's own clock. [`PhoneRecords`] is the reference semantics; a store that keeps
/// a [`PhoneLedger`] per phone (behind a lock, its stand-ins in a [`StandInCache`]) implements
/// [`LedgerStore`] instead and gets this trait from it.
pub trait OtpStore: Send + Sync + 'static {
    /// Issues `code` for `phone`, unless the phone is locked out, or the user (for a stand-in:
    /// the pair) has had [`OtpRules::max_sends_per_window`] codes within the window or got one
    /// less than [`OtpRules::resend_cooldown`] ago. A real code replaces the user's previous one
    /// (whose attempts and verification are gone with it) and counts as one send; a stand-in
    /// replaces only its pair's stand-in, counts only against its pair, and never touches the
    /// user's code or limits. Failures on the phone are not reset by a new code.
    fn issue(
        &self,
        phone: &PhoneNumber,
        code: NewCode,
        now: Timestamp,
        rules: &OtpRules,
    ) -> impl Future<Output = Result<IssueOutcome, StoreError>> + Send;

    /// Records one verification attempt by `client` in one step, as [`PhoneRecords::verify`]:
    /// refused while the phone is locked out; compares `candidate` with the user's code digest
    /// (keyed digests, so a plain equality test leaks nothing useful) unless `client` used up
    /// its attempts on it; if right, marks the code verified, attaches `reset_token` and resets
    /// the phone's failures; if wrong, counts the attempt for `client` on the phone's newest
    /// code (real or stand-in) and the failure on the phone. However many attempts race, no
    /// client ever gets more than [`OtpRules::max_attempts`] wrong guesses at a code, and a code
    /// is never verified by a client after it had them. A wrong guess never touches a code's
    /// verification or reset token.
    fn verify(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        candidate: &Digest,
        reset_token: &Digest,
        now: Timestamp,
        rules: &OtpRules,
    ) -> impl Future<Output = Result<VerifyOutcome, StoreError>> + Send;

    /// Removes and returns the phone's code if it is verified, unexpired and `proof` matches
    /// it; exactly one of any number of racing calls succeeds. The reset token is taken even
    /// while the phone is locked out. A wrong proof counts as a wrong guess by `client`, as in
    /// [`OtpStore::verify`].
    fn consume(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        proof: Proof,
        now: Timestamp,
        rules: &OtpRules,
    ) -> impl Future<Output = Result<ConsumeOutcome, StoreError>> + Send;

    /// Puts back a code [`OtpStore::consume`] returned, when the reset that consumed it failed
    /// afterwards, so the user can try again. Does nothing (returns `false`) if the phone has a
    /// live code meanwhile or `record` has expired.
    fn restore(
        &self,
        phone: &PhoneNumber,
        record: CodeRecord,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes every code and stand-in expired at `now`, and the counters that no longer limit
    /// anything; returns how many codes it deleted. Never deletes a live code.
    fn purge_expired(
        &self,
        now: Timestamp,
        rules: &OtpRules,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}
