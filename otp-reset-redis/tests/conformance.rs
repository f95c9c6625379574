//! The `otp_reset` conformance suite against a real Redis, each test under its own key prefix.

mod common;

otp_reset::otp_store_conformance!(common::TestStore::new());
