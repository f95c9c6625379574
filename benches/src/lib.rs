//! Benchmarks of `otp-reset`; `BENCHMARKS.md` at the root has the figures and the commands.
//!
//! - `cargo bench -p benches --bench verify`: verification through the Service in-process, with
//!   the in-memory and the JSON file store, one at a time and 32 in flight, with 1 thousand to
//!   1 million users and codes.
//! - `cargo bench -p benches --bench flow`: request-otp for a known and an unknown pair.
//! - `cargo bench -p benches --bench stores`: the in-memory and the Redis store side by side
//!   (verify-otp right and wrong, request-otp), one at a time and 32 in flight.
//! - `cargo bench -p benches --bench hashing`: argon2id at the policy's parameters.
//! - `cargo run --release -p benches --bin code-memory`: bytes per active code in memory.
//! - `cargo run --release -p benches --bin sync-latency`: one durable append on this disk.
//! - `bash benches/load.sh`: HTTP on loopback (the example server, and `memory-server`: the flow
//!   over the in-memory stores mounted in axum).
//! - `bash benches/scale.sh`: HTTP on loopback, the example server with its codes in memory and
//!   in Redis, then two instances on one Redis against one.
//!
//! This library holds what the benchmarks share: stores seeded with many users and codes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::Path;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use otp_reset::{
    Clock, CodeHasher, Delivered, ForgotPassword, Lang, Message, NewCode, OtpId, OtpRules,
    OtpStore, PhoneNumber, Policy, SendError, Sender, SenderState, SystemClock, User, UserId,
    UserStore,
};
use otp_reset_json::JsonStore;
use serde_json::json;
use tower::ServiceExt;

/// The server secret of every benchmark service.
pub const SECRET: [u8; 32] = [7; 32];

/// The code every seeded phone has.
pub const CODE: &str = "123456";

/// Delivers nothing, instantly: the benchmarks measure the flow, not a transport.
#[derive(Debug, Clone, Copy)]
pub struct NullSender;

#[otp_reset::async_trait]
impl Sender for NullSender {
    async fn send(&self, _: &PhoneNumber, _: &Message) -> Result<Delivered, SendError> {
        Ok(Delivered::default())
    }

    fn state(&self) -> SenderState {
        SenderState::Ready
    }
}

/// The `i`th seeded phone: `0812` followed by eight digits.
pub fn phone_text(i: usize) -> String {
    format!("0812{i:08}")
}

/// The `i`th seeded phone, normalised.
pub fn phone(i: usize) -> PhoneNumber {
    phone_text(i)
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", phone_text(i)))
}

/// The policy of the benchmarks: the defaults, with 10 attempts so that wrong guesses keep being
/// counted (and written) for longer.
pub fn policy() -> Policy {
    Policy::builder()
        .with_max_attempts(10)
        .build()
        .unwrap_or_default()
}

/// A service over `users` and `otps`.
pub fn service<U: UserStore, O: OtpStore>(users: U, otps: O) -> ForgotPassword<U, O> {
    ForgotPassword::builder(users, otps, NullSender)
        .with_policy(policy())
        .with_secret(SECRET)
        .with_purge_interval(None)
        .build()
        .unwrap_or_else(|e| panic!("building the service: {e}"))
}

/// In-memory users `0..count`: user `i` is named `Pengguna i` and has phone [`phone`]`(i)`.
pub fn memory_users(count: usize) -> otp_reset::MemoryUserStore {
    otp_reset::MemoryUserStore::from_users((0..count).map(|i| User {
        id: UserId(i.to_string()),
        name: format!("Pengguna {i}"),
        phone: phone(i),
        password: "rahasia".into(),
    }))
}

/// The code [`CODE`] for user `i`, keyed with [`SECRET`] as the benchmark services key it.
pub fn seeded_code(codes: &CodeHasher, i: usize) -> NewCode {
    NewCode {
        otp_id: OtpId::generate(),
        digest: codes.code_digest(&phone(i), CODE),
        user_id: Some(UserId(i.to_string())),
        pair: otp_reset::store::PairKey::from_u64(1),
        lang: Lang::Id,
    }
}

