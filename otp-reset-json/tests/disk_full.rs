//! A full disk refuses the store's changes only while it is full: a change that failed is
//! written first when room returns, reads of what it did not touch go on meanwhile, and nothing
//! acknowledged is lost.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Tmpfs, user_phone, wait_for, write_users};
use otp_reset::{CodeHasher, Passwords, UserId, UserStore};
use otp_reset_json::JsonStore;
use serde_json::Value;

/// A data file of `count` users with hashed passwords, so that nothing but the test's own
/// changes is ever written.
async fn hashed_users(path: &Path, count: usize) {
    let phc = Passwords::new(1)
        .unwrap()
        .hash("rahasia-lama")
        .await
        .unwrap();
    write_users(path, count, |_| phc.clone());
}

fn data_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).expect("the data file is valid JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_failed_on_a_full_disk_is_written_when_room_returns_and_reads_go_on() {
    let disk = Tmpfs::mount("disk-faults-store", "1m");
    let data = disk.dir.join("data.json");
    hashed_users(&data, 3).await;
    let original = data_file(&data)["users"][2]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let codes = CodeHasher::new(&[7; 32]).unwrap();
    let store = JsonStore::open(&data, &codes).unwrap();
    // User `i` has the id `i + 1`.
    let id = |i: usize| UserId((i + 1).to_string());
    let number = user_phone;
    assert!(
        store
            .set_password_hash(&id(0), "$argon2id$before")
            .await
            .unwrap()
    );

    let filler = disk.fill();
    // The journal's last page takes a few more lines; then a write fails.
    let mut attempt = 0;
    let failed = loop {
        attempt += 1;
        let phc = format!("$argon2id$attempt-{attempt}");
        if let Err(error) = store.set_password_hash(&id(1), &phc).await {
            break error;
        }
        assert!(attempt < 100, "the full disk never refused a change");
    };
    let reason = std::error::Error::source(&failed).unwrap().to_string();
    assert!(reason.contains("cannot be written right now"), "{reason}");
    assert!(store.failure().is_some());
    assert!(
        store
            .set_password_hash(&id(2), "$argon2id$never")
            .await
            .is_err(),
        "refused during the fault"
    );
    assert_eq!(
        store
            .find_by_phone(&number(0))
            .await
            .unwrap()
            .unwrap()
            .password,
        "$argon2id$before",
        "a user the failed write did not touch is still read"
    );
    assert!(
        store.find_by_phone(&number(1)).await.is_err(),
        "the failed change is not shown as if it were stored"
    );

    std::fs::remove_file(filler).unwrap();
    wait_for(
        "the store accepting changes again",
        Duration::from_secs(30),
        async || store.failure().is_none(),
    )
    .await;
    assert_eq!(
        store
            .find_by_phone(&number(1))
            .await
            .unwrap()
            .unwrap()
            .password,
        format!("$argon2id$attempt-{attempt}"),
        "the failed change was written when room returned, before anything newer"
    );
    assert!(
        store
            .set_password_hash(&id(0), "$argon2id$after")
            .await
            .unwrap()
    );
    store.close().unwrap();
    drop(store);

    let reopened = JsonStore::open(&data, &codes).unwrap();
    let expected = [
        "$argon2id$after".to_owned(),
        format!("$argon2id$attempt-{attempt}"),
        original,
    ];
    for (i, expected) in expected.iter().enumerate() {
        let user = reopened.find_by_phone(&number(i)).await.unwrap().unwrap();
        assert_eq!(&user.password, expected, "user {i}");
    }
}
