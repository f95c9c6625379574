//! What the store's tests share: fresh data files, the legacy fixture, and short steps.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use otp_reset::{
    ClientKey, CodeHasher, Digest, OtpRules, OtpStore, PhoneNumber, Timestamp, UserStore,
    VerifyOutcome,
};
use otp_reset_json::JsonStore;
use serde_json::{Value, json};

/// A fresh folder under cargo's temporary folder for tests.
pub fn fresh_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(name)
        .join(format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A data file path, not yet written, in a folder of its own.
pub fn fresh_data_file() -> PathBuf {
    fresh_dir("json-store").join("data.json")
}

pub fn hasher() -> CodeHasher {
    CodeHasher::new(&[7; 32]).unwrap()
}

pub fn legacy_file() -> PathBuf {
    let path = fresh_data_file();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/legacy-data.json"
        ),
        &path,
    )
    .unwrap();
    path
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub fn phone(text: &str) -> PhoneNumber {
    text.parse().unwrap()
}

/// One verification attempt by `client` with the code digest `candidate`, under the default
/// rules.
pub async fn guess(
    store: &JsonStore,
    phone: &PhoneNumber,
    client: ClientKey,
    candidate: Digest,
    now: Timestamp,
) -> VerifyOutcome {
    let token = Digest::from_bytes([3; 32]);
    store
        .verify(phone, client, &candidate, &token, now, &OtpRules::DEFAULT)
        .await
        .unwrap()
}

/// The password the store holds for the user with the number `typed`.
pub async fn password_of(store: &JsonStore, typed: &str) -> String {
    store
        .find_by_phone(&phone(typed))
        .await
        .unwrap()
        .unwrap()
        .password
}

/// What a `kill -9` at this instant would leave: the data file and its journal, copied.
pub fn crash_image(path: &Path) -> PathBuf {
    let image = fresh_data_file();
    for suffix in ["", ".journal", ".journal.next"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        if from.exists() {
            std::fs::copy(&from, format!("{}{suffix}", image.display())).unwrap();
        }
    }
    image
}

/// A data file of `count` users (`Pengguna {i}`, [`user_phone`]`(i)`, id `i + 1`), each with
/// the password `password(i)` as stored (plain text or a hash).
pub fn write_users(path: &Path, count: usize, password: impl Fn(usize) -> String) {
    let users: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "id": i + 1,
                "nama": format!("Pengguna {i}"),
                "email": format!("u{i}@example.com"),
                "noHp": format!("628125{i:07}"),
                "password": password(i),
            })
        })
        .collect();
    std::fs::write(
        path,
        serde_json::to_vec_pretty(&json!({ "users": users, "otps": [] })).unwrap(),
    )
    .unwrap();
}

/// User `i`'s number, as [`write_users`] writes it.
pub fn user_phone(i: usize) -> PhoneNumber {
    format!("08125{i:07}").parse().unwrap()
}

/// Polls `check` every 100 ms until it holds; fails with `what` after `bound`.
pub async fn wait_for(what: &str, bound: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + bound;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

mod tmpfs;
#[allow(unused_imports)]
pub use tmpfs::{Tmpfs, is_root};
