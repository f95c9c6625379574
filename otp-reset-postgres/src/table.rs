//! Where the users are: the default table or a site's own, its names checked and quoted, and
//! the statements built from them once.

use std::sync::Arc;

use sqlx::AssertSqlSafe;

use crate::PgStoreError;

/// The table and column names of a site's existing user table.
///
/// Each name is used exactly as written, quoted as an SQL identifier (so it is case-sensitive:
/// `Pelanggan` is the table created as `"Pelanggan"`); the table may be schema-qualified
/// (`shop.users`). A name must start with a letter or `_` and hold only letters, digits, `_`
/// and `$`, at most 63 bytes: anything else (quotes, spaces, `;`) is refused, so a setting can
/// never smuggle SQL in.
///
/// The phone column must be of a text type and hold the E.164 digits without `+`
/// (`6281234567890`, as [`otp_reset::PhoneNumber::digits`] gives them); the name and password
/// columns must be text; the id may be of any type (it is read and compared as text). Other
/// columns the table has need defaults for [`PgUserStore::import`](crate::PgUserStore::import)
/// to insert.
///
/// ```
/// use otp_reset_postgres::UserTable;
///
/// let table = UserTable::new("shop.Pelanggan", "id_pelanggan", "nama_lengkap", "no_hp", "kata_sandi")?;
/// assert_eq!(table.table(), "shop.Pelanggan");
/// assert!(UserTable::new("users; DROP TABLE users", "id", "name", "phone", "password").is_err());
/// # Ok::<(), otp_reset_postgres::PgStoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserTable {
    table: String,
    id: String,
    name: String,
    phone: String,
    password: String,
}

impl UserTable {
    /// The default table's name, created by [`PgUserStore::migrate`](crate::PgUserStore::migrate).
    pub const DEFAULT_TABLE: &'static str = "otp_reset_users";

    /// A site's table `table` (optionally `schema.table`) with these columns; fails with
    /// [`PgStoreError::Setting`] naming the first name that is not a plain identifier.
    pub fn new(
        table: &str,
        id: &str,
        name: &str,
        phone: &str,
        password: &str,
    ) -> Result<Self, PgStoreError> {
        let mut parts = table.split('.');
        let (Some(first), second, None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad_name(
                "table",
                "at most one `.`, between schema and table",
            ));
        };
        check_identifier("table", first)?;
        if let Some(second) = second {
            check_identifier("table", second)?;
        }
        for (setting, value) in [
            ("id column", id),
            ("name column", name),
            ("phone column", phone),
            ("password column", password),
        ] {
            check_identifier(setting, value)?;
        }
        Ok(Self {
            table: table.to_owned(),
            id: id.to_owned(),
            name: name.to_owned(),
            phone: phone.to_owned(),
            password: password.to_owned(),
        })
    }

    /// The table's name as given.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The column names as given: id, name, phone, password.
    pub fn columns(&self) -> [&str; 4] {
        [&self.id, &self.name, &self.phone, &self.password]
    }

    /// The table, quoted (`"shop"."Pelanggan"`).
    pub(crate) fn quoted_table(&self) -> String {
        self.table
            .split('.')
            .map(quote)
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The default table's layout (see the crate docs).
    pub(crate) fn default_table() -> Self {
        Self {
            table: Self::DEFAULT_TABLE.to_owned(),
            id: "id".to_owned(),
            name: "name".to_owned(),
            phone: "phone".to_owned(),
            password: "password".to_owned(),
        }
    }
}

fn bad_name(setting: &'static str, reason: &str) -> PgStoreError {
    PgStoreError::Setting {
        setting,
        reason: reason.to_owned(),
    }
}

/// Refuses anything but a plain identifier: a letter or `_`, then letters, digits, `_`, `$`.
pub(crate) fn check_identifier(setting: &'static str, name: &str) -> Result<(), PgStoreError> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(bad_name(setting, "empty"));
    };
    if name.len() > 63 {
        return Err(bad_name(setting, "longer than 63 bytes"));
    }
    let plain = (first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    if plain {
        Ok(())
    } else {
        Err(bad_name(
            setting,
            "not a plain identifier (a letter or `_`, then letters, digits, `_` or `$`)",
        ))
    }
}

