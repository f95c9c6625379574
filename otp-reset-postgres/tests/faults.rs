//! A database that is down or slow gives a quick `Unavailable`, never a hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Schema, database_url, phone};
use otp_reset::{StoreError, UserId, UserStore};
use otp_reset_postgres::{PgStoreError, PgStoreOptions, PgUserStore};

/// Generous against a loaded machine, far below a hang.
const QUICK: Duration = Duration::from_secs(10);

fn options_for_port(port: u16) -> PgStoreOptions {
    PgStoreOptions::new(&format!("postgres://postgres@127.0.0.1:{port}/postgres"))
        .unwrap()
        .with_acquire_timeout(Duration::from_millis(500))
        .with_statement_timeout(Duration::from_millis(500))
}

#[tokio::test]
async fn a_port_nothing_listens_on_is_unavailable_quickly() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let error = PgUserStore::connect(options_for_port(port))
        .await
        .unwrap_err();
    assert!(matches!(error, PgStoreError::Unavailable(_)), "{error:?}");
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_listener_that_never_answers_is_unavailable_quickly() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts every connection and holds it open without a word.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let error = PgUserStore::connect(options_for_port(port))
        .await
        .unwrap_err();
    assert!(matches!(error, PgStoreError::Unavailable(_)), "{error:?}");
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
    silent.abort();
}

#[tokio::test]
async fn a_bad_url_is_refused_without_repeating_it() {
    let error = PgStoreOptions::new("postgres://app:s3cret-pw@host:notaport/db").unwrap_err();
    assert!(
        matches!(error, PgStoreError::Setting { setting: "url", .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains("s3cret-pw"), "{error}");
    let options =
        PgStoreOptions::new(&database_url().replace("postgres@", "postgres:s3cret-pw@")).unwrap();
    assert!(!format!("{options:?}").contains("s3cret-pw"));
}

#[tokio::test]
async fn a_locked_table_gives_unavailable_within_the_statement_timeout_then_recovers() {
    let schema = Schema::create("otp_pg_slow").await;
    schema.default_store().await;
    let users = PgUserStore::connect(
        schema
            .options()
            .with_acquire_timeout(Duration::from_millis(500))
            .with_statement_timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    let mut locker = schema.connection().await;
    schema.run(&mut locker, "BEGIN").await;
    schema
        .run(
            &mut locker,
            "LOCK TABLE otp_reset_users IN ACCESS EXCLUSIVE MODE",
        )
        .await;

    let started = Instant::now();
    let error = users.find_by_phone(&phone(1)).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    let error = users
        .set_password_hash(&UserId("1".into()), "$argon2id$x")
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
    assert!(users.failure().is_some());

    schema.run(&mut locker, "ROLLBACK").await;
    assert!(users.find_by_phone(&phone(1)).await.unwrap().is_none());
    assert!(users.failure().is_none());
}

#[tokio::test]
async fn a_full_pool_gives_unavailable_after_the_acquire_timeout() {
    let schema = Schema::create("otp_pg_pool").await;
    schema.default_store().await;
    let users = PgUserStore::connect(
        schema
            .options()
            .with_max_connections(1)
            .with_acquire_timeout(Duration::from_millis(300))
            .with_statement_timeout(Duration::from_secs(3)),
    )
    .await
    .unwrap();
    let mut locker = schema.connection().await;
    schema.run(&mut locker, "BEGIN").await;
    schema
        .run(
            &mut locker,
            "LOCK TABLE otp_reset_users IN ACCESS EXCLUSIVE MODE",
        )
        .await;
    // The one connection waits on the lock; the next call finds the pool full.
    let holder = {
        let users = users.clone();
        tokio::spawn(async move { users.find_by_phone(&phone(1)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let error = users.find_by_phone(&phone(2)).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    schema.run(&mut locker, "ROLLBACK").await;
    assert!(holder.await.unwrap().unwrap().is_none());
}

#[tokio::test]
async fn check_asks_the_database_and_clears_the_failure() {
    let schema = Schema::create("otp_pg_check").await;
    let users = schema.default_store().await;
    users.check().await.unwrap();
    assert!(users.failure().is_none());
}
