//! The crate's error, and how database errors become the core's [`StoreError`].

use otp_reset::{PasswordError, StoreError};

/// Why the store could not be set up, migrated, or could not import.
///
/// Calls of [`otp_reset::UserStore`] answer [`StoreError`] instead, as the trait says.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgStoreError {
    /// A setting is invalid; `setting` names it. Never holds the URL's password.
    #[error("invalid setting `{setting}`: {reason}")]
    Setting {
        /// Which setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The database could not be reached, or did not answer in time.
    #[error("PostgreSQL is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The configured table does not exist.
    #[error("the user table {table} does not exist")]
    MissingTable {
        /// The table as configured.
        table: String,
    },
    /// The configured table lacks columns, or has them of a type the store cannot use.
    #[error("the user table {table} lacks usable columns: {}", missing.join(", "))]
    MissingColumns {
        /// The table as configured.
        table: String,
        /// Each column missing or unusable, with why (`no_hp (missing)`).
        missing: Vec<String>,
    },
    /// The migration of the default table failed.
    #[error("the migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A store call failed (during an import).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A password could not be hashed or checked (during an import).
    #[error("password hashing failed")]
    Password(#[source] PasswordError),
}

/// A database error as the core sees it: a row it cannot read is `Corrupt`; anything else
/// (unreachable, timed out, refused) is `Unavailable`.
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => StoreError::Corrupt(error.to_string()),
        other => StoreError::Unavailable(Box::new(other)),
    }
}

/// Whether PostgreSQL refused a value as not of the column's type (an id that is no number for
/// a `bigint` id): class 22, data exception. Such an id names nobody.
pub(crate) fn is_data_exception(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code.starts_with("22")),
        _ => false,
    }
}

/// The call took longer than its deadline.
#[derive(Debug, thiserror::Error)]
#[error("PostgreSQL did not answer within {0:?}")]
pub(crate) struct TimedOut(pub(crate) std::time::Duration);
