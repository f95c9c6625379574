//! Codes, per-phone limits and per-client rate limits of [`otp_reset`] in Redis, shared by
//! every server instance that points at the same Redis.
//!
//! A [`RedisOtpStore`] is the [`OtpStore`](otp_reset::OtpStore) of a
//! [`ForgotPassword`](otp_reset::ForgotPassword) service; users stay in their own store. A
//! [`RedisRateLimiter`] counts requests per client (and its wider networks) across instances.
//!
//! # Mounting the flow on Redis
//!
//! ```no_run
//! use axum::Router;
//! use otp_reset::{ConsoleSender, ForgotPassword, MemoryUserStore};
//! use otp_reset_redis::{RedisOptions, RedisOtpStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let codes = RedisOtpStore::connect(
//!     RedisOptions::new("redis://127.0.0.1:6379").with_key_prefix("shop:otp:"),
//! )
//! .await?;
//! // Every instance must key code digests with the same secret.
//! let forgot_password = ForgotPassword::builder(MemoryUserStore::new(), codes, ConsoleSender::new())
//!     .with_secret([7u8; 32])
//!     .build()?;
//! let app: Router = Router::new().nest_service("/api/forgot-password", forgot_password);
//! # drop(app);
//! # Ok(()) }
//! ```
//!
//! # What it guarantees
//!
//! - **Atomic steps, Cluster-safe.** Each of issue, verify, consume, restore and purge is one
//!   Lua script (sent by `EVALSHA`, loaded when missing) that reads and writes one key per
//!   phone, so no interleaving of two calls on a phone can be observed and every script's keys
//!   lie in one Cluster slot. The scripts (`src/lua/`) mirror
//!   [`PhoneRecords`](otp_reset::store::PhoneRecords) line by line, and the crate passes the
//!   `otp_reset` conformance suite against a real Redis.
//! - **Keys expire by themselves** once nothing in them limits anything (the code's expiry, the
//!   send window and cooldown of each send, `lockout_max` after the last failure), and go as
//!   soon as they are empty.
//! - **A fast error, never a hang.** Every call is bounded by the connect and response
//!   timeouts ([`RedisOptions`]); a Redis that is down or slow gives
//!   [`StoreError::Unavailable`](otp_reset::StoreError::Unavailable) (the service answers 503),
//!   unreadable data [`StoreError::Corrupt`](otp_reset::StoreError::Corrupt). The connection
//!   comes back by itself once Redis does; [`RedisOtpStore::failure`] says meanwhile why not.
//! - **No codes in the clear.** Only keyed digests of codes and tokens are written; client and
//!   pair keys are keyed digests too.
//!
//! Which Redis settings a site needs (`noeviction`, AOF) is in the README.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codec;
mod error;
mod link;
mod options;
mod rate_limit;
mod settings;
mod store;

pub use error::ConnectError;
pub use options::{RedisOptions, redacted_url};
pub use rate_limit::{Quota, RateDecision, RateLimitError, RedisRateLimiter};
pub use settings::ServerSettings;
pub use store::RedisOtpStore;

// Installs ring as rustls's crypto provider for `rediss://` (the only provider compiled in).
use rustls as _;
