//! The in-memory stores pass the conformance suite.

use otp_reset::{MemoryOtpStore, MemoryUserStore};

otp_reset::otp_store_conformance!(async { MemoryOtpStore::new() });
otp_reset::user_store_conformance!(|users| async move { MemoryUserStore::from_users(users) });
