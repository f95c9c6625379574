//! Answers: the success body, and the error a client sees (which never carries internals).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Map, Value};

use crate::lang::{Lang, Msg};
use crate::store::{Refusal, StoreError};
use crate::{PasswordError, PhoneError};

/// The body type of every answer.
pub type ResponseBody = Full<Bytes>;

/// A successful answer: `{"success": true, "message": …}` plus its own fields.
#[derive(Debug)]
pub(crate) struct Reply {
    message: Msg,
    fields: Map<String, Value>,
}

impl Reply {
    pub(crate) fn ok(message: Msg) -> Self {
        Self {
            message,
            fields: Map::new(),
        }
    }

    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    pub(crate) fn into_response(self, lang: Lang) -> Response<ResponseBody> {
        json_response(StatusCode::OK, true, self.message.render(lang), self.fields)
    }
}

/// A failed answer: `{"success": false, "message": …, "error": <code>}` plus its own fields.
///
/// Internal failures are logged where they are turned into an `ApiError` and reach the client
/// only as a generic message.
///
/// Boxed: errors are the cold path, and a small `Result` keeps the hot one lean.
#[derive(Debug)]
pub(crate) struct ApiError(Box<Failure>);

#[derive(Debug)]
struct Failure {
    status: StatusCode,
    message: Msg,
    code: &'static str,
    fields: Map<String, Value>,
    retry_after: Option<Duration>,
    allow: Option<Method>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: Msg) -> Self {
        Self(Box::new(Failure {
            status,
            message,
            code,
            fields: Map::new(),
            retry_after: None,
            allow: None,
        }))
    }

    pub(crate) fn bad_request(code: &'static str, message: Msg) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.fields.insert(key.to_owned(), value.into());
        self
    }

    fn with_retry_after(mut self, wait: Duration) -> Self {
        let seconds = crate::lang::whole_seconds(wait);
        self.0.retry_after = Some(Duration::from_secs(seconds));
        self.with("retryAfter", seconds)
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", Msg::NotFound)
    }

    pub(crate) fn method_not_allowed(allowed: Method) -> Self {
        let mut error = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            Msg::MethodNotAllowed,
        );
        error.0.allow = Some(allowed);
        error
    }

    pub(crate) fn phone(error: PhoneError) -> Self {
        match error {
            PhoneError::NotMobile => Self::bad_request("phone_not_mobile", Msg::PhoneNotMobile),
            _ => Self::bad_request("invalid_phone", Msg::PhoneInvalid),
        }
    }

    pub(crate) fn refused(refusal: Refusal) -> Self {
        let (code, message) = match refusal {
            Refusal::Cooldown { retry_after } => ("cooldown", Msg::Cooldown(retry_after)),
            Refusal::SendCap { retry_after } => ("send_cap", Msg::SendCap(retry_after)),
            Refusal::LockedOut { retry_after } => ("locked_out", Msg::LockedOut(retry_after)),
        };
        Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
            .with_retry_after(refusal.retry_after())
    }

    pub(crate) fn sender_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "sender_unavailable",
            Msg::SenderUnavailable,
        )
        .with_retry_after(Duration::from_secs(30))
    }

    pub(crate) fn busy() -> Self {
        Self::busy_for(Duration::from_secs(5))
    }

    /// 503 `busy`, to be tried again after `wait` (at least a second).
    pub(crate) fn busy_for(wait: Duration) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", Msg::Busy)
            .with_retry_after(wait.max(Duration::from_secs(1)))
    }

    /// 503 with a generic message; the cause is logged by the caller.
    pub(crate) fn server_trouble() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            Msg::ServerTrouble,
        )
    }

    pub(crate) fn store(error: StoreError) -> Self {
        tracing::error!(target: "otp_reset", error = %error, source = ?std::error::Error::source(&error), "store failed");
        Self::server_trouble()
    }

    pub(crate) fn password(error: PasswordError) -> Self {
        match error {
            PasswordError::Busy => Self::busy(),
            other => {
                tracing::error!(target: "otp_reset", error = %other, "password hashing failed");
                Self::server_trouble()
            }
        }
    }

    pub(crate) fn into_response(self, lang: Lang) -> Response<ResponseBody> {
        let failure = *self.0;
        let mut fields = failure.fields;
        fields.insert("error".into(), failure.code.into());
        let message = failure.message.render(lang);
        let mut response = json_response(failure.status, false, message, fields);
        let headers = response.headers_mut();
        if let Some(wait) = failure.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs()));
        }
        if let Some(value) = failure
            .allow
            .and_then(|m| HeaderValue::from_str(m.as_str()).ok())
        {
            headers.insert(header::ALLOW, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::store(error)
    }
}

fn json_response(
    status: StatusCode,
    success: bool,
    message: String,
    fields: Map<String, Value>,
) -> Response<ResponseBody> {
    let mut body = Map::with_capacity(fields.len() + 2);
    body.insert("success".into(), success.into());
    body.insert("message".into(), message.into());
    body.extend(fields);
    let bytes = serde_json::to_vec(&Value::Object(body))
        .unwrap_or_else(|_| b"{\"success\":false}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
