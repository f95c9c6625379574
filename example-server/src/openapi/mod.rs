//! The OpenAPI 3.1 document of the server's JSON API: the flow's own document
//! ([`ForgotPassword::openapi`](otp_reset::ForgotPassword::openapi), with the policy in force)
//! merged with the server's routes (the login, `/healthz`, the admin QR code and this document)
//! and the answers the server's layers add to every route (the per-client limit's 429 and the
//! timeout's 503).
//!
//! The server builds it once at start-up and answers it at `GET /api/openapi.json`.

mod routes;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, Method, header};
use otp_reset::openapi::add_failure;
use otp_reset::wire::BodyError;
use utoipa::openapi::OpenApi;
use utoipa::openapi::info::{InfoBuilder, LicenseBuilder};
use utoipa::openapi::path::Operation;
use utoipa::openapi::tag::TagBuilder;

use crate::answer::{Failure, ServerCode, Text, body_failure, failure};
use crate::config::Config;
use crate::flow::{Flow, MOUNT};
use crate::login::MAX_BODY_BYTES;

/// The tag of the sign-in route.
const TAG_AUTH: &str = "auth";
/// The tag of the routes for operators and tools.
const TAG_OPERATIONS: &str = "operations";

/// `GET /api/openapi.json`: the [`document`] of `flow` as `config` sets the server, built once.
pub fn router<S>(flow: &Flow, config: &Config) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let document = document(flow.openapi(MOUNT), config);
    let json = match serde_json::to_vec(&document) {
        Ok(json) => Bytes::from(json),
        Err(error) => {
            tracing::error!(%error, "the OpenAPI document could not be written");
            Bytes::new()
        }
    };
    Router::new().route("/api/openapi.json", get(move || served(json.clone())))
}

async fn served(json: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}

/// The API's document: `flow` (the service's own, mounted at [`MOUNT`]) with the
/// server's routes and layers added, as `config` sets them.
pub fn document(mut flow: OpenApi, config: &Config) -> OpenApi {
    let limited = config.client_rate_limit_per_min > 0;
    for item in flow.paths.paths.values_mut() {
        for (method, operation) in operations(item) {
            if limited && method == Method::POST {
                add_own(
                    operation,
                    &failure_with(Text::RateLimited(30)).retry_after(30),
                    config,
                );
            }
            add_own(operation, &failure_with(Text::Timeout), config);
        }
    }
    flow.info = InfoBuilder::new()
        .title("Tiket Kita — reset sandi via WhatsApp")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(format!(
            "The forgot-password flow of the Tiket Kita ticketing site, and its sign-in.\n\n{}\n\n\
             Any other path of the server is answered 404 `not_found` too; its own routes answer \
             a method they do not take with an empty 405 and an `Allow` header.",
            flow.info.description.unwrap_or_default()
        )))
        .license(Some(
            LicenseBuilder::new()
                .name("MIT OR Apache-2.0")
                .identifier(Some("MIT OR Apache-2.0"))
                .build(),
        ))
        .build();
    let tags = flow.tags.get_or_insert_with(Vec::new);
    tags.push(
        TagBuilder::new()
            .name(TAG_AUTH)
            .description(Some("Signing in with a phone number and password."))
            .build(),
    );
    tags.push(
        TagBuilder::new()
            .name(TAG_OPERATIONS)
            .description(Some(
                "Health, the WhatsApp pairing code and this description, for operators and tools.",
            ))
            .build(),
    );
    flow.merge(routes::document(config));
    flow
}

/// The operations of a path item, with their methods.
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (Method, &mut Operation)> {
    [
        (Method::GET, item.get.as_mut()),
        (Method::POST, item.post.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| Some((method, operation?)))
}

/// A failure saying `text`, as a client without `Accept-Language` gets it.
fn failure_with(text: Text) -> Failure {
    failure(&HeaderMap::new(), text)
}

/// The flow's answer to an unreadable login body, as a client without `Accept-Language` gets it.
fn body_failure_with(error: BodyError) -> Failure {
    body_failure(&HeaderMap::new(), error)
}

/// Adds one of the server's answers to `operation`.
fn add_own(operation: &mut Operation, example: &Failure, config: &Config) {
    add_failure(
        &mut operation.responses,
        &meaning(example.body().error, config),
        example.body(),
    );
}

/// What a code the server answers means, with the settings in force.
fn meaning(code: ServerCode, config: &Config) -> String {
    use otp_reset::ErrorCode;
    match code {
        ServerCode::PasswordRequired => "`password` is missing, null or empty.".into(),
        ServerCode::InvalidCredentials => {
            "The phone number and password do not match an account.".into()
        }
        ServerCode::Unauthorized => {
            "The `Authorization: Bearer` admin token is missing or wrong.".into()
        }
        ServerCode::NoQrCode => {
            "No QR code is shown now: WhatsApp is linked or still starting.".into()
        }
        ServerCode::RateLimited => format!(
            "The client sent more than {} requests a minute to the POST routes.",
            config.client_rate_limit_per_min
        ),
        ServerCode::LoginThrottled => format!(
            "Too many failed logins on the account lately: from this client ({}), or from all \
             clients together ({}). Each further failure doubles the wait, from {} ms up to {} \
             seconds; the password is not checked meanwhile.",
            config.login_client_free_failures,
            config.login_account_free_failures,
            config.login_backoff_base_ms,
            config.login_backoff_max_secs
        ),
        ServerCode::LoginBusy => format!(
            "The client already has {} logins being checked, as many as it may.",
            config.login_hashes_per_client
        ),
        ServerCode::Timeout => format!(
            "The request took longer than {} seconds; try again (a password reset already \
             under way still completes).",
            config.request_timeout_secs
        ),
        ServerCode::Flow(ErrorCode::PhoneRequired) => "`noHp` is missing, null or empty.".into(),
        ServerCode::Flow(ErrorCode::InvalidType) => {
            "A field is not a string; `field` names it.".into()
        }
        ServerCode::Flow(ErrorCode::InvalidPhone) => "`noHp` is not a phone number.".into(),
        ServerCode::Flow(ErrorCode::Busy) => "Password checking is at capacity.".into(),
        ServerCode::Flow(ErrorCode::ServerError) => "The data file could not be read.".into(),
        ServerCode::Flow(ErrorCode::NotFound) => {
            "The admin QR code is not served (no WhatsApp sender or no admin token).".into()
        }
        ServerCode::Flow(ErrorCode::PayloadTooLarge) => {
            format!("The body is larger than {MAX_BODY_BYTES} bytes.")
        }
        ServerCode::Flow(ErrorCode::UnsupportedMediaType) => {
            "The `Content-Type` is not `application/json` (or another `+json` type).".into()
        }
        ServerCode::Flow(ErrorCode::MalformedJson) => "The body is not a JSON object.".into(),
        ServerCode::Flow(ErrorCode::BodyUnreadable) => "The body could not be read.".into(),
        ServerCode::Flow(other) => format!("See `{}` in the `ErrorAnswer` schema.", other.as_str()),
    }
}
