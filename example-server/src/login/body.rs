//! The login's request body: a JSON object of at most 16 KiB.

use axum::body::Body;
use http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value};

use crate::answer::{Failure, Text, failure};

const MAX_BODY_BYTES: usize = 16 * 1024;

/// The body as a JSON object, with a JSON answer for each way it can be wrong.
pub(super) async fn read_object(
    headers: &HeaderMap,
    body: Body,
) -> Result<Map<String, Value>, Failure> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(failure(
            headers,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            Text::UnsupportedMediaType,
        ));
    }
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return Err(failure(
                headers,
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                Text::PayloadTooLarge,
            ));
        }
        Err(_) => {
            return Err(failure(
                headers,
                StatusCode::BAD_REQUEST,
                "malformed_json",
                Text::MalformedJson,
            ));
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(failure(
            headers,
            StatusCode::BAD_REQUEST,
            "malformed_json",
            Text::MalformedJson,
        )),
    }
}
