//! Reading a request body as a JSON object and taking fields out of it, with a clear answer for
//! every way it can be wrong.

use http::Request;
use http_body::Body;
use serde_json::{Map, Value};

use super::reply::ApiError;
use crate::lang::Msg;
use crate::wire::{ErrorCode, read_json_object};

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
        Ok(Self(read_json_object(request, max_bytes).await?))
    }

    /// A text field that must be present and not blank, trimmed; `missing` answers its absence.
    pub(crate) fn required(
        &self,
        name: &'static str,
        missing: (ErrorCode, Msg),
        max_chars: usize,
    ) -> Result<&str, ApiError> {
        self.optional(name, max_chars)?
            .ok_or_else(|| ApiError::new(missing.0, missing.1))
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
            Some(_) => return Err(not_text(name)),
        };
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > max_chars {
            return Err(
                ApiError::new(ErrorCode::TooLong, Msg::TooLong(name, max_chars)).with_field(name),
            );
        }
        Ok(Some(text))
    }

    /// A password field: present and not empty, kept exactly as typed (spaces count).
    pub(crate) fn password(
        &self,
        name: &'static str,
        missing: (ErrorCode, Msg),
    ) -> Result<&str, ApiError> {
        match self.0.get(name) {
            Some(Value::String(text)) if !text.is_empty() => Ok(text),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                Err(ApiError::new(missing.0, missing.1))
            }
            Some(_) => Err(not_text(name)),
        }
    }
}

fn not_text(name: &'static str) -> ApiError {
    ApiError::new(ErrorCode::InvalidType, Msg::NotText(name)).with_field(name)
}
