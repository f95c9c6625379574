//! The eager upgrade of an old data file's plain-text passwords to argon2id.
//!
//! Hashing takes tens of milliseconds per user, so it runs after the start, in the background,
//! one user at a time through the service's bounded hasher ([`Passwords`]): a login or a reset
//! queues behind at most one upgrade hash. Each hash is stored by compare-and-set on the
//! plain text it was made from ([`JsonStore::replace_password_hash`]), through the journal
//! like any change, so a reset that lands first wins and the old password keeps working until
//! the moment its hash replaces it. A full disk or a busy hasher pauses the upgrade (backoff,
//! 1 s doubling to 30 s); closing the store ends it, and the next start takes it up again.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use otp_reset::{PasswordError, Passwords, UserId};
use zeroize::Zeroizing;

use super::backoff::Backoff;
use super::{Inner, JsonStore};

/// Users looked at per hold of the state lock while finding plain-text passwords.
const SCAN_CHUNK: usize = 4096;

const PAUSE: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));

impl JsonStore {
    /// Hashes every plain-text password the data file holds (as an old file has them) with
    /// `passwords`, one user at a time, and stores each hash durably through the journal,
    /// unless the password changed meanwhile. Resolves to how many it upgraded, once all are
    /// done or the store is closed or dropped (it keeps no store alive).
    ///
    /// Spawn it after opening the store, with the service's [`Passwords`], so that upgrades
    /// share its bounded pool:
    ///
    /// ```no_run
    /// # async fn start(store: otp_reset_json::JsonStore) {
    /// tokio::spawn(store.upgrade_plain_passwords(otp_reset::Passwords::default()));
    /// # }
    /// ```
    pub fn upgrade_plain_passwords(
        &self,
        passwords: Passwords,
    ) -> impl Future<Output = usize> + Send + 'static {
        let store = Arc::downgrade(&self.inner);
        async move { upgrade(&store, &passwords).await }
    }
}

async fn upgrade(store: &Weak<Inner>, passwords: &Passwords) -> usize {
    let Some(candidates) = plain_text_users(store) else {
        return 0;
    };
    if candidates.is_empty() {
        return 0;
    }
    tracing::info!(
        users = candidates.len(),
        "the data file holds plain-text passwords; hashing them with argon2id in the background, one at a time"
    );
    let mut upgraded = 0;
    let mut pause = PAUSE;
    for index in candidates {
        let Some(open) = live(store) else {
            return upgraded;
        };
        let user = {
            let guarded = open.lock();
            guarded
                .state
                .users
                .get(index)
                .filter(|user| is_plain_text(&user.password))
                .map(|user| (user.id.clone(), Zeroizing::new(user.password.clone())))
        };
        drop(open);
        let Some((id, plain)) = user else { continue };
        let Some(phc) = hash(store, passwords, &plain, &mut pause).await else {
            return upgraded;
        };
        match store_hash(store, &id, &plain, &phc, &mut pause).await {
            Some(true) => upgraded += 1,
            Some(false) => {}
            None => return upgraded,
        }
    }
    tracing::info!(upgraded, "plain-text passwords upgraded to argon2id");
    upgraded
}

/// The store, unless it was dropped or closed.
fn live(store: &Weak<Inner>) -> Option<Arc<Inner>> {
    store
        .upgrade()
        .filter(|inner| !inner.closed.load(Ordering::SeqCst))
}

/// The index of every user whose password is plain text, found a chunk at a time so that no
/// request waits for a scan of the whole file.
fn plain_text_users(store: &Weak<Inner>) -> Option<Vec<usize>> {
    let mut found = Vec::new();
    let mut start = 0;
    loop {
        let inner = live(store)?;
        let guarded = inner.lock();
        let users = &guarded.state.users;
        let end = (start + SCAN_CHUNK).min(users.len());
        found.extend((start..end).filter(|&i| is_plain_text(&users[i].password)));
        if end == users.len() {
            return Some(found);
        }
        start = end;
    }
}

/// The hash of `plain`, waiting out a busy hasher; `None` once the store is gone.
async fn hash(
    store: &Weak<Inner>,
    passwords: &Passwords,
    plain: &str,
    pause: &mut Backoff,
) -> Option<String> {
    loop {
        live(store)?;
        match passwords.hash(plain).await {
            Ok(phc) => return Some(phc),
            Err(PasswordError::Busy) => {}
            Err(error) => tracing::warn!(%error, "hashing a password for its upgrade failed"),
        }
        tokio::time::sleep(pause.next_delay()).await;
    }
}

/// Stores `phc` in place of `plain`, waiting out a fault of the data file; whether it was
/// stored (`false`: the password changed meanwhile), or `None` once the store is gone.
async fn store_hash(
    store: &Weak<Inner>,
    id: &UserId,
    plain: &str,
    phc: &str,
    pause: &mut Backoff,
) -> Option<bool> {
    loop {
        let inner = live(store)?;
        match (JsonStore { inner })
            .replace_password_hash(id, plain, phc)
            .await
        {
            Ok(stored) => {
                pause.reset();
                return Some(stored);
            }
            // Closed meanwhile: nothing to wait for.
            Err(_) if live(store).is_none() => return None,
            Err(error) => {
                let delay = pause.next_delay();
                tracing::warn!(
                    %error,
                    retry_in_ms = delay.as_millis() as u64,
                    "storing an upgraded password failed; the upgrade waits"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Whether a stored password is plain text (an old file's), by the rule
/// [`Passwords::verify`] uses: anything but the PHC or modular crypt form `$id$…` (an empty
/// password, which nobody can log in with, is left alone).
pub(crate) fn is_plain_text(stored: &str) -> bool {
    let is_hash = stored.strip_prefix('$').is_some_and(|rest| {
        rest.split_once('$').is_some_and(|(id, _)| {
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
    });
    !is_hash && !stored.is_empty()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use otp_reset::PasswordCheck;

    use super::*;

    #[tokio::test]
    async fn plain_text_is_what_the_hasher_takes_for_plain_text() {
        let passwords = Passwords::new(1).unwrap();
        for stored in [
            "password123",
            "$ecret1",
            "$Secret$1",
            "rahasia 99",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
            "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
            "$6$rounds=5000$salt$hash",
        ] {
            // A stored value the hasher compares as text matches itself and asks for an upgrade.
            let as_text = matches!(
                passwords.verify(stored, stored).await,
                Ok(PasswordCheck::Match {
                    needs_upgrade: true
                })
            );
            assert_eq!(is_plain_text(stored), as_text, "{stored}");
        }
        assert!(!is_plain_text(""), "no password: nothing to hash");
    }
}
