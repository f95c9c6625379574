//! The journal: one short synced line per change, replayed after a crash (a torn tail ignored,
//! corruption refused), and folded into the data file without losing an acknowledged change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fresh_data_file, hasher, legacy_file, password_of, phone, read_json};
use otp_reset::store::PairKey;
use otp_reset::{
    ClientKey, Clock, Digest, Lang, NewCode, OtpId, OtpRules, OtpStore, SystemClock, UserId,
    UserStore,
};
use otp_reset_json::{JsonStore, OpenError};
use serde_json::{Value, json};

#[tokio::test]
async fn a_verification_appends_one_short_line_and_leaves_the_data_file_alone() {
    let path = fresh_data_file();
    let users: Vec<Value> = (0..2_000u64)
        .map(|i| json!({ "id": i, "nama": format!("User {i}"), "noHp": format!("0812{:08}", i), "password": "x" }))
        .collect();
    std::fs::write(
        &path,
        serde_json::to_vec(&json!({ "users": users })).unwrap(),
    )
    .unwrap();
    let store = JsonStore::open(&path, &hasher()).unwrap();
    let data_before = std::fs::read(&path).unwrap();
    let journal = path.with_file_name("data.json.journal");
    let journal_before = std::fs::metadata(&journal).unwrap().len();

    let rules = OtpRules::DEFAULT;
    let now = SystemClock.now();
    let user = phone("081200000042");
    let code = NewCode {
        otp_id: OtpId::generate(),
        digest: Digest::from_bytes([1; 32]),
        user_id: Some(UserId("42".into())),
        pair: PairKey::from_u64(1),
        lang: Lang::Id,
    };
    store.issue(&user, code, now, &rules).await.unwrap();
    let grown = std::fs::metadata(&journal).unwrap().len() - journal_before;
    store
        .verify(
            &user,
            ClientKey::UNKNOWN,
            &Digest::from_bytes([2; 32]),
            &Digest::from_bytes([3; 32]),
            now,
            &rules,
        )
        .await
        .unwrap();
    let line = std::fs::metadata(&journal).unwrap().len() - journal_before - grown;

    assert!(
        line > 0 && line < 1_024,
        "one verification adds {line} bytes"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        data_before,
        "the data file is not rewritten per request"
    );
}

#[tokio::test]
async fn a_journal_left_by_a_crash_is_folded_in_and_a_torn_last_line_ignored() {
    let path = legacy_file();
    let journal = path.with_file_name("data.json.journal");
    std::fs::write(
        &journal,
        concat!(
            r#"{"password":{"userId":"2","password":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"}}"#,
            "\n",
            r#"{"phone":{"phoneNumber":"6281298765432","otp":null,"limits":null}}"#,
            "\n",
            r#"{"password":{"userId":"1","passw"#,
        ),
    )
    .unwrap();
    let store = JsonStore::open(&path, &hasher()).unwrap();
    let siti = password_of(&store, "081298765432").await;
    assert!(siti.starts_with("$argon2id$"));
    let john = password_of(&store, "081234567890").await;
    assert_eq!(john, "password123", "the torn line was never acknowledged");
    store.close().unwrap();

    let written = read_json(&path);
    assert!(
        written["users"][1]["password"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$")
    );
    assert_eq!(
        written["otps"].as_array().unwrap().len(),
        1,
        "Siti's code was removed by the journal"
    );
    assert_eq!(
        std::fs::metadata(&journal).unwrap().len(),
        0,
        "the journal is empty once folded in"
    );
}

#[tokio::test]
async fn a_torn_tail_of_several_lines_is_ignored() {
    let path = legacy_file();
    std::fs::write(
        path.with_file_name("data.json.journal"),
        concat!(
            r#"{"password":{"userId":"2","password":"$argon2id$kept"}}"#,
            "\n",
            "\0\0\0\0\n",
            r#"{"password":{"userId":"1","pa"#
        ),
    )
    .unwrap();
    let store = JsonStore::open(&path, &hasher()).unwrap();
    let siti = password_of(&store, "081298765432").await;
    assert_eq!(siti, "$argon2id$kept");
}

#[tokio::test]
async fn a_corrupt_journal_line_before_the_end_stops_the_start() {
    let path = legacy_file();
    std::fs::write(
        path.with_file_name("data.json.journal"),
        "not json\n{\"password\":{\"userId\":\"1\",\"password\":\"x\"}}\n",
    )
    .unwrap();
    assert!(matches!(
        JsonStore::open(&path, &hasher()),
        Err(OpenError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn changes_are_in_the_data_file_after_compaction() {
    let path = legacy_file();
    let store = JsonStore::open(&path, &hasher()).unwrap();
    assert!(
        store
            .set_password_hash(&UserId("1".into()), "$argon2id$new")
            .await
            .unwrap()
    );
    store.compact().unwrap();
    assert_eq!(read_json(&path)["users"][0]["password"], "$argon2id$new");
    assert!(
        !store
            .set_password_hash(&UserId("404".into()), "$argon2id$x")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_failed_compaction_loses_no_acknowledged_change() {
    let path = legacy_file();
    let store = JsonStore::open(&path, &hasher()).unwrap();
    // The snapshot cannot be written: a folder stands where its temporary file goes.
    let blocker = path.with_file_name("data.json.tmp");
    std::fs::create_dir(&blocker).unwrap();
    assert!(store.compact().is_err());
    assert!(
        store
            .set_password_hash(&UserId("1".into()), "$argon2id$after-failure")
            .await
            .unwrap()
    );
    assert!(
        store.compact().is_err(),
        "a second failure rotates the journal again"
    );

    let on_disk: String = ["data.json.journal", "data.json.journal.next"]
        .iter()
        .filter_map(|name| std::fs::read_to_string(path.with_file_name(name)).ok())
        .collect();
    assert!(
        on_disk.contains("after-failure"),
        "the acknowledged change is still in the journal"
    );

    std::fs::remove_dir(&blocker).unwrap();
    store.compact().unwrap();
    assert_eq!(
        read_json(&path)["users"][0]["password"],
        "$argon2id$after-failure"
    );
}

#[tokio::test]
async fn the_sync_observer_hears_of_the_sync_each_change_waits_for() {
    let path = fresh_data_file();
    common::write_users(&path, 1, |_| "x".into());
    let store = JsonStore::open(&path, &hasher()).unwrap();
    let syncs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&syncs);
    store.observe_journal_syncs(move |_took| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let code = NewCode {
        otp_id: OtpId::generate(),
        digest: Digest::from_bytes([1; 32]),
        user_id: Some(UserId("1".into())),
        pair: PairKey::from_u64(1),
        lang: Lang::Id,
    };
    store
        .issue(
            &common::user_phone(0),
            code,
            SystemClock.now(),
            &OtpRules::DEFAULT,
        )
        .await
        .unwrap();
    assert!(syncs.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}
