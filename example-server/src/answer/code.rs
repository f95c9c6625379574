//! The `error` codes the server's own routes and layers answer with.

use http::StatusCode;
use otp_reset::ErrorCode;
use otp_reset::wire::AnswerCode;
use serde::{Serialize, Serializer};

/// Declares [`ServerCode`]'s own codes from one list, so that [`ServerCode::OWN`], the spelling
/// and the status of a code can never miss one.
macro_rules! server_codes {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, $status:ident; )*) => {
        /// What failed in one of the server's own answers: one of the flow's [`ErrorCode`]s
        /// (the login reads bodies and phone numbers as the flow does), or a code of the
        /// server's own.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ServerCode {
            /// A code the flow answers too.
            Flow(ErrorCode),
            $( $(#[$doc])* $variant, )*
        }

        impl ServerCode {
            /// Every code of the server's own (not the flow's).
            pub const OWN: &'static [ServerCode] = &[$(Self::$variant),*];
        }

        impl AnswerCode for ServerCode {
            fn as_str(self) -> &'static str {
                match self {
                    Self::Flow(code) => code.as_str(),
                    $(Self::$variant => $text,)*
                }
            }

            fn status(self) -> StatusCode {
                match self {
                    Self::Flow(code) => code.status(),
                    $(Self::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

server_codes! {
    /// The login's `password` is missing, null or empty.
    PasswordRequired = "password_required", BAD_REQUEST;
    /// The phone number and password match no account.
    InvalidCredentials = "invalid_credentials", UNAUTHORIZED;
    /// A missing or wrong admin token.
    Unauthorized = "unauthorized", UNAUTHORIZED;
    /// No QR code is shown now.
    NoQrCode = "no_qr_code", NOT_FOUND;
    /// Too many requests from the client.
    RateLimited = "rate_limited", TOO_MANY_REQUESTS;
    /// Too many failed logins on the account lately.
    LoginThrottled = "login_throttled", TOO_MANY_REQUESTS;
    /// The client already has as many logins under way as it may.
    LoginBusy = "login_busy", TOO_MANY_REQUESTS;
    /// The request took longer than the server allows.
    Timeout = "timeout", SERVICE_UNAVAILABLE;
}

impl From<ErrorCode> for ServerCode {
    fn from(code: ErrorCode) -> Self {
        Self::Flow(code)
    }
}

impl Serialize for ServerCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
