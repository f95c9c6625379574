//! `USER_STORE` and the PostgreSQL settings: where the users live.

use otp_reset_postgres::{PgStoreError, PgStoreOptions, UserTable};

use super::{Config, ConfigError};

/// `USER_STORE` as given: read by [`Config::user_store`], which never repeats it in an error
/// (a URL may hold a password), and never shown by `Debug`.
#[derive(Clone)]
pub struct UserStoreSetting(String);

impl From<String> for UserStoreSetting {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl std::fmt::Debug for UserStoreSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.trim() == "data-file" {
            f.write_str("data-file")
        } else {
            f.write_str("postgres://…")
        }
    }
}

/// Where the users live, as the settings say.
#[derive(Debug)]
pub enum UserStoreKind {
    /// The JSON data file (`DATA_FILE`).
    DataFile,
    /// PostgreSQL, with the pool, schema and table settings applied.
    Postgres(Box<PgStoreOptions>),
}

fn invalid(setting: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        problem: problem.into(),
    }
}

impl Config {
    /// `USER_STORE` with the `POSTGRES_*` settings, checked; an error names the setting and
    /// never repeats the URL.
    pub fn user_store(&self) -> Result<UserStoreKind, ConfigError> {
        let text = self.user_store.0.trim();
        if text == "data-file" {
            return Ok(UserStoreKind::DataFile);
        }
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err(invalid(
                "USER_STORE",
                "expected `data-file` or a URL such as postgres://user:password@host/database",
            ));
        }
        let mut options = PgStoreOptions::new(text).map_err(|_| {
            invalid(
                "USER_STORE",
                "not a valid postgres:// URL (user:password@host:port/database)",
            )
        })?;
        if !(1..=1000).contains(&self.postgres_max_connections) {
            return Err(invalid(
                "POSTGRES_MAX_CONNECTIONS",
                format!(
                    "{} is not between 1 and 1000",
                    self.postgres_max_connections
                ),
            ));
        }
        options = options.with_max_connections(self.postgres_max_connections);
        if let Some(schema) = &self.postgres_schema {
            options = options
                .with_schema(schema)
                .map_err(|e| invalid("POSTGRES_SCHEMA", e.to_string()))?;
        }
        if let Some(table) = self.user_table()? {
            options = options.with_table(table);
        }
        Ok(UserStoreKind::Postgres(Box::new(options)))
    }

    /// `POSTGRES_USER_TABLE` with `POSTGRES_USER_COLUMNS`, if set.
    fn user_table(&self) -> Result<Option<UserTable>, ConfigError> {
        let Some(table) = &self.postgres_user_table else {
            if self.postgres_user_columns.is_some() {
                return Err(invalid(
                    "POSTGRES_USER_COLUMNS",
                    "needs POSTGRES_USER_TABLE (the table they are in)",
                ));
            }
            return Ok(None);
        };
        let columns: Vec<&str> = match &self.postgres_user_columns {
            Some(columns) => columns.split(',').map(str::trim).collect(),
            None => vec!["id", "name", "phone", "password"],
        };
        let [id, name, phone, password] = columns[..] else {
            return Err(invalid(
                "POSTGRES_USER_COLUMNS",
                "give four names: id,name,phone,password",
            ));
        };
        UserTable::new(table.trim(), id, name, phone, password)
            .map(Some)
            .map_err(|error| match error {
                PgStoreError::Setting {
                    setting: "table", ..
                } => invalid("POSTGRES_USER_TABLE", error.to_string()),
                other => invalid("POSTGRES_USER_COLUMNS", other.to_string()),
            })
    }
}
