//! [`PgUserStore`]: connecting, checking the table, migrating, and the user store's calls.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use otp_reset::{PhoneNumber, StoreError, User, UserId, UserStore};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

use crate::error::{TimedOut, is_data_exception, store_error};
use crate::table::Statements;
use crate::{PgStoreError, PgStoreOptions, UserTable};

/// The default table's migrations, embedded at build time from `migrations/`.
static MIGRATOR: Migrator = sqlx::migrate!();

/// Users in PostgreSQL. Clones share one pool. See the [crate docs](crate).
#[derive(Clone, Debug)]
pub struct PgUserStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    statements: Statements,
    table: UserTable,
    /// The default table, which `migrate` creates; `false` for a site's own.
    managed: bool,
    schema: Option<String>,
    call_timeout: Duration,
    failing: AtomicBool,
    failure: Mutex<Option<String>>,
}

/// A call that failed: the database's error, or no answer in time.
pub(crate) enum CallError {
    Db(sqlx::Error),
    TimedOut(Duration),
}

/// A row as the lookup reads it: id, name, phone, password, all as text.
pub(crate) type Row = (String, Option<String>, Option<String>, Option<String>);

impl PgUserStore {
    /// Opens a pool on `options` and checks the database answers; with a site's own table
    /// ([`PgStoreOptions::with_table`]), checks it has the columns, failing with
    /// [`PgStoreError::MissingTable`] or [`PgStoreError::MissingColumns`] naming what lacks.
    /// A database that does not answer within the acquire timeout is
    /// [`PgStoreError::Unavailable`].
    pub async fn connect(options: PgStoreOptions) -> Result<Self, PgStoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .min_connections(0)
            .acquire_timeout(options.acquire_timeout)
            .idle_timeout(Duration::from_secs(600))
            .max_lifetime(Duration::from_secs(1800))
            .connect_lazy_with(options.connect_options());
        let call_timeout = options.call_timeout();
        let startup = async {
            match &options.table {
                None => {
                    sqlx::query("SELECT 1").execute(&pool).await?;
                    Ok(None)
                }
                Some(table) => check_table(&pool, table).await.map(Some),
            }
        };
        let checked = match tokio::time::timeout(call_timeout, startup).await {
            Ok(result) => result.map_err(|e| match e {
                Startup::Db(e) => PgStoreError::Unavailable(e),
                Startup::Table(e) => e,
            })?,
            Err(_) => {
                return Err(PgStoreError::Unavailable(sqlx::Error::Io(
                    std::io::Error::new(std::io::ErrorKind::TimedOut, TimedOut(call_timeout)),
                )));
            }
        };
        let (table, statements, managed) = match (options.table, checked) {
            (Some(table), Some(id_type)) => {
                let statements = Statements::new(&table, &id_type, false);
                (table, statements, false)
            }
            _ => {
                let table = UserTable::default_table();
                let statements = Statements::new(&table, "bigint", true);
                (table, statements, true)
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                statements,
                table,
                managed,
                schema: options.schema,
                call_timeout,
                failing: AtomicBool::new(false),
                failure: Mutex::new(None),
            }),
        })
    }

    /// Creates or updates the default table (and the schema of
    /// [`PgStoreOptions::with_schema`], if missing). Safe to run from several instances at once
    /// (sqlx takes an advisory lock) and at every start. Does nothing with a site's own table.
    pub async fn migrate(&self) -> Result<(), PgStoreError> {
        if !self.inner.managed {
            return Ok(());
        }
        let migrate = async {
            if let Some(schema) = &self.inner.schema {
                // Checked as a plain identifier by `with_schema`.
                let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
                sqlx::query(sqlx::AssertSqlSafe(create))
                    .execute(&self.inner.pool)
                    .await
                    .map_err(PgStoreError::Unavailable)?;
            }
            MIGRATOR
                .run(&self.inner.pool)
                .await
                .map_err(PgStoreError::Migrate)
        };
        // Several statements, and perhaps a wait for another instance's migration.
        let deadline = self.inner.call_timeout * 10;
        tokio::time::timeout(deadline, migrate)
            .await
            .unwrap_or_else(|_| {
                Err(PgStoreError::Unavailable(sqlx::Error::Io(
                    std::io::Error::new(std::io::ErrorKind::TimedOut, TimedOut(deadline)),
                )))
            })
    }

    /// The table the users are in, as configured (`otp_reset_users` by default).
    pub fn table(&self) -> &UserTable {
        &self.inner.table
    }

    /// Why the last call to the database failed, until one succeeds again; `None` while it
    /// answers. For a health check, with [`PgUserStore::check`] to ask the database afresh:
    ///
    /// ```
    /// # use otp_reset_postgres::PgUserStore;
    /// async fn healthy(users: &PgUserStore) -> Result<(), String> {
    ///     let _ = users.check().await;
    ///     match users.failure() {
    ///         Some(reason) => Err(format!("the user database is failing: {reason}")),
    ///         None => Ok(()),
    ///     }
    /// }
    /// ```
    pub fn failure(&self) -> Option<String> {
        if !self.inner.failing.load(Ordering::Acquire) {
            return None;
        }
        self.inner
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Asks the database a trivial question (`SELECT 1`), within the call's deadline; updates
    /// [`PgUserStore::failure`].
    pub async fn check(&self) -> Result<(), StoreError> {
        let result = self
            .timed(sqlx::query("SELECT 1").execute(&self.inner.pool))
            .await;
        self.settle(result).map(|_| ())
    }

    /// Replaces a user's password with `phc` only if it is still `expected`, in one `UPDATE`
    /// (compare-and-set); `Ok(false)` when no user has this id or the password changed
    /// meanwhile. An upgrade of a plain-text password uses it, so that it never overwrites a
    /// newer one.
    pub async fn replace_password_hash(
        &self,
        id: &UserId,
        expected: &str,
        phc: &str,
    ) -> Result<bool, StoreError> {
        let update = sqlx::query(self.inner.statements.replace_password())
            .bind(&id.0)
            .bind(expected)
            .bind(phc)
            .execute(&self.inner.pool);
        self.changed(self.timed(update).await)
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    pub(crate) fn statements(&self) -> &Statements {
        &self.inner.statements
    }

    /// `call`, failing once the call's deadline passes.
    pub(crate) async fn timed<T>(
        &self,
        call: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, CallError> {
        match tokio::time::timeout(self.inner.call_timeout, call).await {
            Ok(result) => result.map_err(CallError::Db),
            Err(_) => Err(CallError::TimedOut(self.inner.call_timeout)),
        }
    }

    /// A call's result as the core sees it, remembering whether the database answers.
    pub(crate) fn settle<T>(&self, result: Result<T, CallError>) -> Result<T, StoreError> {
        let error = match result {
            Ok(value) => {
                self.answered();
                return Ok(value);
            }
            Err(CallError::TimedOut(after)) => StoreError::Unavailable(Box::new(TimedOut(after))),
            Err(CallError::Db(error)) => store_error(error),
        };
        if let StoreError::Unavailable(source) = &error {
            let reason = source.to_string();
            tracing::warn!(%reason, "PostgreSQL call failed");
            *self
                .inner
                .failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(reason);
            self.inner.failing.store(true, Ordering::Release);
        } else {
            self.answered();
        }
        Err(error)
    }

    fn answered(&self) {
        if self.inner.failing.swap(false, Ordering::AcqRel) {
            *self
                .inner
                .failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = None;
        }
    }

    /// Whether an `UPDATE … WHERE id = $1` changed a row; an id the id column's type refuses
    /// names nobody.
    fn changed(
        &self,
        result: Result<sqlx::postgres::PgQueryResult, CallError>,
    ) -> Result<bool, StoreError> {
        match result {
            Err(CallError::Db(error)) if is_data_exception(&error) => {
                self.answered();
                Ok(false)
            }
            other => self.settle(other).map(|done| done.rows_affected() > 0),
        }
    }
}

/// A row read by phone as a [`User`]; a row without a name or password is corrupt.
pub(crate) fn read_user(row: Row, phone: PhoneNumber) -> Result<User, StoreError> {
    let (id, name, _phone, password) = row;
    let (Some(name), Some(password)) = (name, password) else {
        return Err(StoreError::Corrupt(format!(
            "user {id} has no name or no password"
        )));
    };
    Ok(User {
        id: UserId(id),
        name,
        phone,
        password,
    })
}

enum Startup {
    Db(sqlx::Error),
    Table(PgStoreError),
}

impl From<sqlx::Error> for Startup {
    fn from(error: sqlx::Error) -> Self {
        Self::Db(error)
    }
}

/// Checks a site's table has the four columns, the name, phone and password ones of a text
/// type; returns the id column's type as PostgreSQL names it.
async fn check_table(pool: &PgPool, table: &UserTable) -> Result<String, Startup> {
    let missing_table = || {
        Startup::Table(PgStoreError::MissingTable {
            table: table.table().to_owned(),
        })
    };
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT a.attname::text, t.typcategory::text, format_type(a.atttypid, a.atttypmod) \
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
         WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .bind(table.quoted_table())
    .fetch_all(pool)
    .await
    .map_err(|e| match &e {
        // 42P01 undefined_table, 3F000 invalid_schema_name
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("42P01" | "3F000")) => {
            missing_table()
        }
        _ => Startup::Db(e),
    })?;
    let [id, name, phone, password] = table.columns();
    let find = |wanted: &str| columns.iter().find(|(column, _, _)| column == wanted);
    let mut missing = Vec::new();
    let id_type = match find(id) {
        Some((_, _, id_type)) => id_type.clone(),
        None => {
            missing.push(format!("{id} (missing)"));
            String::new()
        }
    };
    for column in [name, phone, password] {
        match find(column) {
            None => missing.push(format!("{column} (missing)")),
            Some((_, category, kind)) if category != "S" => {
                missing.push(format!("{column} (of type {kind}, not text)"));
            }
            Some(_) => {}
        }
    }
    if missing.is_empty() {
        Ok(id_type)
    } else {
        Err(Startup::Table(PgStoreError::MissingColumns {
            table: table.table().to_owned(),
            missing,
        }))
    }
}

impl UserStore for PgUserStore {
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        let lookup = sqlx::query_as::<_, Row>(self.inner.statements.find_by_phone())
            .bind(phone.digits())
            .fetch_optional(&self.inner.pool);
        let row = self.settle(self.timed(lookup).await)?;
        row.map(|row| read_user(row, *phone)).transpose()
    }

    async fn set_password_hash(&self, id: &UserId, phc: &str) -> Result<bool, StoreError> {
        let update = sqlx::query(self.inner.statements.set_password())
            .bind(&id.0)
            .bind(phc)
            .execute(&self.inner.pool);
        self.changed(self.timed(update).await)
    }
}
