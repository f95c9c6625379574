//! `GET /healthz`: whether the server can take changes, for a load balancer.

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;

use crate::stores::Stores;

/// The health check's route, for any state that holds the [`Stores`].
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Stores: FromRef<S>,
{
    Router::new().route("/healthz", get(healthz))
}

/// `{"status":"ok"}`, or 503 while a store cannot take changes (the data file on a full disk,
/// a code store or user database that cannot be reached: every change is refused then, so a
/// load balancer should take the server out); 200 again by itself once it can.
async fn healthz(State(stores): State<Stores>) -> Response {
    match stores.failure().await {
        None => axum::Json(serde_json::json!({ "status": "ok" })).into_response(),
        Some(failure) => {
            tracing::error!(reason = %failure.detail, "unhealthy: {}", failure.public);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "failing", "reason": failure.public })),
            )
                .into_response()
        }
    }
}
