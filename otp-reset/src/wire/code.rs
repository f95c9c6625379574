//! The machine-readable `error` codes of failed answers.

use std::fmt;

use http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A code a failure's `error` field carries, with the status that answers it: the service's
/// [`ErrorCode`], or an app's own for the routes it adds beside the service.
///
/// ```
/// use otp_reset::wire::AnswerCode;
/// use otp_reset::ErrorCode;
///
/// assert_eq!(ErrorCode::WrongOtp.as_str(), "wrong_otp");
/// assert_eq!(AnswerCode::status(ErrorCode::WrongOtp).as_u16(), 400);
/// ```
pub trait AnswerCode: Copy + fmt::Debug + Send + Sync + 'static {
    /// The code as the `error` field spells it.
    fn as_str(self) -> &'static str;
    /// The status of every answer that carries the code.
    fn status(self) -> StatusCode;
}

/// Declares [`ErrorCode`] from one list, so that [`ErrorCode::ALL`], the spelling and the status
/// of a code can never miss a variant.
macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, $status:ident; )*) => {
        /// What failed, as the `error` field of a failed answer says it: every code the
        /// service can answer.
        ///
        /// Serialized as its [`as_str`](ErrorCode::as_str) spelling; each code always comes
        /// with the same [`status`](ErrorCode::status).
        ///
        /// ```
        /// use otp_reset::ErrorCode;
        ///
        /// let code: ErrorCode = serde_json::from_str("\"cooldown\"")?;
        /// assert_eq!(code, ErrorCode::Cooldown);
        /// assert_eq!(code.status(), http::StatusCode::TOO_MANY_REQUESTS);
        /// assert!(ErrorCode::ALL.contains(&code));
        /// # Ok::<(), serde_json::Error>(())
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the order the documentation lists them.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant),*];

            /// Every code's spelling, in the order of [`ErrorCode::ALL`].
            const NAMES: &'static [&'static str] = &[$($text),*];

            /// The code as the `error` field spells it (`wrong_otp`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            /// The status of every answer that carries the code.
            pub const fn status(self) -> StatusCode {
                match self {
                    $(Self::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

error_codes! {
    /// `nama` is missing, null or blank.
    NameRequired = "name_required", BAD_REQUEST;
    /// `noHp` is missing, null or blank.
    PhoneRequired = "phone_required", BAD_REQUEST;
    /// `otp` is missing, null or blank (and no `resetToken` was sent).
    OtpRequired = "otp_required", BAD_REQUEST;
    /// `newPassword` is missing, null or empty.
    NewPasswordRequired = "new_password_required", BAD_REQUEST;
    /// `confirmPassword` is missing, null or empty.
    ConfirmPasswordRequired = "confirm_password_required", BAD_REQUEST;
    /// A field is not a string; `field` names it.
    InvalidType = "invalid_type", BAD_REQUEST;
    /// A field is longer than allowed; `field` names it.
    TooLong = "too_long", BAD_REQUEST;
    /// `noHp` is not a phone number.
    InvalidPhone = "invalid_phone", BAD_REQUEST;
    /// `noHp` is a phone number, but not a mobile one.
    PhoneNotMobile = "phone_not_mobile", BAD_REQUEST;
    /// `otp` does not have the policy's number of digits.
    InvalidOtpFormat = "invalid_otp_format", BAD_REQUEST;
    /// The code or reset token is wrong; `attemptsLeft` counts the guesses left.
    WrongOtp = "wrong_otp", BAD_REQUEST;
    /// The code has no guesses left.
    OtpAttemptsExhausted = "otp_attempts_exhausted", BAD_REQUEST;
    /// The code has expired.
    OtpExpired = "otp_expired", BAD_REQUEST;
    /// The phone has no live code.
    OtpNotFound = "otp_not_found", BAD_REQUEST;
    /// The code was not verified before the reset.
    OtpNotVerified = "otp_not_verified", BAD_REQUEST;
    /// `newPassword` and `confirmPassword` differ.
    PasswordMismatch = "password_mismatch", BAD_REQUEST;
    /// The new password is shorter than the policy allows.
    PasswordTooShort = "password_too_short", BAD_REQUEST;
    /// The new password is longer than the policy allows.
    PasswordTooLong = "password_too_long", BAD_REQUEST;
    /// The body is not a JSON object.
    MalformedJson = "malformed_json", BAD_REQUEST;
    /// The body could not be read.
    BodyUnreadable = "body_unreadable", BAD_REQUEST;
    /// `requestId` is missing, null or blank.
    RequestIdRequired = "request_id_required", BAD_REQUEST;
    /// No account matches.
    UserNotFound = "user_not_found", NOT_FOUND;
    /// `requestId` names no recent request (its code's lifetime is over, or it was never given).
    RequestNotFound = "request_not_found", NOT_FOUND;
    /// No route has this path.
    NotFound = "not_found", NOT_FOUND;
    /// The route does not take this method; the `Allow` header names the one it takes.
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED;
    /// The body is larger than the service reads.
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE;
    /// The body is not declared as JSON.
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE;
    /// The phone got a code moments ago and must wait for the next.
    Cooldown = "cooldown", TOO_MANY_REQUESTS;
    /// The phone got as many codes as the policy allows per window.
    SendCap = "send_cap", TOO_MANY_REQUESTS;
    /// The phone is locked out after too many wrong guesses in a row.
    LockedOut = "locked_out", TOO_MANY_REQUESTS;
    /// The sender cannot send now.
    SenderUnavailable = "sender_unavailable", SERVICE_UNAVAILABLE;
    /// The server is at capacity (a queue, the hashing or a site-wide limit is full).
    Busy = "busy", SERVICE_UNAVAILABLE;
    /// The server failed (its store did not answer).
    ServerError = "server_error", SERVICE_UNAVAILABLE;
}

impl AnswerCode for ErrorCode {
    fn as_str(self) -> &'static str {
        ErrorCode::as_str(self)
    }

    fn status(self) -> StatusCode {
        ErrorCode::status(self)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == text)
            .ok_or_else(|| serde::de::Error::unknown_variant(&text, ErrorCode::NAMES))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_spelled_once_and_reads_back() {
        let mut seen = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }
}
