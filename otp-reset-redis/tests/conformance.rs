//! The `otp_reset` conformance suite against a real Redis, each test under its own key prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

otp_reset::otp_store_conformance!(common::TestStore::new());
