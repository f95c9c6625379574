//! Forgot-password by a one-time code sent to the user's phone (over WhatsApp), as a generic
//! [`tower::Service`] that any Rust web app mounts in one line.
//!
//! The user gives their name and phone number, receives a code, types it in, and sets a new
//! password. This crate is that whole flow behind five HTTP routes, written against `http` and
//! `tower` only, over pluggable stores and a pluggable sender:
//!
//! - [`ForgotPassword`]: the service (`/request-otp`, `/verify-otp`, `/reset-password`,
//!   `/delivery-status`, `/bot-status`), configured by a [`Policy`].
//! - [`UserStore`] and [`OtpStore`]: where users, codes and per-phone limits live, with the
//!   guarantees every implementation gives (atomic attempts, single-use codes), and the
//!   `conformance` suite (feature `conformance`) that proves them. A store that keeps a
//!   [`PhoneLedger`] per phone implements [`store::LedgerStore`] once and is an [`OtpStore`].
//! - [`Sender`]: delivers the codes and reports what became of them ([`DeliveryReports`]);
//!   [`SenderChain`] tries several in turn; [`ConsoleSender`] prints them for development.
//! - [`wire`]: the wire contract, typed: every [`ErrorCode`], the answer bodies, the envelope
//!   and the body reader, for clients and for an app's own routes.
//! - `openapi` (feature `openapi`): the routes as an OpenAPI 3.1 document with the policy's
//!   values, from `ForgotPassword::openapi`.
//!
//! # Mounting it in axum
//!
//! ```
//! use axum::Router;
//! use otp_reset::{ConsoleSender, ForgotPassword, MemoryOtpStore, MemoryUserStore, User, UserId};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let users = MemoryUserStore::from_users([User {
//!     id: UserId("1".into()),
//!     name: "John Doe".into(),
//!     phone: "081234567890".parse()?,
//!     password: "$argon2id$…".into(),
//! }]);
//! let forgot_password = ForgotPassword::builder(users, MemoryOtpStore::new(), ConsoleSender::new()).build()?;
//!
//! let app: Router = Router::new().nest_service("/api/forgot-password", forgot_password);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! A plain hyper or tower app serves the same value: it is a
//! `Service<http::Request<B>, Response = http::Response<ResponseBody>, Error = Infallible>` for
//! any body `B`, and expects paths relative to where it is mounted (`/verify-otp`).
//!
//! # What it guarantees
//!
//! - **Atomic attempts.** A guess is compared, counted and marked in one store step; however
//!   many guesses race, no client gets more than [`Policy::max_attempts`] wrong ones at a code.
//! - **No stranger can spoil a reset.** A name and phone pair that matches no user gets a
//!   stand-in kept apart from the user's code, which it never replaces, expires or limits;
//!   wrong guesses count per client ([`ClientAddress`]), so a stranger's use up only the
//!   stranger's attempts; no guess revokes a reset token once handed out; and the phone's
//!   lockout comes only after 50 failures from any clients.
//! - **Single use.** However many resets race with one code, one changes the password.
//! - **Nothing in plain text.** Codes are kept as HMAC-SHA256 digests keyed with a server
//!   secret and compared in constant time; passwords as argon2id PHC strings, hashed on blocking
//!   threads under a bound ([`Passwords`]). Neither is ever logged.
//! - **No account enumeration.** By default ([`UnknownUser::Conceal`]) an unknown name and
//!   phone get the same answers, statuses and timing as a known one in every sequence a
//!   stranger can play: each made-up pair is limited, guessed at and expired like a real one.
//! - **Answers never wait for WhatsApp.** Messages go through a bounded queue; while the sender
//!   cannot send, request-otp answers 503 for every phone alike.
//! - **Limits.** A resend cooldown, a cap per phone per window, a lockout after consecutive
//!   failures that a new code does not reset (NIST SP 800-63B), and optional site-wide limits on
//!   requests and on codes really sent ([`Policy`]).
//! - **Clear errors.** Every bad input gets a 4xx JSON answer naming what is wrong, in
//!   Indonesian or English (`Accept-Language`); a failing store gets a 503, never a panic.
//!
//! # Generic stores, a `dyn` sender
//!
//! The service is generic over its stores, which sit on every request's path, and holds the
//! sender as `Arc<dyn Sender>`, which a server picks at run time and which works off the request
//! path. The [`store`] module explains the choice.
//!
//! # Stores
//!
//! | store | crate | for |
//! | --- | --- | --- |
//! | [`MemoryUserStore`], [`MemoryOtpStore`] | this one | tests, development, one process |
//! | `JsonStore` (users and codes in one JSON data file) | `otp-reset-json` | one machine, crash-safe |
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod code;
#[cfg(feature = "conformance")]
pub mod conformance;
mod delivery;
mod error;
mod events;
mod lang;
#[cfg(feature = "openapi")]
pub mod openapi;
mod password;
mod phone;
mod policy;
mod sender;
mod service;
pub mod store;
mod time;
pub mod wire;

pub use async_trait::async_trait;

pub use code::{CodeHasher, Digest, OtpCode, OtpId, ResetToken, SecretTooShort};
pub use delivery::DeliveryStatus;
pub use error::{Error, SettingError};
pub use events::{Event, EventSink, MessageKind};
pub use lang::Lang;
pub use password::{PasswordCheck, PasswordError, Passwords};
pub use phone::{MaskedPhone, PhoneError, PhoneNumber};
pub use policy::{OtpRules, Policy, PolicyBuilder, PolicyError, SiteRate, UnknownUser};
pub use sender::{
    ConsoleSender, Delivered, DeliveryReport, DeliveryReports, DeliveryUpdate, Message, MessageKey,
    Presence, SendError, Sender, SenderChain, SenderProblem, SenderState, SenderStatus, SentLookup,
};
pub use service::{ForgotPassword, ForgotPasswordBuilder, ResponseBody, ShutdownReport};
pub use store::{
    ClientAddress, ClientKey, CodeRecord, ConsumeOutcome, IssueOutcome, MemoryOtpStore,
    MemoryUserStore, NewCode, OtpStore, PhoneLedger, Proof, Refusal, StoreError, User, UserId,
    UserStore, VerifyOutcome, names_match,
};
#[cfg(feature = "test-util")]
pub use time::ManualClock;
pub use time::{Clock, SystemClock, Timestamp};
pub use wire::ErrorCode;
