//! The [`UserStore`] cases. Each takes a function from the users to seed to a future of a store
//! holding them.

use std::future::Future;
use std::sync::Arc;

use crate::{PhoneNumber, User, UserId, UserStore};

fn phone(n: u64) -> PhoneNumber {
    PhoneNumber::from_u64(6_281_200_000_000 + n).unwrap_or_else(|| unreachable!())
}

fn seed() -> Vec<User> {
    vec![
        User {
            id: UserId("1".into()),
            name: "John Doe".into(),
            phone: phone(1),
            password: "password123".into(),
        },
        User {
            id: UserId("2".into()),
            name: "Siti Rahma".into(),
            phone: phone(2),
            password: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA".into(),
        },
    ]
}

async fn store<S, F, Fut>(make: F) -> S
where
    F: FnOnce(Vec<User>) -> Fut,
    Fut: Future<Output = S>,
{
    make(seed()).await
}

fn found<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("store call failed: {e}"))
}

/// A user is found by phone, with every field as seeded.
pub async fn finds_a_user_by_phone<S: UserStore, F, Fut>(make: F)
where
    F: FnOnce(Vec<User>) -> Fut,
    Fut: Future<Output = S>,
{
    let users = store(make).await;
    let john =
        found(users.find_by_phone(&phone(1)).await).unwrap_or_else(|| panic!("user 1 not found"));
    assert_eq!(john.id, UserId("1".into()));
    assert_eq!(john.name, "John Doe");
    assert_eq!(john.phone, phone(1));
    assert_eq!(john.password, "password123");
}

/// The name matches without regard to case and spacing.
pub async fn finds_a_user_by_name_and_phone_ignoring_case_and_spacing<S: UserStore, F, Fut>(make: F)
where
    F: FnOnce(Vec<User>) -> Fut,
    Fut: Future<Output = S>,
{
    let users = store(make).await;
    for typed in ["Siti Rahma", "siti rahma", "  SITI   Rahma "] {
        let user = found(users.find_by_name_and_phone(typed, &phone(2)).await);
        assert_eq!(user.map(|u| u.id), Some(UserId("2".into())), "{typed:?}");
    }
}

/// A name that differs finds nobody, even with the right phone.
pub async fn a_different_name_finds_nobody<S: UserStore, F, Fut>(make: F)
where
    F: FnOnce(Vec<User>) -> Fut,
    Fut: Future<Output = S>,
{
    let users = store(make).await;
    for typed in ["Siti", "Siti Rahmah", "John Doe"] {
        assert!(
            found(users.find_by_name_and_phone(typed, &phone(2)).await).is_none(),
            "{typed:?}"
        );
    }
}

/// A phone nobody has finds nobody.
pub async fn an_unknown_phone_finds_nobody<S: UserStore, F, Fut>(make: F)
where
    F: FnOnce(Vec<User>) -> Fut,
    Fut: Future<Output = S>,
{
    let users = store(make).await;
    assert!(found(users.find_by_phone(&phone(9)).await).is_none());
    assert!(found(users.find_by_name_and_phone("John Doe", &phone(9)).await).is_none());
}

/// A new hash replaces the password and is what later lookups return; other users keep theirs.
pub async fn a_new_password_hash_replaces_the_old<S: UserStore, F, Fut>(make: F)
where
    F: FnOnce(Vec<User>) -> Fut,
    Fut: Future<Output = S>,
{
    let users = store(make).await;
    let phc = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdG5ld3NhbHQ$bmV3aGFzaA";
    assert!(found(
        users.set_password_hash(&UserId("1".into()), phc).await
    ));
    let john =
        found(users.find_by_phone(&phone(1)).await).unwrap_or_else(|| panic!("user 1 vanished"));
    assert_eq!(john.password, phc);
    let siti =
        found(users.find_by_phone(&phone(2)).await).unwrap_or_else(|| panic!("user 2 vanished"));
    assert_ne!(siti.password, phc);
}

/// Setting the password of an id nobody has changes nothing and says so.
pub async fn an_unknown_id_is_reported<S: UserStore, F, Fut>(make: F)
where
    F: FnOnce(Vec<User>) -> Fut,
    Fut: Future<Output = S>,
{
    let users = store(make).await;
    assert!(!found(
        users
            .set_password_hash(&UserId("404".into()), "$argon2id$x")
            .await
    ));
}

/// Concurrent password changes of one user leave exactly one of the written hashes.
pub async fn concurrent_password_changes_keep_one_of_them<S: UserStore, F, Fut>(make: F)
where
    F: FnOnce(Vec<User>) -> Fut,
    Fut: Future<Output = S>,
{
    let users = Arc::new(store(make).await);
    let hashes: Vec<String> = (0..16)
        .map(|i| format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$h{i}"))
        .collect();
    let writes: Vec<_> = hashes
        .iter()
        .cloned()
        .map(|phc| {
            let users = Arc::clone(&users);
            tokio::spawn(
                async move { found(users.set_password_hash(&UserId("1".into()), &phc).await) },
            )
        })
        .collect();
    for write in writes {
        assert!(
            write
                .await
                .unwrap_or_else(|e| panic!("write task failed: {e}"))
        );
    }
    let john =
        found(users.find_by_phone(&phone(1)).await).unwrap_or_else(|| panic!("user 1 vanished"));
    assert!(
        hashes.contains(&john.password),
        "the stored hash must be one of those written"
    );
}
