//! Requests counted by route and outcome, around every route of the site.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, StatusCode, header};
use http_body::Body as _;
use serde::Deserialize;

use super::{Metrics, labels};

/// The largest failure body read for its `error` code: the site's failures are a few hundred
/// bytes; anything larger is counted by its status class.
const MAX_FAILURE_BYTES: u64 = 8 * 1024;

/// Middleware (`axum::middleware::from_fn_with_state`): counts each request in
/// `otp_reset_http_requests_total` under its route (from a fixed list, never the path as sent)
/// and its outcome: the status class (`2xx`, …) of a success, the `error` code of a JSON
/// failure, and the limits such a code says were hit.
pub async fn track_requests(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = labels::route(request.uri().path());
    let response = next.run(request).await;
    let (outcome, response) = outcome(response).await;
    metrics.request(route, outcome);
    response
}

/// The outcome of `response`, and the response (rebuilt when its body was read).
async fn outcome(response: Response) -> (&'static str, Response) {
    let class = class(response.status());
    let small = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|bytes| bytes <= MAX_FAILURE_BYTES);
    if response.status().as_u16() < 400 || !is_json(response.headers()) || !small {
        return (class, response);
    }
    let (parts, body) = response.into_parts();
    // The body's exact size is known and small: a failure answer, already in memory.
    match axum::body::to_bytes(body, MAX_FAILURE_BYTES as usize).await {
        Ok(bytes) => {
            let code = serde_json::from_slice::<Failure>(&bytes)
                .ok()
                .and_then(|failure| failure.error)
                .and_then(|code| labels::error_code(&code));
            (
                code.unwrap_or(class),
                Response::from_parts(parts, Body::from(bytes)),
            )
        }
        Err(_) => (class, Response::from_parts(parts, Body::empty())),
    }
}

/// What the outcome needs of a failure's body.
#[derive(Deserialize)]
struct Failure {
    error: Option<String>,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

fn class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
