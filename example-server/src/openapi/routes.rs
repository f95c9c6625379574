//! The server's own routes: the login, `/healthz`, the admin QR code and the document itself.

use otp_reset::openapi::{accept_language, add_failure};
use otp_reset::wire::BodyError;
use serde_json::json;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{ComponentsBuilder, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, Required};

use super::{TAG_AUTH, TAG_OPERATIONS, body_failure_with, failure_with, meaning};
use crate::answer::{Failure, Text};
use crate::config::Config;
use crate::login::MAX_BODY_BYTES;

const JSON: &str = "application/json";

/// The server's routes and the schemas they use.
pub(super) fn document(config: &Config) -> OpenApi {
    let mut login = login(config);
    let mut qr = qr_code();
    let mut failures: Vec<Failure> = vec![
        failure_with(Text::PhoneRequired),
        failure_with(Text::PasswordRequired),
        failure_with(Text::NotText("noHp")).field("noHp"),
        failure_with(Text::InvalidPhone),
        body_failure_with(BodyError::MalformedJson),
        body_failure_with(BodyError::Unreadable),
        body_failure_with(BodyError::PayloadTooLarge {
            max_bytes: MAX_BODY_BYTES,
        }),
        body_failure_with(BodyError::UnsupportedMediaType),
        failure_with(Text::InvalidCredentials),
        failure_with(Text::LoginThrottled(2)).retry_after(2),
        failure_with(Text::LoginBusy).retry_after(1),
        failure_with(Text::Busy),
        failure_with(Text::ServerTrouble),
    ];
    if config.client_rate_limit_per_min > 0 {
        failures.push(failure_with(Text::RateLimited(30)).retry_after(30));
    }
    failures.push(failure_with(Text::Timeout));
    for failure in &failures {
        add(&mut login, failure, config);
    }
    for failure in [
        failure_with(Text::NotFound),
        failure_with(Text::Unauthorized),
        failure_with(Text::NoQrCode),
        failure_with(Text::Timeout),
    ] {
        add(&mut qr, &failure, config);
    }
    OpenApiBuilder::new()
        .paths(
            PathsBuilder::new()
                .path("/api/auth/login", PathItem::new(HttpMethod::Post, login))
                .path("/healthz", PathItem::new(HttpMethod::Get, health()))
                .path("/admin/whatsapp/qr.svg", PathItem::new(HttpMethod::Get, qr))
                .path(
                    "/api/openapi.json",
                    PathItem::new(HttpMethod::Get, openapi_json()),
                ),
        )
        .components(Some(
            ComponentsBuilder::new()
                .schema("Login", login_schema())
                .schema("SignedIn", signed_in_schema())
                .schema("Health", health_schema())
                .build(),
        ))
        .build()
}

fn add(operation: &mut Operation, failure: &Failure, config: &Config) {
    add_failure(
        &mut operation.responses,
        &meaning(failure.body().error, config),
        failure.body(),
    );
}

fn json_ok(
    description: &str,
    schema: &str,
    example: serde_json::Value,
) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .example(Some(example))
                .build(),
        )
        .build()
}

/// `POST /api/auth/login`.
fn login(config: &Config) -> Operation {
    OperationBuilder::new()
        .tag(TAG_AUTH)
        .operation_id(Some("login"))
        .summary(Some("Sign in"))
        .description(Some(format!(
            "Checks an account's phone number and password. An unknown number is answered as a \
             wrong password. After {} failed logins on an account from one client, each further \
             try from it waits longer (`login_throttled`, without checking the password); after \
             {} from all clients together, every try on the account waits.",
            config.login_client_free_failures, config.login_account_free_failures
        )))
        .parameter(accept_language())
        .request_body(Some(
            RequestBodyBuilder::new()
                .description(Some("The account's phone number and password."))
                .required(Some(Required::True))
                .content(
                    JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Login")))
                        .example(Some(json!({ "noHp": "081234567890", "password": "password123" })))
                        .build(),
                )
                .build(),
        ))
        .responses(
            ResponsesBuilder::new()
                .response(
                    "200",
                    json_ok(
                        "The phone number and password match an account.",
                        "SignedIn",
                        json!({ "success": true, "message": "Login berhasil", "data": { "nama": "John Doe" } }),
                    ),
                )
                .build(),
        )
        .build()
}

/// `GET /admin/whatsapp/qr.svg`.
fn qr_code() -> Operation {
    let svg = ResponseBuilder::new()
        .description("The QR code to scan with the WhatsApp app, as SVG. Never cached.")
        .content(
            "image/svg+xml",
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        )
        .build();
    OperationBuilder::new()
        .tag(TAG_OPERATIONS)
        .operation_id(Some("whatsappQrCode"))
        .summary(Some("The WhatsApp pairing QR code"))
        .description(Some(
            "The QR code that links the server's WhatsApp session, for the operator: served \
             only with the WhatsApp sender and an admin token, to a bearer of that token.",
        ))
        .parameter(accept_language())
        .responses(ResponsesBuilder::new().response("200", svg).build())
        .build()
}

/// `GET /healthz`.
fn health() -> Operation {
    let failing = ResponseBuilder::new()
        .description(
            "The data file cannot be written (a full disk): every change is refused, so a load \
             balancer should take the server out. 200 again by itself once the disk takes writes.",
        )
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Health")))
                .example(Some(json!({
                    "status": "failing",
                    "reason": "the data file cannot be written right now"
                })))
                .build(),
        )
        .build();
    OperationBuilder::new()
        .tag(TAG_OPERATIONS)
        .operation_id(Some("health"))
        .summary(Some("Health check"))
        .description(Some(
            "Answers 200 while the server can serve, for load balancers.",
        ))
        .responses(
            ResponsesBuilder::new()
                .response(
                    "200",
                    json_ok("The server is up.", "Health", json!({ "status": "ok" })),
                )
                .response("503", failing)
                .build(),
        )
        .build()
}

/// `GET /api/openapi.json`.
fn openapi_json() -> Operation {
    let schema = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("An OpenAPI 3.1 document."))
        .property(
            "openapi",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .examples(["3.1.0"]),
        )
        .required("openapi");
    let ok = ResponseBuilder::new()
        .description("This document.")
        .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
        .build();
    OperationBuilder::new()
        .tag(TAG_OPERATIONS)
        .operation_id(Some("openapiDocument"))
        .summary(Some("This OpenAPI document"))
        .description(Some(
            "The OpenAPI 3.1 description of the API, with the settings in force, for generated \
             clients and API testers.",
        ))
        .responses(ResponsesBuilder::new().response("200", ok).build())
        .build()
}

fn login_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .description(Some("The body of login."))
        .property(
            "noHp",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The account's phone number, typed any way."))
                .min_length(Some(1)),
        )
        .required("noHp")
        .property(
            "password",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The account's password."))
                .min_length(Some(1)),
        )
        .required("password")
}

fn signed_in_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .description(Some("The answer of login."))
        .property("success", ObjectBuilder::new().schema_type(Type::Boolean))
        .required("success")
        .property("message", ObjectBuilder::new().schema_type(Type::String))
        .required("message")
        .property(
            "data",
            ObjectBuilder::new().property(
                "nama",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("The account holder's name.")),
            ),
        )
        .required("data")
}

fn health_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .description(Some("The server's health."))
        .property(
            "status",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["ok", "failing"])),
        )
        .required("status")
        .property(
            "reason",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("Why the server is failing.")),
        )
}
