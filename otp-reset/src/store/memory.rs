//! Stores that keep everything in this process's memory: for tests, development, and a
//! single-process deployment that accepts losing codes on restart.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use dashmap::DashMap;

use super::{
    LedgerStore, PhoneLedger, PhoneRecords, StandInCache, StoreError, User, UserId, UserStore,
};
use crate::{OtpRules, PhoneNumber, Timestamp};

/// Codes and limits in memory: one [`PhoneLedger`] per phone in a sharded map, each step run
/// under its shard's lock, so every call is atomic per phone and phones on different shards
/// never wait for each other; stand-ins in a bounded [`StandInCache`] beside it. Ledgers are boxed, so the map's spare capacity costs a pointer per
/// slot, not a ledger: about 200 bytes per active code in all (`BENCHMARKS.md`). With a million
/// phones, run it on an allocator that keeps each request's blocks together, such as mimalloc:
/// on glibc's, a verification then costs 1.5 times what it does with a thousand phones, on
/// mimalloc's 1.2 times.
///
/// ```
/// # tokio_test_block_on(async {
/// use otp_reset::{MemoryOtpStore, OtpRules, OtpStore, Timestamp};
///
/// let store = MemoryOtpStore::new();
/// let purged = store.purge_expired(Timestamp::from_millis(0), &OtpRules::DEFAULT).await?;
/// assert_eq!(purged, 0);
/// assert!(store.is_empty());
/// # Ok::<(), otp_reset::StoreError>(())
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Default)]
pub struct MemoryOtpStore {
    ledgers: DashMap<PhoneNumber, Box<PhoneLedger>>,
    stand_ins: StandInCache,
}

impl MemoryOtpStore {
    /// An empty store, keeping stand-ins for [`StandInCache::DEFAULT_CAPACITY`] phones.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store keeping stand-ins for at most `phones` phones.
    pub fn with_stand_in_capacity(phones: usize) -> Self {
        Self {
            ledgers: DashMap::new(),
            stand_ins: StandInCache::new(phones),
        }
    }

    /// How many phones have a ledger (a user's code or live limits).
    pub fn len(&self) -> usize {
        self.ledgers.len()
    }

    /// Whether no phone has a ledger.
    pub fn is_empty(&self) -> bool {
        self.ledgers.is_empty()
    }

    /// How many phones have stand-ins.
    pub fn stand_in_phones(&self) -> usize {
        self.stand_ins.len()
    }

    /// Runs a step on the phone's records, ledger lock first, and drops an empty ledger.
    fn step<T>(&self, phone: &PhoneNumber, step: impl FnOnce(PhoneRecords<'_>) -> T) -> T {
        let mut ledger = self.ledgers.entry(*phone).or_default();
        let result = self.stand_ins.step(phone, |stand_ins| {
            step(PhoneRecords {
                ledger: &mut ledger,
                stand_ins,
            })
        });
        let empty = ledger.is_empty();
        drop(ledger);
        if empty {
            self.ledgers.remove_if(phone, |_, ledger| ledger.is_empty());
        }
        result
    }
}

impl LedgerStore for MemoryOtpStore {
    async fn with_ledger<T, F>(&self, phone: &PhoneNumber, step: F) -> Result<T, StoreError>
    where
        F: FnOnce(PhoneRecords<'_>) -> T + Send,
        T: Send,
    {
        Ok(self.step(phone, step))
    }

    async fn purge_ledgers(&self, now: Timestamp, rules: &OtpRules) -> Result<usize, StoreError> {
        let mut purged = 0;
        self.ledgers.retain(|_, ledger| {
            purged += usize::from(ledger.purge(now, rules));
            !ledger.is_empty()
        });
        purged += self.stand_ins.purge(now, rules);
        Ok(purged)
    }
}

/// Users in memory, keyed by phone number. Password changes are lost on restart.
///
/// ```
/// use otp_reset::{MemoryUserStore, User, UserId};
///
/// let users = MemoryUserStore::from_users([User {
///     id: UserId("1".into()),
///     name: "John Doe".into(),
///     phone: "081234567890".parse()?,
///     password: "password123".into(),
/// }]);
/// assert_eq!(users.len(), 1);
/// # Ok::<(), otp_reset::PhoneError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryUserStore {
    users: RwLock<Users>,
}

#[derive(Debug, Default)]
struct Users {
    by_phone: HashMap<PhoneNumber, User>,
    phone_of: HashMap<UserId, PhoneNumber>,
}

impl MemoryUserStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `users`; of several users with one phone, the last one wins.
    pub fn from_users(users: impl IntoIterator<Item = User>) -> Self {
        let store = Self::new();
        for user in users {
            store.insert(user);
        }
        store
    }

    /// Adds `user`, replacing any user with the same id or phone.
    pub fn insert(&self, user: User) {
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(old_phone) = users.phone_of.insert(user.id.clone(), user.phone) {
            users.by_phone.remove(&old_phone);
        }
        if let Some(displaced) = users.by_phone.insert(user.phone, user) {
            users.phone_of.remove(&displaced.id);
        }
    }

    /// How many users the store holds.
    pub fn len(&self) -> usize {
        self.read().by_phone.len()
    }

    /// Whether the store holds no user.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Users> {
        self.users.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl UserStore for MemoryUserStore {
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        Ok(self.read().by_phone.get(phone).cloned())
    }

    async fn set_password_hash(&self, id: &UserId, phc: &str) -> Result<bool, StoreError> {
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        let Some(phone) = users.phone_of.get(id).copied() else {
            return Ok(false);
        };
        Ok(users
            .by_phone
            .get_mut(&phone)
            .map(|user| user.password = phc.to_owned())
            .is_some())
    }
}
