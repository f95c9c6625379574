//! `POST /request-otp`: the seed's rules and our deliberate differences.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod answers;
mod limits;
mod sending;
mod unknown_pairs;
