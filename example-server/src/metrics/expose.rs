//! `GET /metrics`: on a listener of its own, or on the site's behind a bearer token.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use otp_reset::Lang;
use otp_reset::wire::{self};
use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use super::{Metrics, track_requests};
use crate::answer::{ServerCode, Text, failure, lang};
use crate::config::MetricsExposure;

/// What a scrape needs.
#[derive(Clone, Debug)]
struct Scrape {
    metrics: Metrics,
    token: Option<Arc<str>>,
}

/// The site with its requests counted and, when `exposure` has a token, `GET /metrics` for
/// bearers of that token.
pub fn mount(site: Router, metrics: &Metrics, exposure: &MetricsExposure) -> Router {
    let site = match &exposure.token {
        Some(token) => site.merge(scrape_router(metrics, Some(Arc::clone(token)))),
        None => site,
    };
    site.layer(axum::middleware::from_fn_with_state(
        metrics.clone(),
        track_requests,
    ))
}

/// Serves `GET /metrics` (and a JSON 404 for any other path) on `listener` until the process
/// ends, asking for `exposure`'s token if it has one.
pub async fn serve_own_listener(
    listener: TcpListener,
    metrics: Metrics,
    exposure: MetricsExposure,
) -> std::io::Result<()> {
    let router = scrape_router(&metrics, exposure.token)
        .fallback(|request: Request| async move { failure(request.headers(), Text::NotFound) });
    axum::serve(listener, router).await
}

fn scrape_router(metrics: &Metrics, token: Option<Arc<str>>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape {
            metrics: metrics.clone(),
            token,
        })
}

/// The metrics as Prometheus' text format, to a bearer of the token when there is one.
async fn scrape(State(scrape): State<Scrape>, headers: HeaderMap) -> Response {
    if let Some(token) = &scrape.token
        && !bears(&headers, token)
    {
        let message = match lang(&headers) {
            Lang::En => "A valid metrics token is required (Authorization: Bearer …)",
            _ => "Token metrik tidak valid (Authorization: Bearer …)",
        };
        let mut response = wire::Failure::new(ServerCode::Unauthorized, message)
            .into_response()
            .map(axum::body::Body::new);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    match scrape.metrics.encode() {
        Ok(text) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "the metrics could not be written");
            failure(&headers, Text::ServerTrouble).into_response()
        }
    }
}

/// Whether `headers` bear `token` (`Authorization: Bearer <token>`), compared in constant time.
fn bears(headers: &HeaderMap, token: &str) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or("");
    presented.as_bytes().ct_eq(token.as_bytes()).into()
}