/// In-memory stores with `count` users, each with an active code [`CODE`].
pub async fn memory_stores(
    count: usize,
) -> (otp_reset::MemoryUserStore, otp_reset::MemoryOtpStore) {
    let codes = CodeHasher::new(&SECRET).unwrap_or_else(|_| unreachable!());
    let users = memory_users(count);
    let otps = otp_reset::MemoryOtpStore::new();
    let now = SystemClock.now();
    let rules = OtpRules::DEFAULT;
    for i in 0..count {
        let _ = otps
            .issue(&phone(i), seeded_code(&codes, i), now, &rules)
            .await;
    }
    (users, otps)
}

/// A JSON data file at `path` with `count` users, each with an active code [`CODE`], written
/// directly in the seed's format (issuing a million codes through the journal would take a
/// million syncs): numbers as typed and plain-text codes, which the store hashes with its
/// secret when it opens the file.
pub fn write_json_data(path: &Path, count: usize) -> std::io::Result<()> {
    let now = jiff::Timestamp::now();
    let expires = now + jiff::SignedDuration::from_hours(24);
    let mut users = Vec::with_capacity(count);
    let mut otps = Vec::with_capacity(count);
    for i in 0..count {
        users.push(json!({ "id": i, "nama": format!("Pengguna {i}"), "email": format!("u{i}@example.com"), "noHp": phone_text(i), "password": "rahasia" }));
        otps.push(json!({
            "id": i + 1,
            "phoneNumber": phone_text(i),
            "otp": CODE,
            "createdAt": now.to_string(),
            "expiresAt": expires.to_string(),
            "attempts": 0,
            "verified": false,
            "userId": i,
        }));
    }
    let file = json!({ "users": users, "otps": otps });
    std::fs::write(
        path,
        serde_json::to_vec(&file).map_err(std::io::Error::other)?,
    )?;
    // On disk before anything is timed: the kernel writing a fresh file of a million users back
    // in the background would slow the store's own syncs.
    std::fs::File::open(path)?.sync_all()
}

/// A JSON file store with `count` users and codes in a fresh folder under `dir`, already
/// rewritten in the store's own format (so no fold of the seed's runs while a benchmark times).
pub fn json_store(dir: &Path, count: usize) -> JsonStore {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join("data.json");
    write_json_data(&path, count).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let codes = CodeHasher::new(&SECRET).unwrap_or_else(|_| unreachable!());
    let store = JsonStore::open(&path, &codes).unwrap_or_else(|e| panic!("{e}"));
    // The rewrite is synced before it replaces the seed.
    store
        .compact()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    store
}

/// A verify-otp request for phone `i`.
pub fn verify_request(i: usize, code: &str) -> Request<Full<Bytes>> {
    let body = format!(r#"{{"noHp":"{}","otp":"{code}"}}"#, phone_text(i));
    Request::post("/verify-otp")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Sends one request through the service and returns the status.
pub async fn call<U: UserStore, O: OtpStore>(
    service: &ForgotPassword<U, O>,
    request: Request<Full<Bytes>>,
) -> u16 {
    match service.clone().oneshot(request).await {
        Ok(response) => response.status().as_u16(),
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_phone_has_the_code_on_either_store() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = std::env::temp_dir().join(format!("benches-seed-{}", std::process::id()));
        let store = json_store(&dir, 3);
        runtime.block_on(async {
            let json = service(store.clone(), store);
            let (users, otps) = memory_stores(3).await;
            let memory = service(users, otps);
            for i in 0..3 {
                assert_eq!(call(&json, verify_request(i, CODE)).await, 200, "{i}");
                assert_eq!(call(&memory, verify_request(i, CODE)).await, 200, "{i}");
            }
        });
        let _ = std::fs::remove_dir_all(dir);
    }
}
