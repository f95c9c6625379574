//! A site's own table: odd names quoted, names that could carry SQL refused, missing columns
//! named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Schema, database_url, phone};
use otp_reset::{StoreError, UserId, UserStore};
use otp_reset_postgres::{PgStoreError, PgStoreOptions, PgUserStore, UserTable};

/// A table as an Indonesian shop might have it: capitalised, Indonesian column names, an
/// integer id, varchar columns, and a column the store does not know.
async fn pelanggan(schema: &Schema) {
    let mut conn = schema.connection().await;
    schema
        .run(
            &mut conn,
            r#"CREATE TABLE "Pelanggan" (
                id_pelanggan integer PRIMARY KEY,
                nama_lengkap varchar(100),
                no_hp varchar(20),
                kata_sandi text,
                email text DEFAULT 'x@example.com')"#,
        )
        .await;
    let [one, two, three] = [phone(1), phone(2), phone(3)].map(|p| p.digits());
    schema
        .run(
            &mut conn,
            &format!(
                r#"INSERT INTO "Pelanggan" (id_pelanggan, nama_lengkap, no_hp, kata_sandi) VALUES
                (20, 'Siti Rahma', '{one}', 'later-row'),
                (7, 'Siti Rahma', '{one}', 'lowest-id'),
                (9, 'Budi Santoso', '{two}', 'budi'),
                (11, NULL, '{three}', 'no-name')"#
            ),
        )
        .await;
}

fn pelanggan_table(schema: &Schema) -> UserTable {
    UserTable::new(
        &format!("{}.Pelanggan", schema.name),
        "id_pelanggan",
        "nama_lengkap",
        "no_hp",
        "kata_sandi",
    )
    .unwrap()
}

async fn pelanggan_store(schema: &Schema) -> PgUserStore {
    pelanggan(schema).await;
    let options = PgStoreOptions::new(&database_url())
        .unwrap()
        .with_table(pelanggan_table(schema));
    PgUserStore::connect(options).await.unwrap()
}

