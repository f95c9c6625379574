//! Reading a request body as a JSON object and taking fields out of it, with a clear answer for
//! every way it can be wrong.

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value};

use super::reply::ApiError;
use crate::lang::Msg;

/// The fields of a JSON object body.
#[derive(Debug)]
pub(crate) struct Fields(Map<String, Value>);

impl Fields {
    /// Reads the body of `request`: JSON content type, at most `max_bytes`, an object.
    pub(crate) async fn read<B>(request: Request<B>, max_bytes: usize) -> Result<Self, ApiError>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Msg::UnsupportedMediaType,
            ));
        }
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                Msg::PayloadTooLarge(max_bytes),
            )
        };
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > max_bytes as u64) {
            return Err(too_large());
        }
        let bytes: Bytes = match Limited::new(request.into_body(), max_bytes).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<LengthLimitError>() => return Err(too_large()),
            Err(_) => {
                return Err(ApiError::bad_request(
                    "body_unreadable",
                    Msg::BodyUnreadable,
                ));
            }
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            _ => Err(ApiError::bad_request("malformed_json", Msg::MalformedJson)),
        }
    }

    /// A text field that must be present and not blank, trimmed.
    pub(crate) fn required(
        &self,
        name: &'static str,
        missing: Msg,
        max_chars: usize,
    ) -> Result<&str, ApiError> {
        self.optional(name, max_chars)?
            .ok_or_else(|| ApiError::bad_request(missing_code(name), missing))
    }

    /// A text field that may be absent, null or blank (all read as absent), trimmed.
    pub(crate) fn optional(
        &self,
        name: &'static str,
        max_chars: usize,
    ) -> Result<Option<&str>, ApiError> {
        let text = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(text)) => text.trim(),
            Some(_) => {
                return Err(
                    ApiError::bad_request("invalid_type", Msg::NotText(name)).with("field", name)
                );
            }
        };
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > max_chars {
            return Err(
                ApiError::bad_request("too_long", Msg::TooLong(name, max_chars))
                    .with("field", name),
            );
        }
        Ok(Some(text))
    }

    /// A password field: present and not empty, kept exactly as typed (spaces count).
    pub(crate) fn password(&self, name: &'static str, missing: Msg) -> Result<&str, ApiError> {
        match self.0.get(name) {
            Some(Value::String(text)) if !text.is_empty() => Ok(text),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                Err(ApiError::bad_request(missing_code(name), missing))
            }
            Some(_) => {
                Err(ApiError::bad_request("invalid_type", Msg::NotText(name)).with("field", name))
            }
        }
    }
}

fn missing_code(field: &str) -> &'static str {
    match field {
        "nama" => "name_required",
        "noHp" => "phone_required",
        "otp" => "otp_required",
        "newPassword" => "new_password_required",
        "confirmPassword" => "confirm_password_required",
        _ => "field_required",
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.rsplit_once('+').is_some_and(|(kind, suffix)| {
            kind.to_ascii_lowercase().starts_with("application/")
                && suffix.eq_ignore_ascii_case("json")
        })
}
