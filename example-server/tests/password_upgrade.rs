//! An old data file's plain-text passwords are hashed with argon2id soon after the start, in
//! the background, and never over a newer password; the old passwords keep working throughout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Server, fresh_dir, phone, wait_for, write_users};
use example_server::JsonStore;
use otp_reset::{CodeHasher, PasswordCheck, Passwords, PhoneNumber, UserId, UserStore};
use serde_json::Value;

fn old_password(i: usize) -> String {
    format!("lama-{i:03}-rahasia")
}

fn codes() -> CodeHasher {
    CodeHasher::new(&[7; 32]).unwrap()
}

fn stored_passwords(path: &Path) -> Vec<String> {
    let file: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    file["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["password"].as_str().unwrap().to_owned())
        .collect()
}

/// The data file and its journal segments, as text.
fn everything_written(path: &Path) -> String {
    ["data.json", "data.json.journal", "data.json.journal.next"]
        .iter()
        .filter_map(|name| std::fs::read_to_string(path.with_file_name(name)).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_text_passwords_are_hashed_soon_after_start_and_old_passwords_log_in_throughout() {
    const USERS: usize = 60;
    let data = fresh_dir("password-upgrade").join("data.json");
    write_users(&data, USERS, old_password);
    let server = Server::start(
        &data,
        &[
            ("CLIENT_RATE_LIMIT_PER_MIN", "0"),
            ("DATA_FILE_FOLD_SECS", "1"),
        ],
    )
    .await;
    // The upgrade goes in file order: the last user's reset lands before it gets there.
    let last = USERS - 1;
    server
        .reset_password(&format!("Pengguna {last}"), &phone(last), "baru-rahasia")
        .await;
    for i in [0, 1, USERS / 2] {
        assert_eq!(
            server.login(&phone(i), &old_password(i)).await,
            200,
            "user {i}, during"
        );
    }

    wait_for(
        "every password in the data file hashed",
        Duration::from_secs(120),
        async || {
            stored_passwords(&data)
                .iter()
                .all(|stored| stored.starts_with("$argon2id$"))
        },
    )
    .await;
    for i in [0, 2, USERS / 2 + 1, last - 1] {
        assert_eq!(
            server.login(&phone(i), &old_password(i)).await,
            200,
            "user {i}, after"
        );
    }
    assert_eq!(
        server.login(&phone(last), &old_password(last)).await,
        401,
        "the upgrade never overwrites a newer password"
    );
    assert_eq!(server.login(&phone(last), "baru-rahasia").await, 200);
    assert!(
        !everything_written(&data).contains("lama-"),
        "no plain text is left in the snapshot or the journal"
    );
    server.stop();
    assert!(!everything_written(&data).contains("lama-"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_that_lands_while_the_upgrade_hashes_that_password_wins() {
    let data = fresh_dir("password-upgrade").join("data.json");
    write_users(&data, 2, old_password);
    let store = JsonStore::open(&data, &codes()).unwrap();
    let passwords = Passwords::new(1).unwrap();
    // A slow verification (60 passes) holds the only hashing slot, so the upgrade waits for
    // it with user 0's old password in hand.
    let slow = "$argon2id$v=19$m=19456,t=60,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    let busy = tokio::spawn({
        let passwords = passwords.clone();
        async move { passwords.verify("x", slow).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let upgrade = tokio::spawn(store.upgrade_plain_passwords(passwords.clone()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !busy.is_finished(),
        "the slow verification outlasts the reset"
    );
    let (reset, untouched) = (UserId("1".into()), UserId("2".into()));
    assert!(
        store
            .set_password_hash(&reset, "$argon2id$reset")
            .await
            .unwrap()
    );

    assert_eq!(
        upgrade.await.unwrap(),
        1,
        "only the untouched user is upgraded"
    );
    busy.await.unwrap().unwrap();
    let number = |i: usize| -> PhoneNumber { phone(i).parse().unwrap() };
    let user = store.find_by_phone(&number(0)).await.unwrap().unwrap();
    assert_eq!(
        (user.id, user.password.as_str()),
        (reset, "$argon2id$reset")
    );
    let user = store.find_by_phone(&number(1)).await.unwrap().unwrap();
    assert_eq!(user.id, untouched);
    assert_eq!(
        passwords
            .verify(&old_password(1), &user.password)
            .await
            .unwrap(),
        PasswordCheck::Match {
            needs_upgrade: false
        }
    );
}

#[tokio::test]
async fn a_password_is_replaced_only_while_it_is_the_one_expected() {
    let data = fresh_dir("password-upgrade").join("data.json");
    write_users(&data, 1, old_password);
    let store = JsonStore::open(&data, &codes()).unwrap();
    let id = UserId("1".into());
    let replace = |expected: &'static str, phc: &'static str| {
        let (store, id) = (store.clone(), id.clone());
        async move {
            store
                .replace_password_hash(&id, expected, phc)
                .await
                .unwrap()
        }
    };
    assert!(!replace("another", "$argon2id$a").await);
    assert!(replace("lama-000-rahasia", "$argon2id$b").await);
    assert!(
        !replace("lama-000-rahasia", "$argon2id$c").await,
        "no longer"
    );
    assert!(
        !store
            .replace_password_hash(&UserId("404".into()), "x", "$argon2id$d")
            .await
            .unwrap()
    );
    let user = store.find_by_phone(&phone(0).parse().unwrap()).await;
    assert_eq!(user.unwrap().unwrap().password, "$argon2id$b");
}
