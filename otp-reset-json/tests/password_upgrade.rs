//! An old data file's plain-text passwords are upgraded to argon2id hashes by compare-and-set,
//! never over a newer password.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{fresh_data_file, user_phone, write_users};
use otp_reset::{CodeHasher, PasswordCheck, Passwords, UserId, UserStore};
use otp_reset_json::JsonStore;

fn old_password(i: usize) -> String {
    format!("lama-{i:03}-rahasia")
}

fn codes() -> CodeHasher {
    CodeHasher::new(&[7; 32]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_that_lands_while_the_upgrade_hashes_that_password_wins() {
    let data = fresh_data_file();
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
    let number = user_phone;
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
    let data = fresh_data_file();
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
    let user = store.find_by_phone(&user_phone(0)).await;
    assert_eq!(user.unwrap().unwrap().password, "$argon2id$b");
}
