//! The JSON file store: the seed's format in and out, the journal, the lock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use otp_reset::store::PairKey;
use otp_reset::{
    ClientKey, Clock, CodeHasher, ConsumeOutcome, Digest, Lang, NewCode, OtpId, OtpRules, OtpStore,
    PhoneNumber, Proof, SystemClock, UserId, UserStore, VerifyOutcome,
};
use otp_reset_json::{JsonStore, OpenError};
use serde_json::{Value, json};

fn fresh_dir() -> PathBuf {
    common::fresh_dir("json-store")
}

fn hasher() -> CodeHasher {
    CodeHasher::new(&[7; 32]).unwrap()
}

fn legacy_file() -> PathBuf {
    let path = fresh_dir().join("data.json");
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

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn phone(text: &str) -> PhoneNumber {
    text.parse().unwrap()
}

/// One verification attempt by `client` with the code digest `candidate`, under the default
/// rules.
async fn guess(
    store: &JsonStore,
    phone: &PhoneNumber,
    client: ClientKey,
    candidate: Digest,
    now: otp_reset::Timestamp,
) -> VerifyOutcome {
    let token = Digest::from_bytes([3; 32]);
    store
        .verify(phone, client, &candidate, &token, now, &OtpRules::DEFAULT)
        .await
        .unwrap()
}

/// The password the store holds for the user with the number `typed`.
async fn password_of(store: &JsonStore, typed: &str) -> String {
    store
        .find_by_phone(&phone(typed))
        .await
        .unwrap()
        .unwrap()
        .password
}

#[tokio::test]
async fn the_legacy_file_loads_as_it_is() {
    let store = JsonStore::open(legacy_file(), &hasher()).unwrap();
    assert_eq!(store.user_count(), 3);
    for (typed, id, password) in [
        ("081234567890", "1", "password123"),
        ("081298765432", "2", "rahasia99"),
        ("6285711112222", "1704067200123", "budi2024!"),
    ] {
        let user = store.find_by_phone(&phone(typed)).await.unwrap().unwrap();
        assert_eq!(user.id, UserId(id.into()));
        assert_eq!(user.password, password);
    }
    let budi = store
        .find_by_name_and_phone("budi santoso", &phone("+62 857 1111 2222"))
        .await
        .unwrap();
    assert!(budi.is_some(), "numbers typed as '+62 857-…' are found");
}

#[tokio::test]
async fn legacy_codes_keep_their_state_expired_or_verified() {
    let codes = hasher();
    let store = JsonStore::open(legacy_file(), &codes).unwrap();
    let rules = OtpRules::DEFAULT;
    let now = SystemClock.now();
    let john = phone("6281234567890");
    let expired = store
        .verify(
            &john,
            ClientKey::UNKNOWN,
            &codes.code_digest(&john, "482913"),
            &Digest::from_bytes([0; 32]),
            now,
            &rules,
        )
        .await;
    assert_eq!(expired.unwrap(), VerifyOutcome::Expired);

    // Siti's code was verified and is valid until 2030: the plain-text code still proves it.
    let siti = phone("081298765432");
    let consumed = store
        .consume(
            &siti,
            ClientKey::UNKNOWN,
            Proof::Code(codes.code_digest(&siti, "105377")),
            now,
            &rules,
        )
        .await
        .unwrap();
    let ConsumeOutcome::Consumed(record) = consumed else {
        panic!("expected the verified code to be consumed: {consumed:?}")
    };
    assert_eq!(
        record.user_id,
        Some(UserId("2".into())),
        "a legacy code belongs to the user with its number"
    );
}

#[tokio::test]
async fn what_is_rewritten_is_upgraded_and_unknown_fields_survive() {
    let path = legacy_file();
    let mut original = read_json(&path);
    original["site"] = json!({ "name": "Tiket Kita" });
    original["users"][0]["loyaltyPoints"] = json!(120);
    std::fs::write(&path, serde_json::to_vec(&original).unwrap()).unwrap();

    let store = JsonStore::open(&path, &hasher()).unwrap();
    store.close().unwrap();
    let written = read_json(&path);
    let text = written.to_string();
    assert_eq!(written["site"]["name"], "Tiket Kita");
    assert_eq!(written["users"][0]["loyaltyPoints"], 120);
    assert_eq!(written["users"][0]["email"], "john@example.com");
    assert_eq!(
        written["users"][1]["noHp"], "6281298765432",
        "numbers are normalised"
    );
    assert_eq!(written["users"][2]["noHp"], "6285711112222");
    assert_eq!(
        written["users"][2]["id"], 1_704_067_200_123u64,
        "numeric ids stay numbers"
    );
    assert!(
        !text.contains("482913") && !text.contains("105377"),
        "codes are no longer in plain text"
    );
    let otps = written["otps"].as_array().unwrap();
    assert_eq!(otps.len(), 2);
    for otp in otps {
        assert!(otp["otp"].as_str().unwrap().starts_with("hmac-sha256:"));
        assert!(
            otp["createdAt"].as_str().unwrap().ends_with('Z'),
            "timestamps are ISO-8601"
        );
    }
}

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
async fn a_verification_appends_one_short_line_and_leaves_the_data_file_alone() {
    let path = fresh_dir().join("data.json");
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
async fn an_invalid_data_file_is_refused_with_its_name() {
    let path = fresh_dir().join("data.json");
    std::fs::write(&path, "{ \"users\": [ ").unwrap();
    let error = JsonStore::open(&path, &hasher()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("data.json is not a valid data file"),
        "{error}"
    );
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

#[cfg(unix)]
#[tokio::test]
async fn the_data_file_and_journal_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let path = fresh_dir().join("data.json");
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

/// What a `kill -9` at this instant would leave: the data file and its journal, copied.
fn crash_image(path: &Path) -> PathBuf {
    let image = fresh_dir().join("data.json");
    for suffix in ["", ".journal", ".journal.next"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        if from.exists() {
            std::fs::copy(&from, format!("{}{suffix}", image.display())).unwrap();
        }
    }
    image
}

#[tokio::test]
async fn a_start_without_a_journal_leaves_the_data_file_as_it_is_and_loses_nothing_after() {
    let path = legacy_file();
    JsonStore::open(&path, &hasher()).unwrap().close().unwrap();
    let before = std::fs::read(&path).unwrap();
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());

    let store = JsonStore::open(&path, &hasher()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before, "not rewritten");
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap()),
        inode,
        "not replaced"
    );
    let journal = path.with_file_name("data.json.journal");
    assert_eq!(
        std::fs::metadata(&journal).unwrap().len(),
        0,
        "an empty journal is ready"
    );
    assert!(!path.with_file_name("data.json.journal.next").exists());

    assert!(
        store
            .set_password_hash(&UserId("2".into()), "$argon2id$after-start")
            .await
            .unwrap()
    );
    let restarted = JsonStore::open(crash_image(&path), &hasher()).unwrap();
    let siti = password_of(&restarted, "081298765432").await;
    assert_eq!(siti, "$argon2id$after-start");
    assert_eq!(restarted.user_count(), 3);
}

