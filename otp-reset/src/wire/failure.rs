//! The failed answer: `{"success": false, "message", …, "error"}`.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde::{Deserialize, Serialize};

use super::code::{AnswerCode, ErrorCode};
use crate::ResponseBody;

/// The body of a failed answer, as the service sends it and as an app's own routes can send
/// it: `{"success": false, "message": …}`, then `field`, `attemptsLeft` or `retryAfter` where
/// the code carries one, then `error`.
///
/// `C` is the code type: the service's [`ErrorCode`], or an app's own [`AnswerCode`].
///
/// ```
/// use otp_reset::ErrorCode;
/// use otp_reset::wire::Failure;
///
/// let failure = Failure::new(ErrorCode::Busy, "Server sedang sibuk.").with_retry_after(5);
/// let response = failure.into_response();
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["retry-after"], "5");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Failure<C = ErrorCode> {
    /// Always `false`.
    pub success: bool,
    /// What failed, for a person, in the client's language.
    pub message: String,
    /// The request body's field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The guesses the code still allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// Seconds to wait before trying again, as the `Retry-After` header says too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// What failed, for a program.
    pub error: C,
}

impl<C: AnswerCode> Failure<C> {
    /// A failure with `code` and `message`, and nothing more.
    pub fn new(code: C, message: impl Into<String>) -> Self {
        Self {
            success: false,
            message: message.into(),
            field: None,
            attempts_left: None,
            retry_after: None,
            error: code,
        }
    }

    /// Names the request body's field at fault.
    #[must_use]
    pub fn with_field(mut self, name: impl Into<String>) -> Self {
        self.field = Some(name.into());
        self
    }

    /// Says how many guesses the code still allows.
    #[must_use]
    pub fn with_attempts_left(mut self, attempts: u32) -> Self {
        self.attempts_left = Some(attempts);
        self
    }

    /// Asks the client to wait `seconds` (also sent as the `Retry-After` header).
    #[must_use]
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The same failure with its code mapped, such as into an app's code type that holds the
    /// service's codes among its own.
    pub fn map_code<D: AnswerCode>(self, map: impl FnOnce(C) -> D) -> Failure<D> {
        Failure {
            success: self.success,
            message: self.message,
            field: self.field,
            attempts_left: self.attempts_left,
            retry_after: self.retry_after,
            error: map(self.error),
        }
    }

    /// The status of the answer: the code's.
    pub fn status(&self) -> StatusCode {
        self.error.status()
    }

    /// The answer: the code's status, this body, and `Retry-After` when the body has
    /// `retryAfter`.
    pub fn into_response(self) -> Response<ResponseBody>
    where
        C: Serialize,
    {
        let mut response = json_answer(self.status(), &self);
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A JSON answer with `status` and `body`: `Content-Type: application/json` and
/// `Cache-Control: no-store` (answers about accounts belong in no cache).
///
/// ```
/// use http::StatusCode;
///
/// let response = otp_reset::wire::json_answer(StatusCode::OK, &serde_json::json!({"ok": 1}));
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// ```
pub fn json_answer<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<ResponseBody> {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{\"success\":false}".to_vec());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn fields_come_in_the_order_the_service_always_sent_them() {
        let wrong = Failure::new(ErrorCode::WrongOtp, "m").with_attempts_left(2);
        assert_eq!(
            json(&wrong),
            r#"{"success":false,"message":"m","attemptsLeft":2,"error":"wrong_otp"}"#
        );
        let wait = Failure::new(ErrorCode::Cooldown, "m").with_retry_after(60);
        assert_eq!(
            json(&wait),
            r#"{"success":false,"message":"m","retryAfter":60,"error":"cooldown"}"#
        );
        let field = Failure::new(ErrorCode::InvalidType, "m").with_field("noHp");
        assert_eq!(
            json(&field),
            r#"{"success":false,"message":"m","field":"noHp","error":"invalid_type"}"#
        );
    }

    #[test]
    fn an_answer_reads_back_as_it_was_sent() {
        let text = r#"{"success":false,"message":"m","retryAfter":5,"error":"busy"}"#;
        let failure: Failure = serde_json::from_str(text).unwrap();
        assert_eq!(
            failure,
            Failure::new(ErrorCode::Busy, "m").with_retry_after(5)
        );
        assert_eq!(json(&failure), text);
    }
}
