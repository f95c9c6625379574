//! How to reach the database, and the bounds on what the store holds and waits for.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

use crate::{PgStoreError, UserTable};

/// Settings of a [`PgUserStore`](crate::PgUserStore): where the database is, how many
/// connections it may hold, how long anything may wait, and which table holds the users.
///
/// ```
/// use std::time::Duration;
/// use otp_reset_postgres::PgStoreOptions;
///
/// let options = PgStoreOptions::new("postgres://app:secret@db.internal/site")?
///     .with_max_connections(20)
///     .with_acquire_timeout(Duration::from_secs(2))
///     .with_statement_timeout(Duration::from_secs(3));
/// # let _ = options;
/// # Ok::<(), otp_reset_postgres::PgStoreError>(())
/// ```
#[derive(Clone)]
pub struct PgStoreOptions {
    pub(crate) connect: PgConnectOptions,
    pub(crate) max_connections: u32,
    pub(crate) acquire_timeout: Duration,
    pub(crate) statement_timeout: Duration,
    pub(crate) schema: Option<String>,
    pub(crate) table: Option<UserTable>,
}

impl std::fmt::Debug for PgStoreOptions {
    // The connect options hold the password: only the bounds and names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStoreOptions")
            .field("host", &self.connect.get_host())
            .field("database", &self.connect.get_database())
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("schema", &self.schema)
            .field("table", &self.table)
            .finish()
    }
}

impl PgStoreOptions {
    /// Default pool bound: connections one instance holds at most.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
    /// Default wait for a connection (including opening one) before `Unavailable`.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
    /// Default longest statement, enforced by the server (`statement_timeout`).
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Options for the database at `url` (`postgres://user:password@host:port/database`, with
    /// libpq's parameters such as `sslmode=require`), with the default bounds and table.
    /// A URL that does not parse is a [`PgStoreError::Setting`] that never repeats the URL (it
    /// may hold a password).
    pub fn new(url: &str) -> Result<Self, PgStoreError> {
        let connect = PgConnectOptions::from_str(url).map_err(|_| PgStoreError::Setting {
            setting: "url",
            reason: "not a valid postgres:// URL".into(),
        })?;
        Ok(Self::from_connect_options(connect))
    }

    /// Options from sqlx's own connect options.
    pub fn from_connect_options(connect: PgConnectOptions) -> Self {
        Self {
            connect: connect.application_name("otp-reset"),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: Self::DEFAULT_STATEMENT_TIMEOUT,
            schema: None,
            table: None,
        }
    }

    /// At most `max` connections (at least 1).
    #[must_use]
    pub fn with_max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long a call waits for a connection, opening one included, before it fails with
    /// `Unavailable`.
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// The longest one statement may run: set as the connection's `statement_timeout`, and
    /// (with the acquire timeout and a second's margin) as a deadline on every call, so a
    /// database that stops answering mid-statement fails the call too.
    #[must_use]
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Works in `schema` (its connections' `search_path`): the default table and its migration
    /// history live there. Checked like the names of [`UserTable`].
    pub fn with_schema(mut self, schema: &str) -> Result<Self, PgStoreError> {
        crate::table::check_identifier("schema", schema)?;
        self.schema = Some(schema.to_owned());
        Ok(self)
    }

    /// Uses a site's existing table instead of the default one: no migration runs, and
    /// [`PgUserStore::connect`](crate::PgUserStore::connect) checks that its columns exist.
    #[must_use]
    pub fn with_table(mut self, table: UserTable) -> Self {
        self.table = Some(table);
        self
    }

    /// The whole-call deadline: waiting for a connection, then one statement, and a margin.
    pub(crate) fn call_timeout(&self) -> Duration {
        self.acquire_timeout + self.statement_timeout + Duration::from_secs(1)
    }

    /// The connect options with the statement timeout and schema as startup parameters, so they
    /// hold on every connection from its first statement, at no extra round trip.
    pub(crate) fn connect_options(&self) -> PgConnectOptions {
        let millis = self.statement_timeout.as_millis().max(1);
        let mut parameters = vec![("statement_timeout", millis.to_string())];
        if let Some(schema) = &self.schema {
            parameters.push(("search_path", format!("\"{schema}\"")));
        }
        self.connect.clone().options(parameters)
    }
}