#[tokio::test]
async fn an_old_file_is_upgraded_soon_after_start_not_during_it() {
    let path = legacy_file();
    let before = std::fs::read(&path).unwrap();
    let codes = hasher();
    let store = JsonStore::open(&path, &codes).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the start does not wait for it"
    );

    // A crash before the upgrade: the old file still reads as the same state.
    let restarted = JsonStore::open(crash_image(&path), &codes).unwrap();
    let siti = phone("081298765432");
    let outcome = restarted
        .consume(
            &siti,
            ClientKey::UNKNOWN,
            Proof::Code(codes.code_digest(&siti, "105377")),
            SystemClock.now(),
            &OtpRules::DEFAULT,
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, ConsumeOutcome::Consumed(_)),
        "{outcome:?}"
    );

    // A small file is refreshed within seconds, as after a change.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("105377") {
            assert!(text.contains("hmac-sha256:") && text.contains("\"6281298765432\""));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never upgraded");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    drop(store);
}

#[tokio::test]
async fn numbers_outside_indonesia_survive_the_journal_and_a_rewrite() {
    let path = fresh_dir().join("data.json");
    let numbers = [
        "+44 7911 123456",
        "+1 650 253 0000",
        "+61 412 345 678",
        "0812-3456-7890",
    ];
    let users: Vec<Value> = numbers
        .iter()
        .enumerate()
        .map(|(i, typed)| json!({ "id": i, "nama": format!("User {i}"), "noHp": typed, "password": "x" }))
        .collect();
    std::fs::write(
        &path,
        serde_json::to_vec(&json!({ "users": users })).unwrap(),
    )
    .unwrap();
    let rules = OtpRules::DEFAULT;
    let now = SystemClock.now();
    let code = |i: usize| NewCode {
        otp_id: OtpId::generate(),
        digest: Digest::from_bytes([9; 32]),
        user_id: Some(UserId(i.to_string())),
        pair: PairKey::from_u64(1),
        lang: Lang::En,
    };

    let store = JsonStore::open(&path, &hasher()).unwrap();
    for (i, typed) in numbers.iter().enumerate() {
        store
            .issue(&phone(typed), code(i), now, &rules)
            .await
            .unwrap();
    }
    // A crash image holds the journal; the closed store's data file holds the rewrite.
    let crashed = crash_image(&path);
    store.close().unwrap();
    drop(store);

    let written = read_json(&path);
    assert_eq!(written["users"][0]["noHp"], "+447911123456");
    assert_eq!(
        written["users"][3]["noHp"], "6281234567890",
        "Indonesian numbers as the seed wrote them"
    );

    for data in [path, crashed] {
        let store = JsonStore::open(&data, &hasher()).unwrap();
        for (i, typed) in numbers.iter().enumerate() {
            let user = store.find_by_phone(&phone(typed)).await.unwrap();
            assert_eq!(
                user.map(|u| u.id),
                Some(UserId(i.to_string())),
                "{typed} in {}",
                data.display()
            );
            let outcome = store
                .verify(
                    &phone(typed),
                    ClientKey::UNKNOWN,
                    &Digest::from_bytes([9; 32]),
                    &Digest::from_bytes([3; 32]),
                    now,
                    &rules,
                )
                .await
                .unwrap();
            assert!(
                matches!(outcome, VerifyOutcome::Verified { .. }),
                "{typed}: {outcome:?}"
            );
        }
        drop(store);
    }
}

