//! The stores the server picks at run time: [`Users`] and [`Otps`] name every store the server
//! can run on and delegate to it, one `match` per method.
//!
//! Enums rather than `dyn` keep the service's stores static, as the `otp_reset::store` docs
//! advise: a request pays one branch, not a boxed future. A new store is a new variant here and
//! an arm in `on_user_store!` or `on_otp_store!`; nothing else moves.

use std::sync::Arc;

use otp_reset::{
    ClientKey, CodeRecord, ConsumeOutcome, Digest, IssueOutcome, MemoryOtpStore, NewCode, OtpRules,
    OtpStore, PhoneNumber, Proof, StoreError, Timestamp, User, UserId, UserStore, VerifyOutcome,
};
use otp_reset_json::JsonStore;
use otp_reset_postgres::PgUserStore;
use otp_reset_redis::RedisOtpStore;

/// Runs `$call` with `$store` bound to the user store inside `$users`, whichever it is.
macro_rules! on_user_store {
    ($users:expr, $store:ident => $call:expr) => {
        match $users {
            Users::Json($store) => $call,
            Users::Postgres($store) => $call,
        }
    };
}

/// Runs `$call` with `$store` bound to the code store inside `$otps`, whichever it is.
macro_rules! on_otp_store {
    ($otps:expr, $store:ident => $call:expr) => {
        match $otps {
            Otps::Json($store) => $call,
            Otps::Memory($store) => $call,
            Otps::Redis($store) => $call,
        }
    };
}

/// Where the server's users live.
#[derive(Clone, Debug)]
pub enum Users {
    /// The JSON data file.
    Json(JsonStore),
    /// A PostgreSQL table, shared by several instances.
    Postgres(PgUserStore),
}

/// Where the server's codes and per-phone limits live.
#[derive(Clone, Debug)]
pub enum Otps {
    /// The JSON data file, with the users: kept across restarts.
    Json(JsonStore),
    /// The process's memory: lost at a restart, with the per-phone limits. Shared, as the
    /// JSON store's clones share their file.
    Memory(Arc<MemoryOtpStore>),
    /// Redis: shared by every server instance that points at it.
    Redis(RedisOtpStore),
}

impl Users {
    /// Replaces a user's password with `phc` only while it is still `expected`, durably;
    /// `Ok(false)` when no user has this id or the password changed meanwhile (so an upgrade of
    /// an old password never overwrites a newer one).
    pub async fn replace_password_hash(
        &self,
        id: &UserId,
        expected: &str,
        phc: &str,
    ) -> Result<bool, StoreError> {
        on_user_store!(self, store => store.replace_password_hash(id, expected, phc).await)
    }

    /// Why the store cannot take changes right now, if it cannot.
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Self::Json(store) => store.failure().map(Failure::data_file),
            Self::Postgres(store) => store.failure().map(|detail| Failure {
                public: "the user database cannot be reached right now",
                detail,
            }),
        }
    }

    /// Asks a store that lives elsewhere whether it answers now, so that [`Users::failure`]
    /// is current; a data file's faults are known without asking.
    pub async fn check(&self) {
        if let Self::Postgres(store) = self {
            // The outcome lands in `failure`.
            let _ = store.check().await;
        }
    }
}

/// Why a store cannot take changes: what a client may be told, and what the log gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// For the health check's answer: says which store, nothing of its internals.
    pub public: &'static str,
    /// For the log.
    pub detail: String,
}

impl Failure {
    fn data_file(detail: String) -> Self {
        Self {
            public: "the data file cannot be written right now",
            detail,
        }
    }
}

impl Otps {
    /// Why the store cannot take changes right now, if it cannot.
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Self::Json(store) => store.failure().map(Failure::data_file),
            Self::Memory(_) => None,
            Self::Redis(store) => store.failure().map(|detail| Failure {
                public: "the code store cannot be reached right now",
                detail,
            }),
        }
    }
}

/// Both stores, for what asks about them together (the health check).
#[derive(Clone, Debug)]
pub struct Stores {
    /// The users.
    pub users: Users,
    /// The codes.
    pub otps: Otps,
}

impl Stores {
    /// Why the server cannot take changes right now: the first store that says so, after
    /// asking the stores that live elsewhere.
    pub async fn failure(&self) -> Option<Failure> {
        self.users.check().await;
        self.users.failure().or_else(|| self.otps.failure())
    }
}

impl UserStore for Users {
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        on_user_store!(self, store => store.find_by_phone(phone).await)
    }

    async fn find_by_name_and_phone(
        &self,
        name: &str,
        phone: &PhoneNumber,
    ) -> Result<Option<User>, StoreError> {
        on_user_store!(self, store => store.find_by_name_and_phone(name, phone).await)
    }

    async fn set_password_hash(&self, id: &UserId, phc: &str) -> Result<bool, StoreError> {
        on_user_store!(self, store => store.set_password_hash(id, phc).await)
    }
}

impl OtpStore for Otps {
    async fn issue(
        &self,
        phone: &PhoneNumber,
        code: NewCode,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<IssueOutcome, StoreError> {
        on_otp_store!(self, store => store.issue(phone, code, now, rules).await)
    }

    async fn verify(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        candidate: &Digest,
        reset_token: &Digest,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<VerifyOutcome, StoreError> {
        on_otp_store!(self, store => store.verify(phone, client, candidate, reset_token, now, rules).await)
    }

    async fn consume(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        proof: Proof,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<ConsumeOutcome, StoreError> {
        on_otp_store!(self, store => store.consume(phone, client, proof, now, rules).await)
    }

    async fn restore(
        &self,
        phone: &PhoneNumber,
        record: CodeRecord,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        on_otp_store!(self, store => store.restore(phone, record, now).await)
    }

    async fn purge_expired(&self, now: Timestamp, rules: &OtpRules) -> Result<usize, StoreError> {
        on_otp_store!(self, store => store.purge_expired(now, rules).await)
    }
}
