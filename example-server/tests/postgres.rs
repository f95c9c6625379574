//! Users in PostgreSQL (`USER_STORE=postgres://…`): the demo data file imported with
//! `--import-users`, then logins and a reset through a real server process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use common::{Server, demo_data, fresh_dir, run_to_exit};
use otp_reset::{PasswordCheck, Passwords};
use otp_reset_postgres::sqlx::{self, Connection, PgConnection};

const JOHN: (&str, &str) = ("John Doe", "081234567890");
const JOHN_DIGITS: &str = "6281234567890";

fn database_url() -> String {
    std::env::var("OTP_RESET_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

async fn connect() -> PgConnection {
    PgConnection::connect(&database_url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL ({e}); start it (apt-get install postgresql), or set \
             OTP_RESET_TEST_DATABASE_URL"
            )
        })
}

/// A schema of this test's own, dropped at the end.
struct Schema(String);

impl Schema {
    fn new() -> Self {
        let random = RandomState::new().build_hasher().finish() as u32;
        Self(format!("otp_server_{}_{random:08x}", std::process::id()))
    }

    /// The password stored for a phone.
    async fn password_of(&self, digits: &str) -> String {
        let mut conn = connect().await;
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT password FROM \"{}\".otp_reset_users WHERE phone = $1",
            self.0
        )))
        .bind(digits)
        .fetch_one(&mut conn)
        .await
        .unwrap()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let mut conn = connect().await;
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
                    )))
                    .execute(&mut conn)
                    .await
                })
        })
        .join();
    }
}

#[tokio::test]
async fn imported_users_log_in_and_reset_through_the_server() {
    let schema = Schema::new();
    let url = database_url();
    let demo = demo_data("postgres-import");
    let env = [
        ("USER_STORE", url.as_str()),
        ("POSTGRES_SCHEMA", schema.0.as_str()),
    ];
    let file = demo.to_str().unwrap();
    let (ok, output) = run_with_args(&env, &["--import-users", file]);
    assert!(ok, "{output}");
    assert!(
        output.contains("3 inserted, 0 updated, 0 unchanged"),
        "{output}"
    );
    for secret in ["password123", "rahasia99", "budi2024!"] {
        assert!(!output.contains(secret), "a password printed: {output}");
    }
    let stored = schema.password_of(JOHN_DIGITS).await;
    assert!(stored.starts_with("$argon2id$"), "stored unhashed");

    let (ok, output) = run_with_args(&env, &["--import-users", file]);
    assert!(ok, "{output}");
    assert!(
        output.contains("0 inserted, 0 updated, 3 unchanged"),
        "{output}"
    );
    assert_eq!(
        schema.password_of(JOHN_DIGITS).await,
        stored,
        "a re-run changed nothing"
    );

    // The server's own data file has no users: they come from PostgreSQL.
    let codes = fresh_dir("postgres-codes").join("data.json");
    std::fs::write(&codes, r#"{"users":[],"otps":[]}"#).unwrap();
    let server = Server::start(
        &codes,
        &[
            ("USER_STORE", url.as_str()),
            ("POSTGRES_SCHEMA", schema.0.as_str()),
            ("DEV_EXPOSE_OTP", "true"),
        ],
    )
    .await;
    assert_eq!(
        server.login(JOHN.1, "password123").await,
        200,
        "the old password"
    );
    assert_ne!(server.login(JOHN.1, "wrong-password").await, 200);
    server.reset_password(JOHN.0, JOHN.1, "sandiBaru#1").await;
    assert_eq!(server.login(JOHN.1, "sandiBaru#1").await, 200);
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    server.stop();

    let changed = schema.password_of(JOHN_DIGITS).await;
    assert_ne!(changed, stored, "the reset reached the database");
    assert_eq!(
        Passwords::default()
            .verify("sandiBaru#1", &changed)
            .await
            .unwrap(),
        PasswordCheck::Match {
            needs_upgrade: false
        }
    );
}

#[test]
fn a_bad_user_store_is_refused_without_echoing_the_password() {
    for value in [
        "postgres://app:s3cret-pw@host:notaport/db",
        "mysql://app:s3cret-pw@host/db",
    ] {
        let (ok, output) = run_to_exit(&[("USER_STORE", value), ("PORT", "0")]);
        assert!(!ok, "{output}");
        assert!(output.contains("USER_STORE"), "{output}");
        assert!(!output.contains("s3cret-pw"), "{output}");
    }
}

#[test]
fn a_user_table_name_that_would_inject_sql_is_refused() {
    let url = database_url();
    let (ok, output) = run_to_exit(&[
        ("USER_STORE", url.as_str()),
        ("POSTGRES_USER_TABLE", "users; DROP TABLE users"),
        ("PORT", "0"),
    ]);
    assert!(!ok, "{output}");
    assert!(output.contains("POSTGRES_USER_TABLE"), "{output}");
}

/// Runs the binary with arguments to completion.
fn run_with_args(env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_example-server"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}