#[tokio::test]
async fn a_table_with_odd_names_is_read_through_quoted_identifiers() {
    let schema = Schema::create("otp_pg_odd").await;
    let users = pelanggan_store(&schema).await;
    let siti = users.find_by_phone(&phone(1)).await.unwrap().unwrap();
    assert_eq!(siti.name, "Siti Rahma");
    let budi = users
        .find_by_name_and_phone(" budi  SANTOSO", &phone(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(budi.id, UserId("9".into()));
    assert_eq!(budi.password, "budi");
    assert!(users.find_by_phone(&phone(4)).await.unwrap().is_none());
}

#[tokio::test]
async fn several_rows_with_one_phone_always_give_the_lowest_id() {
    let schema = Schema::create("otp_pg_dupes").await;
    let users = pelanggan_store(&schema).await;
    for _ in 0..5 {
        let user = users.find_by_phone(&phone(1)).await.unwrap().unwrap();
        assert_eq!(user.id, UserId("7".into()));
        assert_eq!(user.password, "lowest-id");
    }
}

#[tokio::test]
async fn passwords_change_in_a_table_of_its_own() {
    let schema = Schema::create("otp_pg_odd_set").await;
    let users = pelanggan_store(&schema).await;
    let id = UserId("9".into());
    assert!(users.set_password_hash(&id, "$argon2id$new").await.unwrap());
    assert!(
        !users
            .replace_password_hash(&id, "budi", "$argon2id$other")
            .await
            .unwrap()
    );
    assert!(
        users
            .replace_password_hash(&id, "$argon2id$new", "$argon2id$newer")
            .await
            .unwrap()
    );
    let budi = users.find_by_phone(&phone(2)).await.unwrap().unwrap();
    assert_eq!(budi.password, "$argon2id$newer");
    // An id the integer column cannot hold names nobody.
    for unknown in ["404", "not-a-number", "99999999999999999999"] {
        let id = UserId(unknown.into());
        assert!(
            !users.set_password_hash(&id, "$argon2id$x").await.unwrap(),
            "{unknown}"
        );
    }
    assert!(users.failure().is_none());
}

#[tokio::test]
async fn a_row_without_a_name_is_corrupt() {
    let schema = Schema::create("otp_pg_corrupt").await;
    let users = pelanggan_store(&schema).await;
    let error = users.find_by_phone(&phone(3)).await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
}

#[tokio::test]
async fn no_migration_runs_on_a_table_of_its_own() {
    let schema = Schema::create("otp_pg_nomigrate").await;
    let users = pelanggan_store(&schema).await;
    users.migrate().await.unwrap();
    let mut conn = schema.connection().await;
    let created: Option<String> = sqlx::query_scalar("SELECT to_regclass('otp_reset_users')::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(created, None);
}

#[test]
fn names_that_would_inject_sql_are_refused() {
    let injected = r#"Pelanggan"; DROP TABLE "Pelanggan"; --"#;
    let error = UserTable::new(injected, "id", "nama", "no_hp", "sandi").unwrap_err();
    assert!(
        matches!(
            error,
            PgStoreError::Setting {
                setting: "table",
                ..
            }
        ),
        "{error:?}"
    );
    let error =
        UserTable::new("Pelanggan", "id", "nama", "no_hp = no_hp OR 1=1", "sandi").unwrap_err();
    assert!(
        matches!(
            error,
            PgStoreError::Setting {
                setting: "phone column",
                ..
            }
        ),
        "{error:?}"
    );
    let error = PgStoreOptions::new(&database_url())
        .unwrap()
        .with_schema("public\"; DROP SCHEMA public CASCADE; --")
        .unwrap_err();
    assert!(
        matches!(
            error,
            PgStoreError::Setting {
                setting: "schema",
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_missing_column_is_named() {
    let schema = Schema::create("otp_pg_missing").await;
    pelanggan(&schema).await;
    let table = UserTable::new(
        &format!("{}.Pelanggan", schema.name),
        "id_pelanggan",
        "nama_lengkap",
        "nomor_hp",
        "kata_sandi",
    )
    .unwrap();
    let options = PgStoreOptions::new(&database_url())
        .unwrap()
        .with_table(table);
    let error = PgUserStore::connect(options).await.unwrap_err();
    match &error {
        PgStoreError::MissingColumns { missing, .. } => {
            assert_eq!(missing, &["nomor_hp (missing)".to_owned()]);
        }
        other => panic!("expected MissingColumns, got {other:?}"),
    }
    assert!(error.to_string().contains("nomor_hp"), "{error}");
}

#[tokio::test]
async fn a_phone_column_that_is_not_text_is_named() {
    let schema = Schema::create("otp_pg_numeric").await;
    let mut conn = schema.connection().await;
    schema
        .run(
            &mut conn,
            "CREATE TABLE members (id bigint, name text, phone bigint, password text)",
        )
        .await;
    let table = UserTable::new(
        &format!("{}.members", schema.name),
        "id",
        "name",
        "phone",
        "password",
    )
    .unwrap();
    let options = PgStoreOptions::new(&database_url())
        .unwrap()
        .with_table(table);
    let error = PgUserStore::connect(options).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("phone (of type bigint, not text)"),
        "{error}"
    );
}

#[tokio::test]
async fn a_missing_table_is_named() {
    let schema = Schema::create("otp_pg_notable").await;
    let table = UserTable::new(
        &format!("{}.Pengguna", schema.name),
        "id",
        "nama",
        "no_hp",
        "sandi",
    )
    .unwrap();
    let options = PgStoreOptions::new(&database_url())
        .unwrap()
        .with_table(table);
    let error = PgUserStore::connect(options).await.unwrap_err();
    assert!(
        matches!(error, PgStoreError::MissingTable { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("Pengguna"), "{error}");
}
