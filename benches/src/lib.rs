//! Benchmarks of `otp-reset`. They live in `benches/`; run them with `cargo bench -p benches`.
//!
//! - `flow`: the three routes through the Service in-process (`oneshot`), with the in-memory
//!   stores: a verification (right code and a refused guess), and a code request for a known and
//!   for an unknown name/phone pair, whose times should match (the conceal policy).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
