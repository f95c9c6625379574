//! An old data file's plain-text passwords are hashed with argon2id soon after the start, in
//! the background, and never over a newer password; the old passwords keep working throughout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Server, fresh_dir, phone, wait_for, write_users};
use serde_json::Value;

fn old_password(i: usize) -> String {
    format!("lama-{i:03}-rahasia")
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
