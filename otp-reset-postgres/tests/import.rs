//! The import: plain passwords hashed before they reach the database, by phone, idempotent,
//! all or nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Schema, phone};
use otp_reset::{PasswordCheck, Passwords, PhoneNumber, User, UserId, UserStore};
use otp_reset_postgres::{ImportReport, PgStoreError};
use sqlx::PgConnection;

const STORED_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA";

fn user(name: &str, phone: PhoneNumber, password: &str) -> User {
    User {
        id: UserId("ignored".into()),
        name: name.into(),
        phone,
        password: password.into(),
    }
}

fn legacy_users() -> Vec<User> {
    vec![
        user("John Doe", phone(1), "password123"),
        user("Siti Rahma", phone(2), "rahasia99"),
        user("Budi Santoso", phone(3), STORED_PHC),
    ]
}

/// Every row: name, phone, password, updated_at as text, by phone.
async fn rows(conn: &mut PgConnection) -> Vec<(String, String, String, String)> {
    sqlx::query_as(
        "SELECT name, phone, password, updated_at::text FROM otp_reset_users ORDER BY phone",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn plain_passwords_come_out_hashed() {
    let schema = Schema::create("otp_pg_import").await;
    let users = schema.default_store().await;
    let passwords = Passwords::default();
    let report = users.import(legacy_users(), &passwords).await.unwrap();
    assert_eq!(
        report,
        ImportReport {
            inserted: 3,
            updated: 0,
            unchanged: 0
        }
    );
    let stored = rows(&mut schema.connection().await).await;
    for (_, _, password, _) in &stored {
        assert!(
            password.starts_with("$argon2id$"),
            "a password reached the table unhashed"
        );
        assert!(!password.contains("password123") && !password.contains("rahasia99"));
    }
    let john = users.find_by_phone(&phone(1)).await.unwrap().unwrap();
    assert_eq!(john.name, "John Doe");
    assert_eq!(
        passwords
            .verify("password123", &john.password)
            .await
            .unwrap(),
        PasswordCheck::Match {
            needs_upgrade: false
        }
    );
    let budi = users.find_by_phone(&phone(3)).await.unwrap().unwrap();
    assert_eq!(budi.password, STORED_PHC, "a hash is stored as it is");
}

#[tokio::test]
async fn a_rerun_changes_nothing() {
    let schema = Schema::create("otp_pg_reimport").await;
    let users = schema.default_store().await;
    let passwords = Passwords::default();
    users.import(legacy_users(), &passwords).await.unwrap();
    let mut conn = schema.connection().await;
    let before = rows(&mut conn).await;
    let report = users.import(legacy_users(), &passwords).await.unwrap();
    assert_eq!(
        report,
        ImportReport {
            inserted: 0,
            updated: 0,
            unchanged: 3
        }
    );
    assert_eq!(rows(&mut conn).await, before);
}

#[tokio::test]
async fn a_changed_name_or_password_updates_the_phones_row() {
    let schema = Schema::create("otp_pg_reimport_changed").await;
    let users = schema.default_store().await;
    let passwords = Passwords::default();
    users.import(legacy_users(), &passwords).await.unwrap();
    let id = users.find_by_phone(&phone(1)).await.unwrap().unwrap().id;
    let changed = vec![
        user("John Doe", phone(1), "a-new-secret"),
        user("Siti Rahmawati", phone(2), "rahasia99"),
        user("Ani", phone(4), "ani12345"),
    ];
    let report = users.import(changed, &passwords).await.unwrap();
    assert_eq!(
        report,
        ImportReport {
            inserted: 1,
            updated: 2,
            unchanged: 0
        }
    );
    let john = users.find_by_phone(&phone(1)).await.unwrap().unwrap();
    assert_eq!(john.id, id, "the row is updated in place");
    assert_eq!(
        passwords
            .verify("a-new-secret", &john.password)
            .await
            .unwrap(),
        PasswordCheck::Match {
            needs_upgrade: false
        }
    );
    let siti = users.find_by_phone(&phone(2)).await.unwrap().unwrap();
    assert_eq!(siti.name, "Siti Rahmawati");
    assert_eq!(
        passwords.verify("rahasia99", &siti.password).await.unwrap(),
        PasswordCheck::Match {
            needs_upgrade: false
        }
    );
}

#[tokio::test]
async fn a_plain_password_left_in_the_table_is_hashed_by_the_import() {
    let schema = Schema::create("otp_pg_import_plain_row").await;
    let users = schema.default_store().await;
    let mut conn = schema.connection().await;
    sqlx::query("INSERT INTO otp_reset_users (name, phone, password) VALUES ('John Doe', $1, 'password123')")
        .bind(phone(1).digits())
        .execute(&mut conn)
        .await
        .unwrap();
    let report = users
        .import(
            vec![user("John Doe", phone(1), "password123")],
            &Passwords::default(),
        )
        .await
        .unwrap();
    assert_eq!(report.updated, 1);
    let john = users.find_by_phone(&phone(1)).await.unwrap().unwrap();
    assert!(john.password.starts_with("$argon2id$"));
}

#[tokio::test]
async fn an_import_that_fails_midway_changes_nothing() {
    let schema = Schema::create("otp_pg_import_atomic").await;
    let users = schema.default_store().await;
    let mut conn = schema.connection().await;
    schema
        .run(
            &mut conn,
            "ALTER TABLE otp_reset_users ADD CONSTRAINT short_names CHECK (length(name) < 40)",
        )
        .await;
    let batch = vec![
        user("John Doe", phone(1), "password123"),
        user(&"x".repeat(50), phone(2), "rahasia99"),
    ];
    let error = users
        .import(batch, &Passwords::default())
        .await
        .unwrap_err();
    assert!(matches!(error, PgStoreError::Store(_)), "{error:?}");
    assert!(
        rows(&mut conn).await.is_empty(),
        "the first user must not be kept"
    );
}
