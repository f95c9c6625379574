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
    /// A setting of the [`ForgotPasswordBuilder`](crate::ForgotPasswordBuilder) or of
    /// [`Passwords`](crate::Passwords) is out of its range.
    #[error(transparent)]
    Setting(#[from] SettingError),
}

/// A setting outside the policy out of its range: of the
/// [`ForgotPasswordBuilder`](crate::ForgotPasswordBuilder) or of [`Passwords`](crate::Passwords).
///
/// ```
/// let error = otp_reset::Passwords::new(0).unwrap_err();
/// assert_eq!(error.setting(), "max_concurrent");
/// assert_eq!(error.to_string(), "setting `max_concurrent` must be at least 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting `{setting}` must be {expected}")]
pub struct SettingError {
    setting: &'static str,
    expected: &'static str,
}

impl SettingError {
    /// Fails with the setting's name and its range unless `ok`.
    pub(crate) fn check(
        setting: &'static str,
        ok: bool,
        expected: &'static str,
    ) -> Result<(), Self> {
        if ok {
            Ok(())
        } else {
            Err(Self { setting, expected })
        }
    }

    /// The name of the setting, as in the method or argument that sets it.
    pub fn setting(&self) -> &'static str {
        self.setting
    }

    /// The range the setting must be in.
    pub fn expected(&self) -> &'static str {
        self.expected
    }
}
