//! The seed's format in and out: old files read as they are, what the store rewrites, and
//! what survives a rewrite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    crash_image, fresh_data_file, guess, hasher, legacy_file, password_of, phone, read_json,
};
use otp_reset::store::PairKey;
use otp_reset::{
    ClientKey, Clock, ConsumeOutcome, Digest, Lang, NewCode, OtpId, OtpRules, OtpStore, Proof,
    SystemClock, UserId, UserStore, VerifyOutcome,
};
use otp_reset_json::JsonStore;
use serde_json::{Value, json};

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
    let path = fresh_data_file();
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

#[tokio::test]
async fn each_clients_attempts_survive_a_restart() {
    let path = fresh_data_file();
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
