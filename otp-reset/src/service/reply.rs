//! Answers: the success body, and the error a client sees (which never carries internals).

use std::time::Duration;

use http::{HeaderValue, Method, Response, StatusCode, header};

use crate::lang::{Lang, Msg};
use crate::store::{Refusal, StoreError};
use crate::wire::{
    BotStatusAnswer, DeliveryStatusAnswer, ErrorCode, Failure, RequestOtpAnswer,
    ResetPasswordAnswer, VerifiedCode, VerifyOtpAnswer, json_answer,
};
use crate::{PasswordError, PhoneError};

/// The body type of every answer.
pub type ResponseBody = http_body_util::Full<bytes::Bytes>;

/// A successful answer, its message still to be said in the client's language.
#[derive(Debug)]
pub(crate) enum Reply {
    CodeSent {
        phone_number: String,
        test_otp: Option<String>,
        request_id: Option<String>,
    },
    DeliveryStatus(crate::DeliveryStatus),
    Verified(VerifiedCode),
    PasswordReset,
    /// The bot-status answer, `message` still empty.
    BotStatus(BotStatusAnswer),
}

impl Reply {
    pub(crate) fn into_response(self, lang: Lang) -> Response<ResponseBody> {
        let ok = StatusCode::OK;
        match self {
            Reply::CodeSent {
                phone_number,
                test_otp,
                request_id,
            } => json_answer(
                ok,
                &RequestOtpAnswer {
                    success: true,
                    message: Msg::CodeSent.render(lang),
                    phone_number,
                    test_otp,
                    request_id,
                },
            ),
            Reply::DeliveryStatus(status) => json_answer(
                ok,
                &DeliveryStatusAnswer {
                    success: true,
                    message: Msg::Delivery(status).render(lang),
                    status: status.as_str().to_owned(),
                },
            ),
            Reply::Verified(data) => json_answer(
                ok,
                &VerifyOtpAnswer {
                    success: true,
                    message: Msg::Verified.render(lang),
                    data,
                },
            ),
            Reply::PasswordReset => json_answer(
                ok,
                &ResetPasswordAnswer {
                    success: true,
                    message: Msg::PasswordReset.render(lang),
                },
            ),
            Reply::BotStatus(mut answer) => {
                answer.message = Msg::BotStatus {
                    ready: answer.ready,
                }
                .render(lang);
                json_answer(ok, &answer)
            }
        }
    }
}

/// A failed answer: `{"success": false, "message": …, "error": <code>}` plus its own fields.
///
/// Internal failures are logged where they are turned into an `ApiError` and reach the client
/// only as a generic message.
///
/// Boxed: errors are the cold path, and a small `Result` keeps the hot one lean.
#[derive(Debug)]
pub(crate) struct ApiError(Box<Parts>);

#[derive(Debug)]
struct Parts {
    code: ErrorCode,
    message: Msg,
    field: Option<&'static str>,
    attempts_left: Option<u32>,
    retry_after: Option<u64>,
    allow: Option<Method>,
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: Msg) -> Self {
        Self(Box::new(Parts {
            code,
            message,
            field: None,
            attempts_left: None,
            retry_after: None,
            allow: None,
        }))
    }

    pub(crate) fn with_field(mut self, name: &'static str) -> Self {
        self.0.field = Some(name);
        self
    }

    pub(crate) fn with_attempts_left(mut self, attempts: u32) -> Self {
        self.0.attempts_left = Some(attempts);
        self
    }

    fn with_retry_after(mut self, wait: Duration) -> Self {
        self.0.retry_after = Some(crate::lang::whole_seconds(wait));
        self
    }

    pub(crate) fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, Msg::NotFound)
    }

    pub(crate) fn method_not_allowed(allowed: Method) -> Self {
        let mut error = Self::new(ErrorCode::MethodNotAllowed, Msg::MethodNotAllowed);
        error.0.allow = Some(allowed);
        error
    }

    pub(crate) fn phone(error: PhoneError) -> Self {
        match error {
            PhoneError::NotMobile => Self::new(ErrorCode::PhoneNotMobile, Msg::PhoneNotMobile),
            _ => Self::new(ErrorCode::InvalidPhone, Msg::PhoneInvalid),
        }
    }

    pub(crate) fn refused(refusal: Refusal) -> Self {
        let (code, message) = match refusal {
            Refusal::Cooldown { retry_after } => (ErrorCode::Cooldown, Msg::Cooldown(retry_after)),
            Refusal::SendCap { retry_after } => (ErrorCode::SendCap, Msg::SendCap(retry_after)),
            Refusal::LockedOut { retry_after } => {
                (ErrorCode::LockedOut, Msg::LockedOut(retry_after))
            }
        };
        Self::new(code, message).with_retry_after(refusal.retry_after())
    }

    pub(crate) fn sender_unavailable() -> Self {
        Self::new(ErrorCode::SenderUnavailable, Msg::SenderUnavailable)
            .with_retry_after(Duration::from_secs(30))
    }

    pub(crate) fn busy() -> Self {
        Self::busy_for(Duration::from_secs(5))
    }

    /// 503 `busy`, to be tried again after `wait` (at least a second).
    pub(crate) fn busy_for(wait: Duration) -> Self {
        Self::new(ErrorCode::Busy, Msg::Busy).with_retry_after(wait.max(Duration::from_secs(1)))
    }

    /// 503 with a generic message; the cause is logged by the caller.
    pub(crate) fn server_trouble() -> Self {
        Self::new(ErrorCode::ServerError, Msg::ServerTrouble)
    }

    pub(crate) fn store(error: StoreError) -> Self {
        tracing::error!(target: "otp_reset", error = %error, source = ?std::error::Error::source(&error), "store failed");
        match error {
            // A store that is down or slow (a database, Redis) is usually back within seconds;
            // say when to try again rather than leave clients guessing.
            StoreError::Unavailable(_) => {
                Self::server_trouble().with_retry_after(Self::STORE_RETRY_AFTER)
            }
            _ => Self::server_trouble(),
        }
    }

    /// When to try again after a store was unavailable.
    const STORE_RETRY_AFTER: Duration = Duration::from_secs(5);

    pub(crate) fn password(error: PasswordError) -> Self {
        match error {
            PasswordError::Busy => Self::busy(),
            other => {
                tracing::error!(target: "otp_reset", error = %other, "password hashing failed");
                Self::server_trouble()
            }
        }
    }

    /// The body the client gets in `lang`, and the method an `Allow` header names.
    pub(crate) fn into_failure(self, lang: Lang) -> (Failure, Option<Method>) {
        let parts = *self.0;
        let failure = Failure {
            field: parts.field.map(Into::into),
            attempts_left: parts.attempts_left,
            retry_after: parts.retry_after,
            ..Failure::new(parts.code, parts.message.render(lang))
        };
        (failure, parts.allow)
    }

    pub(crate) fn into_response(self, lang: Lang) -> Response<ResponseBody> {
        let (failure, allow) = self.into_failure(lang);
        let mut response = failure.into_response();
        if let Some(value) = allow.and_then(|m| HeaderValue::from_str(m.as_str()).ok()) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::store(error)
    }
}

impl From<crate::wire::BodyError> for ApiError {
    fn from(error: crate::wire::BodyError) -> Self {
        Self::new(error.code(), error.msg())
    }
}
