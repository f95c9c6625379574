//! The files themselves: one store per data file, an invalid file refused by name, and
//! owner-only permissions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fresh_data_file, hasher, legacy_file};
use otp_reset_json::{JsonStore, OpenError};

#[tokio::test]
async fn a_second_store_on_the_same_file_is_refused() {
    let path = legacy_file();
    let _first = JsonStore::open(&path, &hasher()).unwrap();
    match JsonStore::open(&path, &hasher()) {
        Err(OpenError::Locked(locked)) => assert_eq!(locked, path),
        other => panic!("expected the file to be locked, got {other:?}"),
    }
}

#[tokio::test]
async fn an_invalid_data_file_is_refused_with_its_name() {
    let path = fresh_data_file();
    std::fs::write(&path, "{ \"users\": [ ").unwrap();
    let error = JsonStore::open(&path, &hasher()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("data.json is not a valid data file"),
        "{error}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_file_and_journal_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let path = fresh_data_file();
    let store = JsonStore::open(&path, &hasher()).unwrap();
    store.close().unwrap();
    for name in ["data.json", "data.json.journal"] {
        let mode = std::fs::metadata(path.with_file_name(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
}