/// The release server grew 1.45 MB of `data.json` and 33 MB of memory from 3,000 made-up
/// numbers: stand-ins now live in memory only, in a cache of bounded size.
#[tokio::test]
async fn made_up_pairs_never_reach_the_data_file_and_their_memory_is_bounded() {
    let path = fresh_dir().join("data.json");
    let options = otp_reset_json::StoreOptions::default().with_stand_in_capacity(100);
    let store = JsonStore::open_with(&path, &hasher(), options).unwrap();
    let rules = OtpRules::DEFAULT;
    let now = SystemClock.now();
    for n in 0..3_000u64 {
        let made_up = PhoneNumber::from_u64(6_281_300_000_000 + n).unwrap();
        let code = NewCode {
            otp_id: OtpId::generate(),
            digest: Digest::unmatchable(),
            user_id: None,
            pair: PairKey::from_u64(n),
            lang: Lang::Id,
        };
        store.issue(&made_up, code, now, &rules).await.unwrap();
        guess(
            &store,
            &made_up,
            ClientKey::UNKNOWN,
            Digest::from_bytes([1; 32]),
            now,
        )
        .await;
    }
    assert!(
        store.stand_in_phones() <= 100,
        "{}",
        store.stand_in_phones()
    );
    store.close().unwrap();
    assert_eq!(read_json(&path)["otps"], json!([]));
    assert!(read_json(&path).get("otpLimits").is_none());
}

