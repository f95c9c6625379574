//! The PostgreSQL user store passes the conformance suite, each case in a schema of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

otp_reset::user_store_conformance!(
    |users| async move { common::TestStore::with_users(users).await }
);
