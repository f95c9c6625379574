//! What the crate's tests share: the real Redis, a unique prefix per test, and cleanup.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use otp_reset::store::{
    ClientKey, CodeRecord, ConsumeOutcome, IssueOutcome, NewCode, Proof, VerifyOutcome,
};
use otp_reset::{Digest, OtpRules, OtpStore, PhoneNumber, StoreError, Timestamp};
use otp_reset_redis::{RedisOptions, RedisOtpStore};

/// The Redis the tests use: `OTP_RESET_TEST_REDIS_URL`, or the local default.
pub fn redis_url() -> String {
    std::env::var("OTP_RESET_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix no other test (or test run) uses.
pub fn unique_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "otp-reset-test:{}-{}-{}:",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

/// Fails the test, saying what to do, unless the test Redis answers.
pub fn require_redis() {
    let url = redis_url();
    let reachable = redis::Client::open(url.as_str())
        .and_then(|client| client.get_connection_with_timeout(std::time::Duration::from_secs(2)))
        .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn));
    if let Err(e) = reachable {
        panic!(
            "no Redis at {} ({e}): start Redis (apt-get install redis-server; redis-server), \
             or set OTP_RESET_TEST_REDIS_URL",
            otp_reset_redis::redacted_url(&url)
        );
    }
}

/// Deletes every key under `prefix`, synchronously (it runs in `Drop`, also on a panic).
pub fn delete_prefix(prefix: &str) {
    let Ok(client) = redis::Client::open(redis_url().as_str()) else {
        return;
    };
    let Ok(mut conn) = client.get_connection_with_timeout(std::time::Duration::from_secs(2)) else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut conn)
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut conn);
    }
}

/// Keys under `prefix`, with their remaining lifetime in ms.
pub fn keys_with_pttl(prefix: &str) -> Vec<(String, i64)> {
    let client = redis::Client::open(redis_url().as_str()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut conn)
        .unwrap();
    keys.into_iter()
        .map(|key| {
            let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut conn).unwrap();
            (key, ttl)
        })
        .collect()
}

/// A store on the test Redis under its own prefix, whose keys go when it is dropped.
#[derive(Debug)]
pub struct TestStore {
    pub store: RedisOtpStore,
    pub prefix: String,
}

impl TestStore {
    pub async fn new() -> Self {
        Self::with_options(|options| options).await
    }

    /// A store with options changed by `change` (the URL and prefix are set already).
    pub async fn with_options(change: impl FnOnce(RedisOptions) -> RedisOptions) -> Self {
        require_redis();
        let prefix = unique_prefix();
        let options = change(RedisOptions::new(redis_url()).with_key_prefix(&prefix));
        let store = RedisOtpStore::connect(options).await.unwrap();
        Self { store, prefix }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        delete_prefix(&self.prefix);
    }
}

impl OtpStore for TestStore {
    async fn issue(
        &self,
        phone: &PhoneNumber,
        code: NewCode,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<IssueOutcome, StoreError> {
        self.store.issue(phone, code, now, rules).await
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
        self.store
            .verify(phone, client, candidate, reset_token, now, rules)
            .await
    }

    async fn consume(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        proof: Proof,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<ConsumeOutcome, StoreError> {
        self.store.consume(phone, client, proof, now, rules).await
    }

    async fn restore(
        &self,
        phone: &PhoneNumber,
        record: CodeRecord,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.store.restore(phone, record, now).await
    }

    async fn purge_expired(&self, now: Timestamp, rules: &OtpRules) -> Result<usize, StoreError> {
        self.store.purge_expired(now, rules).await
    }
}

pub fn phone(n: u64) -> PhoneNumber {
    PhoneNumber::from_u64(6_281_300_000_000 + n).unwrap()
}

pub fn now() -> Timestamp {
    use otp_reset::Clock;
    otp_reset::SystemClock.now()
}

/// A code for user "1", with digest bytes all `byte`.
pub fn new_code(byte: u8) -> NewCode {
    NewCode {
        otp_id: otp_reset::OtpId::generate(),
        digest: Digest::from_bytes([byte; 32]),
        user_id: Some(otp_reset::UserId("1".into())),
        pair: otp_reset::store::PairKey::from_u64(1),
        lang: otp_reset::Lang::En,
    }
}
