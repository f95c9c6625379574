//! A schema of its own per test in the real PostgreSQL, dropped afterwards.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use otp_reset::{PhoneNumber, StoreError, User, UserId, UserStore};
use otp_reset_postgres::{PgStoreOptions, PgUserStore};
use sqlx::{Connection, PgConnection};

/// The test database: `OTP_RESET_TEST_DATABASE_URL`, or the local one.
pub fn database_url() -> String {
    std::env::var("OTP_RESET_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

const HOW_TO_START: &str = "these tests need PostgreSQL: start it (apt-get install postgresql; \
     pg_ctlcluster 15 main start, trust auth for 127.0.0.1), or set OTP_RESET_TEST_DATABASE_URL";

/// A name no other test or run uses: the process id and a random part.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let random = RandomState::new().build_hasher().finish();
    format!(
        "{prefix}_{}_{}_{:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst),
        random as u32
    )
}

/// A connection to the test database, or a failure that says how to get one.
pub async fn admin() -> PgConnection {
    PgConnection::connect(&database_url())
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL ({e}); {HOW_TO_START}"))
}

/// A fresh schema, dropped (with all it holds) when this is dropped.
#[derive(Debug)]
pub struct Schema {
    pub name: String,
}

impl Schema {
    pub async fn create(prefix: &str) -> Schema {
        let name = unique_name(prefix);
        let mut admin = admin().await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap();
        Schema { name }
    }

    /// Store options in this schema, with short bounds.
    pub fn options(&self) -> PgStoreOptions {
        PgStoreOptions::new(&database_url())
            .unwrap()
            .with_schema(&self.name)
            .unwrap()
            .with_max_connections(8)
            .with_acquire_timeout(Duration::from_secs(5))
            .with_statement_timeout(Duration::from_secs(5))
    }

    /// A connection working in this schema.
    pub async fn connection(&self) -> PgConnection {
        let mut conn = admin().await;
        self.run(&mut conn, &format!("SET search_path TO \"{}\"", self.name))
            .await;
        conn
    }

    /// Runs a statement made by the test itself.
    pub async fn run(&self, conn: &mut PgConnection, sql: &str) {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A store on the default table in this schema, migrated.
    pub async fn default_store(&self) -> PgUserStore {
        let store = PgUserStore::connect(self.options()).await.unwrap();
        store.migrate().await.unwrap();
        store
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // Drop runs inside a runtime (or while unwinding from one): drop the schema from a
        // thread with a runtime of its own.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = admin().await;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
                )))
                .execute(&mut admin)
                .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(_))) {
            eprintln!("could not drop test schema {}", self.name);
        }
    }
}

/// A store with its schema, dropped together.
#[derive(Debug)]
pub struct TestStore {
    pub store: PgUserStore,
    pub schema: Schema,
}

impl TestStore {
    /// The default table in a fresh schema, holding `users` with their ids and passwords as
    /// given (plain text included, as a legacy table may hold).
    pub async fn with_users(users: Vec<User>) -> TestStore {
        let schema = Schema::create("otp_pg_conformance").await;
        let store = schema.default_store().await;
        let mut conn = schema.connection().await;
        for user in users {
            sqlx::query(
                "INSERT INTO otp_reset_users (id, name, phone, password) OVERRIDING SYSTEM VALUE \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(user.id.0.parse::<i64>().unwrap())
            .bind(&user.name)
            .bind(user.phone.digits())
            .bind(&user.password)
            .execute(&mut conn)
            .await
            .unwrap();
        }
        TestStore { store, schema }
    }
}

impl UserStore for TestStore {
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        self.store.find_by_phone(phone).await
    }

    async fn set_password_hash(&self, id: &UserId, phc: &str) -> Result<bool, StoreError> {
        self.store.set_password_hash(id, phc).await
    }
}

/// A phone number for test user `n`.
pub fn phone(n: u64) -> PhoneNumber {
    PhoneNumber::from_u64(6_281_300_000_000 + n).unwrap()
}
