//! Importing users from elsewhere (the JSON data file), upserting by phone in one transaction.

use otp_reset::{PasswordCheck, PasswordError, Passwords, User};

use crate::PgStoreError;
use crate::store::{PgUserStore, Row};

/// What [`PgUserStore::import`] did, user by user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Users whose phone was not in the table.
    pub inserted: usize,
    /// Users whose phone was there with another name or password.
    pub updated: usize,
    /// Users already there as given (a re-run finds them all so).
    pub unchanged: usize,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} inserted, {} updated, {} unchanged",
            self.inserted, self.updated, self.unchanged
        )
    }
}

impl PgUserStore {
    /// Imports `users` in one transaction (all or nothing), upserting by phone: a phone not in
    /// the table is inserted, one that is (its lowest id, as lookups find it) gets the given
    /// name and password. Each user's `id` is ignored; the table gives its own.
    ///
    /// A plain-text password is hashed with argon2id before it reaches the database, which
    /// never holds a plain password; a PHC string (`$argon2id$…`) is stored as it is. A user
    /// already stored with the same name and a password that verifies is left unchanged, so a
    /// re-run changes nothing. Hashing takes tens of milliseconds a user, on
    /// `passwords`' threads.
    ///
    /// ```no_run
    /// # async fn run(users: otp_reset_postgres::PgUserStore, from_file: Vec<otp_reset::User>)
    /// # -> Result<(), otp_reset_postgres::PgStoreError> {
    /// let report = users.import(from_file, &otp_reset::Passwords::default()).await?;
    /// println!("{report}"); // "3 inserted, 0 updated, 0 unchanged"
    /// # Ok(())
    /// # }
    /// ```
    pub async fn import(
        &self,
        users: impl IntoIterator<Item = User>,
        passwords: &Passwords,
    ) -> Result<ImportReport, PgStoreError> {
        let mut report = ImportReport::default();
        let begin = self.timed(self.pool().begin()).await;
        let mut tx = self.settle(begin)?;
        for user in users {
            let digits = user.phone.digits();
            let lookup = sqlx::query_as::<_, Row>(self.statements().lock_by_phone())
                .bind(&digits)
                .fetch_optional(&mut *tx);
            let found = self.settle(self.timed(lookup).await)?;
            match found {
                None => {
                    let phc = stored_form(&user.password, passwords).await?;
                    let insert = sqlx::query(self.statements().insert())
                        .bind(&user.name)
                        .bind(&digits)
                        .bind(&phc)
                        .execute(&mut *tx);
                    self.settle(self.timed(insert).await)?;
                    report.inserted += 1;
                }
                Some((id, name, _, stored)) => {
                    let same_name = name.as_deref() == Some(user.name.as_str());
                    let kept = match stored {
                        Some(stored)
                            if same_password(&user.password, &stored, passwords).await? =>
                        {
                            Some(stored)
                        }
                        _ => None,
                    };
                    if same_name && kept.is_some() {
                        report.unchanged += 1;
                        continue;
                    }
                    let phc = match kept {
                        Some(stored) => stored,
                        None => stored_form(&user.password, passwords).await?,
                    };
                    let update = sqlx::query(self.statements().update_user())
                        .bind(&id)
                        .bind(&user.name)
                        .bind(&phc)
                        .execute(&mut *tx);
                    self.settle(self.timed(update).await)?;
                    report.updated += 1;
                }
            }
        }
        let commit = self.timed(tx.commit()).await;
        self.settle(commit)?;
        Ok(report)
    }
}

/// The password as it is stored: a PHC string as it is, plain text hashed.
async fn stored_form(password: &str, passwords: &Passwords) -> Result<String, PgStoreError> {
    if looks_like_a_hash(password) {
        return Ok(password.to_owned());
    }
    passwords
        .hash(password)
        .await
        .map_err(PgStoreError::Password)
}

/// Whether the given password is what `stored` holds: the same PHC string, or a plain text
/// that verifies against the stored hash.
async fn same_password(
    given: &str,
    stored: &str,
    passwords: &Passwords,
) -> Result<bool, PgStoreError> {
    if looks_like_a_hash(given) {
        return Ok(given == stored);
    }
    if !looks_like_a_hash(stored) {
        // A plain text in the table: hashed now, whether or not it is the same.
        return Ok(false);
    }
    match passwords.verify(given, stored).await {
        Ok(PasswordCheck::Match { needs_upgrade }) => Ok(!needs_upgrade),
        Ok(PasswordCheck::Mismatch) | Err(PasswordError::UnsupportedHash(_)) => Ok(false),
        Err(error) => Err(PgStoreError::Password(error)),
    }
}

/// `$<algorithm id>$…`, as the core tells a PHC string from plain text.
fn looks_like_a_hash(stored: &str) -> bool {
    let Some(rest) = stored.strip_prefix('$') else {
        return false;
    };
    rest.split_once('$').is_some_and(|(id, _)| {
        !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}
