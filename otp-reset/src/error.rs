//! The crate's error type.

use crate::{PasswordError, PhoneError, PolicyError, SecretTooShort, StoreError};

/// Everything in this crate that can fail, with its source kept.
///
/// Functions return the narrowest error they can ([`PolicyError`], [`StoreError`], …); each
/// converts into this one for callers that want a single type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A policy setting is out of range.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The server secret is too short.
    #[error(transparent)]
    Secret(#[from] SecretTooShort),
    /// The service was built outside a tokio runtime, which its background tasks need.
    #[error("the service must be built inside a tokio runtime")]
    NoRuntime,
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Password hashing failed.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// A phone number is invalid.
    #[error(transparent)]
    Phone(#[from] PhoneError),
}
