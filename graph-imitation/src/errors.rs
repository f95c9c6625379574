//! Graph API error answers, shaped as "Handling errors" and the Cloud API's error-code page
//! show them (see the README for which fields and statuses are guessed).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answer: `{"error": {message, type, code, [error_subcode], [error_data], fbtrace_id}}`.
pub(crate) fn answer(
    status: StatusCode,
    kind: &str,
    code: i64,
    subcode: Option<i64>,
    message: &str,
    details: Option<&str>,
    trace: u64,
) -> Response {
    let mut error = json!({
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": format!("A{trace:010}imitation"),
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = Value::from(subcode);
    }
    if let Some(details) = details {
        error["error_data"] = json!({ "messaging_product": "whatsapp", "details": details });
    }
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// 401, code 190: no token, a token not the configured one, or the configured one expired.
pub(crate) fn token(expired: bool, trace: u64) -> Response {
    if expired {
        answer(
            StatusCode::UNAUTHORIZED,
            "OAuthException",
            190,
            Some(463),
            "Error validating access token: Session has expired.",
            None,
            trace,
        )
    } else {
        answer(
            StatusCode::UNAUTHORIZED,
            "OAuthException",
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
            None,
            trace,
        )
    }
}

/// 400, code 100 subcode 33: no such object (a phone number id that is not this one).
pub(crate) fn no_object(id: &str, trace: u64) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        "GraphMethodException",
        100,
        Some(33),
        &format!(
            "Unsupported post request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
        ),
        None,
        trace,
    )
}

/// 400, code 100: an invalid or missing parameter.
pub(crate) fn invalid_parameter(details: &str, trace: u64) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        "OAuthException",
        100,
        None,
        "(#100) Invalid parameter",
        Some(details),
        trace,
    )
}

/// A Cloud API error `code` with its title, as the error-code page lists them.
pub(crate) fn cloud(code: i64, trace: u64) -> Response {
    let (status, title, details) = match code {
        131056 => (
            StatusCode::BAD_REQUEST,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
        ),
        130429 => (
            StatusCode::BAD_REQUEST,
            "Rate limit hit",
            "Message failed to send because there were too many messages sent from this phone number in a short period of time.",
        ),
        80007 => (
            StatusCode::BAD_REQUEST,
            "Rate limit issues",
            "The WhatsApp Business Account has reached its rate limit.",
        ),
        131026 => (
            StatusCode::BAD_REQUEST,
            "Message Undeliverable.",
            "Unable to deliver message.",
        ),
        132000 => (
            StatusCode::BAD_REQUEST,
            "Number of parameters does not match the expected number of params",
            "body: number of localizable_params does not match the expected number of params",
        ),
        132001 => (
            StatusCode::NOT_FOUND,
            "Template name does not exist in the translation",
            "template name does not exist in the language",
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            "Parameter value is not valid",
            "a parameter value is not valid",
        ),
    };
    answer(
        status,
        "OAuthException",
        code,
        None,
        &format!("(#{code}) {title}"),
        Some(details),
        trace,
    )
}
