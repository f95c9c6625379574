//! Reading a request body as a JSON object, the way the service reads its own.

use bytes::Bytes;
use http::{HeaderMap, Request, header};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value};

use super::code::ErrorCode;
use super::failure::Failure;
use crate::Lang;
use crate::lang::Msg;

/// Why a request body could not be read as a JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The `Content-Type` is not `application/json` or another `+json` type.
    #[error("the content type is not JSON")]
    UnsupportedMediaType,
    /// The body is longer than the limit (declared so, or found so while reading).
    #[error("the body is larger than {max_bytes} bytes")]
    PayloadTooLarge {
        /// The limit.
        max_bytes: usize,
    },
    /// The body could not be read (the connection failed mid-body).
    #[error("the body could not be read")]
    Unreadable,
    /// The body is not a JSON object.
    #[error("the body is not a JSON object")]
    MalformedJson,
}

impl BodyError {
    /// The `error` code the service answers this with.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::Unreadable => ErrorCode::BodyUnreadable,
            Self::MalformedJson => ErrorCode::MalformedJson,
        }
    }

    pub(crate) fn msg(self) -> Msg {
        match self {
            Self::UnsupportedMediaType => Msg::UnsupportedMediaType,
            Self::PayloadTooLarge { max_bytes } => Msg::PayloadTooLarge(max_bytes),
            Self::Unreadable => Msg::BodyUnreadable,
            Self::MalformedJson => Msg::MalformedJson,
        }
    }

    /// The failed answer the service gives for this, in `lang`.
    ///
    /// ```
    /// use otp_reset::{ErrorCode, Lang};
    /// use otp_reset::wire::BodyError;
    ///
    /// let failure = BodyError::PayloadTooLarge { max_bytes: 16 }.to_failure(Lang::En);
    /// assert_eq!(failure.error, ErrorCode::PayloadTooLarge);
    /// assert_eq!(failure.message, "Body too large (at most 16 bytes)");
    /// ```
    pub fn to_failure(self, lang: Lang) -> Failure {
        Failure::new(self.code(), self.msg().render(lang))
    }
}

/// Reads the body of `request` as a JSON object: a JSON `Content-Type` (`application/json`
/// or any `application/…+json`), at most `max_bytes` (a larger declared `Content-Length` is
/// refused before reading), and an object.
///
/// ```
/// use otp_reset::wire::{BodyError, read_json_object};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let request = http::Request::builder()
///     .header("content-type", "application/merge-patch+json")
///     .body(http_body_util::Full::new(bytes::Bytes::from_static(br#"{"noHp":"0812"}"#)))?;
/// let fields = read_json_object(request, 1024).await?;
/// assert_eq!(fields["noHp"], "0812");
///
/// let text = http::Request::builder()
///     .header("content-type", "text/plain")
///     .body(http_body_util::Full::new(bytes::Bytes::new()))?;
/// assert_eq!(read_json_object(text, 1024).await, Err(BodyError::UnsupportedMediaType));
/// # Ok(())
/// # }
/// ```
pub async fn read_json_object<B>(
    request: Request<B>,
    max_bytes: usize,
) -> Result<Map<String, Value>, BodyError>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if !is_json(request.headers()) {
        return Err(BodyError::UnsupportedMediaType);
    }
    let too_large = BodyError::PayloadTooLarge { max_bytes };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_bytes as u64) {
        return Err(too_large);
    }
    let bytes: Bytes = match Limited::new(request.into_body(), max_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => return Err(too_large),
        Err(_) => return Err(BodyError::Unreadable),
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(BodyError::MalformedJson),
    }
}

/// Whether the headers declare a JSON body: `application/json` or `application/…+json`, any
/// case, any parameters.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("Application/JSON; charset=utf-8"));
/// assert!(otp_reset::wire::is_json(&headers));
/// headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/json"));
/// assert!(!otp_reset::wire::is_json(&headers));
/// ```
pub fn is_json(headers: &HeaderMap) -> bool {
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
