//! The operator's page for linking WhatsApp: the QR code as SVG, behind `ADMIN_TOKEN`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, header};
use otp_reset_whatsapp::QrCode;
use subtle::ConstantTimeEq;
use tokio::sync::watch;

use crate::answer::{Text, failure};

/// The operator's routes: `GET /admin/whatsapp/qr.svg`, for any state that holds the
/// [`QrAccess`] (`None` when the QR code is not offered: the route then answers 404).
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Option<QrAccess>: FromRef<S>,
{
    Router::new().route("/admin/whatsapp/qr.svg", get(qr_svg))
}

/// Who may see the QR code, and where it comes from.
#[derive(Clone, Debug)]
pub struct QrAccess {
    /// The QR code while one is shown.
    pub codes: watch::Receiver<Option<QrCode>>,
    /// The operator's token.
    pub token: Arc<str>,
}

/// `GET /admin/whatsapp/qr.svg`: the QR code to scan, for a bearer of the admin token only. The
/// code carries key material, so it is never cached and never shown to anyone else.
pub async fn qr_svg(State(qr): State<Option<QrAccess>>, headers: HeaderMap) -> Response {
    let Some(access) = &qr else {
        return failure(&headers, Text::NotFound).into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let authorised: bool = presented.as_bytes().ct_eq(access.token.as_bytes()).into();
    if !authorised {
        let mut response = failure(&headers, Text::Unauthorized).into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let code = access.codes.borrow().clone();
    match code {
        Some(code) => {
            let mut response = code.to_svg().into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        None => failure(&headers, Text::NoQrCode).into_response(),
    }
}
