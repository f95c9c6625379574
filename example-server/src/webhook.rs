//! Meta's status webhook for the Cloud API sender: `GET /webhooks/whatsapp` answers the
//! verification challenge, `POST /webhooks/whatsapp` takes signed status notifications.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRef, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode, header};
use otp_reset_whatsapp_cloud::{
    Challenge, MAX_WEBHOOK_BODY, SIGNATURE_HEADER, StatusWebhook, WebhookError,
};
use serde_json::json;

use crate::answer::{Text, failure};

/// The webhook's routes, for any state that holds the [`StatusWebhook`] (`None` when the Cloud
/// API sender or its webhook secrets are not set: the route then answers 404).
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Option<StatusWebhook>: FromRef<S>,
{
    Router::new()
        .route("/webhooks/whatsapp", get(challenge).post(notification))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
}

fn refused(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        axum::Json(json!({ "success": false, "error": code, "message": message })),
    )
        .into_response()
}

fn refusal(error: &WebhookError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    refused(status, error.code(), error.to_string())
}

/// `GET`: the challenge back as plain text when the verify token matches.
async fn challenge(
    State(webhook): State<Option<StatusWebhook>>,
    headers: HeaderMap,
    query: Result<Query<Challenge>, QueryRejection>,
) -> Response {
    let Some(webhook) = webhook else {
        return failure(&headers, Text::NotFound).into_response();
    };
    let Ok(Query(query)) = query else {
        return refused(
            StatusCode::BAD_REQUEST,
            "malformed_query",
            "the query string cannot be read".into(),
        );
    };
    match webhook.answer_challenge(&query) {
        Ok(challenge) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            challenge,
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(reason = %error, "a webhook verification request was refused");
            refusal(&error)
        }
    }
}

/// `POST`: a signed notification; its statuses go to the flow.
async fn notification(
    State(webhook): State<Option<StatusWebhook>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(webhook) = webhook else {
        return failure(&headers, Text::NotFound).into_response();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return refused(
                rejection.status(),
                "body_unreadable",
                format!("the body cannot be read (at most {MAX_WEBHOOK_BODY} bytes)"),
            );
        }
    };
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    match webhook.receive(signature, &body) {
        Ok(count) => {
            tracing::debug!(statuses = count, "status webhook taken");
            axum::Json(json!({ "success": true, "message": "ok" })).into_response()
        }
        Err(error) => {
            tracing::warn!(reason = %error, "a status webhook was refused");
            refusal(&error)
        }
    }
}
