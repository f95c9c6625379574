//! A PostgreSQL user store for [`otp_reset`]: the users of a site that runs several server
//! instances, shared through one database.
//!
//! [`PgUserStore`] implements [`otp_reset::UserStore`] over a bounded connection pool:
//!
//! - **The default table**, `otp_reset_users`, created by [`PgUserStore::migrate`] (sqlx's
//!   embedded migrations, recorded in `_sqlx_migrations`):
//!
//!   ```sql
//!   CREATE TABLE otp_reset_users (
//!       id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
//!       name text NOT NULL,
//!       phone text NOT NULL UNIQUE,    -- E.164 digits without `+`: 6281234567890
//!       password text NOT NULL,        -- an argon2id PHC string
//!       updated_at timestamptz NOT NULL DEFAULT now()
//!   );
//!   ```
//!
//! - **Or a site's own table** ([`UserTable`]): its names checked and quoted, its columns
//!   checked at [`PgUserStore::connect`], no migration.
//! - **Bounded and timed**: at most [`PgStoreOptions::with_max_connections`] connections; a
//!   call waits at most the acquire timeout for one and the statement timeout (set on every
//!   connection) for its statement, so a database that is down or slow gives a quick
//!   [`StoreError::Unavailable`](otp_reset::StoreError::Unavailable), never a hang. A row it
//!   cannot read is [`StoreError::Corrupt`](otp_reset::StoreError::Corrupt).
//! - **One statement per call**: a lookup by phone is one indexed query (several rows with one
//!   phone, from a legacy table, give the one with the lowest id, always); a password change is
//!   one `UPDATE … WHERE id = $1`; [`PgUserStore::replace_password_hash`] is a compare-and-set in
//!   one `UPDATE`.
//! - **An import** ([`PgUserStore::import`]) of users from elsewhere (the JSON data file), in
//!   one transaction, upserting by phone, plain-text passwords hashed with argon2id first.
//!
//! Queries are checked at run time (`sqlx::query`), so building needs no database.
//!
//! ```no_run
//! use otp_reset::{PhoneNumber, UserStore};
//! use otp_reset_postgres::{PgStoreOptions, PgUserStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let options = PgStoreOptions::new("postgres://app@127.0.0.1:5432/site")?.with_max_connections(10);
//! let users = PgUserStore::connect(options).await?;
//! users.migrate().await?;
//! let phone: PhoneNumber = "081234567890".parse()?;
//! if let Some(user) = users.find_by_phone(&phone).await? {
//!     println!("found user {}", user.id);
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod import;
mod options;
mod store;
mod table;

pub use error::PgStoreError;
pub use import::ImportReport;
pub use options::PgStoreOptions;
pub use store::PgUserStore;
pub use table::UserTable;

/// sqlx, as this crate uses it (for [`PgStoreOptions::from_connect_options`]).
pub use sqlx;