#[tokio::test]
async fn each_clients_attempts_survive_a_restart() {
    let path = fresh_dir().join("data.json");
    let codes = hasher();
    let rules = OtpRules::DEFAULT;
    let now = SystemClock.now();
    let user = phone("081200000042");
    let (stranger, owner) = (ClientKey::from_u64(7), ClientKey::from_u64(8));
    let right = codes.code_digest(&user, "123456");
    {
        let store = JsonStore::open(&path, &codes).unwrap();
        let code = NewCode {
            otp_id: OtpId::generate(),
            digest: right,
            user_id: Some(UserId("42".into())),
            pair: PairKey::from_u64(1),
            lang: Lang::Id,
        };
        store.issue(&user, code, now, &rules).await.unwrap();
        for _ in 0..3 {
            guess(&store, &user, stranger, Digest::from_bytes([9; 32]), now).await;
        }
        store.close().unwrap();
    }
    let store = JsonStore::open(&path, &codes).unwrap();
    assert_eq!(
        guess(&store, &user, stranger, right, now).await,
        VerifyOutcome::AttemptsExhausted
    );
    assert!(matches!(
        guess(&store, &user, owner, right, now).await,
        VerifyOutcome::Verified { .. }
    ));
}

/// A made-up pair's answer waits for the disk as a real pair's does: its step writes and syncs
/// a line of about the same length (a pad, skipped on replay), or timing would tell them apart.
#[tokio::test]
async fn a_stand_in_step_costs_the_disk_what_a_real_one_does() {
    let path = fresh_dir().join("data.json");
    let store = JsonStore::open(&path, &hasher()).unwrap();
    let journal = path.with_file_name("data.json.journal");
    let rules = OtpRules::DEFAULT;
    let now = SystemClock.now();
    let mut grown = Vec::new();
    for (user_id, number) in [(Some(UserId("1".into())), 1u64), (None, 2)] {
        let phone = PhoneNumber::from_u64(6_281_300_000_000 + number).unwrap();
        let before = std::fs::metadata(&journal).unwrap().len();
        let code = NewCode {
            otp_id: OtpId::generate(),
            digest: Digest::from_bytes([1; 32]),
            user_id,
            pair: PairKey::from_u64(number),
            lang: Lang::Id,
        };
        store.issue(&phone, code, now, &rules).await.unwrap();
        let after_issue = std::fs::metadata(&journal).unwrap().len();
        guess(
            &store,
            &phone,
            ClientKey::UNKNOWN,
            Digest::from_bytes([9; 32]),
            now,
        )
        .await;
        let after_guess = std::fs::metadata(&journal).unwrap().len();
        grown.push([after_issue - before, after_guess - after_issue]);
    }
    let (real, made_up) = (grown[0], grown[1]);
    for (step, (real, made_up)) in ["issue", "guess"].iter().zip(real.into_iter().zip(made_up)) {
        let (real, made_up) = (real as f64, made_up as f64);
        assert!(
            made_up > 0.0 && (made_up - real).abs() / real < 0.25,
            "{step}: a real line of {real} bytes, a made-up one of {made_up}"
        );
    }
    // A crash now leaves the pads in the journal: a start replays past them.
    let reopened = JsonStore::open(crash_image(&path), &hasher()).unwrap();
    assert_eq!(reopened.stand_in_phones(), 0);
    let real = PhoneNumber::from_u64(6_281_300_000_001).unwrap();
    let right = Digest::from_bytes([1; 32]);
    assert!(matches!(
        guess(&reopened, &real, ClientKey::UNKNOWN, right, now).await,
        VerifyOutcome::Verified { .. }
    ));
}