/// `name` as a quoted identifier. Checked names hold no `"`; doubling is the rule anyway.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A statement built once from checked, quoted names.
pub(crate) type Sql = AssertSqlSafe<Arc<str>>;

fn sql(text: String) -> Arc<str> {
    Arc::from(text)
}

/// The statements the store runs, built once at connect.
#[derive(Debug)]
pub(crate) struct Statements {
    find_by_phone: Arc<str>,
    set_password: Arc<str>,
    replace_password: Arc<str>,
    lock_by_phone: Arc<str>,
    insert: Arc<str>,
    update_user: Arc<str>,
}

impl Statements {
    /// The statements on `table`, whose id column is of type `id_type` (as PostgreSQL's
    /// `format_type` names it, so never from a setting); `touch` sets `updated_at` on changes
    /// (the default table has it).
    pub(crate) fn new(table: &UserTable, id_type: &str, touch: bool) -> Self {
        let t = table.quoted_table();
        let [id, name, phone, password] = table.columns().map(quote);
        let touched = if touch { ", updated_at = now()" } else { "" };
        // `u.` everywhere: a bare name in ORDER BY would name the output column, the id cast
        // to text, and sort "20" before "7".
        let select = format!(
            "SELECT u.{id}::text, u.{name}::text, u.{phone}::text, u.{password}::text \
             FROM {t} AS u WHERE u.{phone} = $1 ORDER BY u.{id} LIMIT 1"
        );
        Self {
            lock_by_phone: sql(format!("{select} FOR UPDATE")),
            find_by_phone: sql(select),
            set_password: sql(format!(
                "UPDATE {t} SET {password} = $2{touched} WHERE {id} = CAST($1 AS {id_type})"
            )),
            replace_password: sql(format!(
                "UPDATE {t} SET {password} = $3{touched} \
                 WHERE {id} = CAST($1 AS {id_type}) AND {password} = $2"
            )),
            insert: sql(format!(
                "INSERT INTO {t} ({name}, {phone}, {password}) VALUES ($1, $2, $3)"
            )),
            update_user: sql(format!(
                "UPDATE {t} SET {name} = $2, {password} = $3{touched} \
                 WHERE {id} = CAST($1 AS {id_type})"
            )),
        }
    }

    pub(crate) fn find_by_phone(&self) -> Sql {
        AssertSqlSafe(Arc::clone(&self.find_by_phone))
    }

    pub(crate) fn lock_by_phone(&self) -> Sql {
        AssertSqlSafe(Arc::clone(&self.lock_by_phone))
    }

    pub(crate) fn set_password(&self) -> Sql {
        AssertSqlSafe(Arc::clone(&self.set_password))
    }

    pub(crate) fn replace_password(&self) -> Sql {
        AssertSqlSafe(Arc::clone(&self.replace_password))
    }

    pub(crate) fn insert(&self) -> Sql {
        AssertSqlSafe(Arc::clone(&self.insert))
    }

    pub(crate) fn update_user(&self) -> Sql {
        AssertSqlSafe(Arc::clone(&self.update_user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_but_plain_names_are_taken_and_quoted() {
        let table = UserTable::new("toko.Pelanggan", "id", "nama_lengkap", "no_hp", "sandi$1")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(table.quoted_table(), "\"toko\".\"Pelanggan\"");
    }

    #[test]
    fn names_that_could_carry_sql_are_refused() {
        for bad in [
            "users\"; DROP TABLE x; --",
            "users;",
            "a b",
            "1users",
            "",
            "a.b.c",
            "users--",
            "x'",
        ] {
            assert!(
                UserTable::new(bad, "id", "name", "phone", "password").is_err(),
                "{bad:?}"
            );
            assert!(
                UserTable::new("users", "id", bad, "phone", "password").is_err(),
                "{bad:?}"
            );
        }
    }
}
