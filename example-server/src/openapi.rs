//! The OpenAPI 3.1 document of the server's JSON API, built with `utoipa`.
//!
//! [`document`] describes every route the server answers and every answer each route can give:
//! the success body, and for each failure status the `error` codes it can carry, listed in the
//! response's description and given as one named example per code. Generated clients and API
//! fuzzers (such as schemathesis) can work from it alone.
//!
//! The schemas are derived from the Rust types below, which mirror the wire format. Those types
//! also build the examples, so an example cannot name a field the schema lacks.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::info::{InfoBuilder, LicenseBuilder};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{ComponentsBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ContentBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required,
};
use utoipa::{PartialSchema, ToSchema};

/// The media type of every body, asked and answered.
const JSON: &str = "application/json";

/// The tag of the forgot-password flow.
const TAG_FORGOT_PASSWORD: &str = "forgot-password";
/// The tag of the sign-in route.
const TAG_AUTH: &str = "auth";
/// The tag of the routes for operators and tools.
const TAG_OPERATIONS: &str = "operations";

/// The API's OpenAPI document: every route, every answer, and the schemas they use.
///
/// The server answers it at `GET /api/openapi.json`.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for (path, item) in [
        (
            "/api/forgot-password/request-otp",
            PathItem::new(HttpMethod::Post, request_otp()),
        ),
        (
            "/api/forgot-password/verify-otp",
            PathItem::new(HttpMethod::Post, verify_otp()),
        ),
        (
            "/api/forgot-password/reset-password",
            PathItem::new(HttpMethod::Post, reset_password()),
        ),
        (
            "/api/forgot-password/bot-status",
            PathItem::new(HttpMethod::Get, bot_status()),
        ),
        ("/api/auth/login", PathItem::new(HttpMethod::Post, login())),
        ("/healthz", PathItem::new(HttpMethod::Get, health())),
        (
            "/api/openapi.json",
            PathItem::new(HttpMethod::Get, openapi_json()),
        ),
    ] {
        paths = paths.path(path, item);
    }

    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Tiket Kita — reset sandi via WhatsApp")
                .version("0.1.0")
                .description(Some(API_DESCRIPTION))
                .license(Some(
                    LicenseBuilder::new()
                        .name("MIT OR Apache-2.0")
                        .identifier(Some("MIT OR Apache-2.0"))
                        .build(),
                )),
        )
        .tags(Some([
            TagBuilder::new()
                .name(TAG_FORGOT_PASSWORD)
                .description(Some(
                    "Resetting a forgotten password with a one-time code sent by WhatsApp: \
                     request a code, verify it, then set the new password.",
                ))
                .build(),
            TagBuilder::new()
                .name(TAG_AUTH)
                .description(Some("Signing in with a phone number and password."))
                .build(),
            TagBuilder::new()
                .name(TAG_OPERATIONS)
                .description(Some(
                    "Health and description of the server, for operators and tools.",
                ))
                .build(),
        ]))
        .paths(paths)
        .components(Some(components()))
        .build()
}

/// The text of the document's `info.description`.
const API_DESCRIPTION: &str = "\
The forgot-password flow of the Tiket Kita ticketing site, and its sign-in.

1. `POST /api/forgot-password/request-otp` with the account's name and phone number: a \
one-time code (OTP) goes to that number by WhatsApp.
2. `POST /api/forgot-password/verify-otp` with the code: the answer carries a single-use \
`resetToken`.
3. `POST /api/forgot-password/reset-password` with the `resetToken` (or the code) and the new \
password.

Every body, asked and answered, is JSON (`application/json`). Every answer is an object with \
`success` (boolean) and `message` (text for a person: Indonesian by default, English when the \
request carries `Accept-Language: en`). A failure (`success: false`, see the `ErrorAnswer` \
schema) also carries `error`, a machine-readable code that each response lists, and may carry \
`field` (the offending field), `attemptsLeft` (code guesses left) and `retryAfter` (seconds to \
wait; a `Retry-After` header carries the same value on 429 and 503 answers).";

/// Every schema the document refers to.
fn components() -> utoipa::openapi::Components {
    ComponentsBuilder::new()
        .schema_from::<RequestOtp>()
        .schema_from::<VerifyOtp>()
        .schema_from::<ResetPassword>()
        .schema_from::<Login>()
        .schema_from::<Answer>()
        .schema_from::<RequestOtpAnswer>()
        .schema_from::<VerifyOtpAnswer>()
        .schema_from::<VerifiedCode>()
        .schema_from::<BotStatus>()
        .schema_from::<LastProblem>()
        .schema_from::<LoginAnswer>()
        .schema_from::<SignedIn>()
        .schema_from::<Health>()
        .schema(ErrorAnswer::name(), error_answer_schema())
        .build()
}

/// The `ErrorAnswer` schema, its description closing with every code, its status and meaning.
fn error_answer_schema() -> RefOr<Schema> {
    let mut schema = ErrorAnswer::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        let mut text = object.description.take().unwrap_or_default();
        text.push_str("\n\nEvery `error` code, with the status that carries it:\n");
        for code in ErrorCode::ALL {
            text.push_str(&code_line(code, true));
        }
        object.description = Some(text);
    }
    schema
}

// ---------------------------------------------------------------------------------------------
// Routes

/// `POST /api/forgot-password/request-otp`.
fn request_otp() -> utoipa::openapi::path::Operation {
    use ErrorCode::*;
    let ok = ok_response::<RequestOtpAnswer>(
        "The code was issued and handed to the WhatsApp sender. The same answer is given whether \
         or not the name and phone pair matches an account (unless the server is set to reveal \
         unknown users: then an unknown pair gets 404 `user_not_found`), so the answer never \
         tells whether an account exists.",
        [(
            "sent",
            RequestOtpAnswer {
                success: true,
                message: "OTP dikirim ke WhatsApp".into(),
                phone_number: "6281234567890".into(),
                test_otp: None,
            },
        )],
    );
    operation(
        TAG_FORGOT_PASSWORD,
        "requestOtp",
        "Send a one-time code to the account's WhatsApp",
        "Issues a 6-digit code for the phone number and sends it by WhatsApp, if the name and \
         phone pair matches an account. Codes are limited per phone: one at a time (a cooldown \
         between requests), a number per hour, and none while the phone is locked out after \
         many wrong guesses.",
    )
    .request_body(Some(json_body(
        "The account's name and phone number.",
        RequestOtp {
            nama: "John Doe".into(),
            no_hp: "081234567890".into(),
        },
    )))
    .responses(responses(
        ok,
        &[
            NameRequired,
            PhoneRequired,
            InvalidType,
            TooLong,
            InvalidPhone,
            PhoneNotMobile,
            MalformedJson,
            BodyUnreadable,
            UserNotFound,
            PayloadTooLarge,
            UnsupportedMediaType,
            Cooldown,
            SendCap,
            LockedOut,
            RateLimited,
            SenderUnavailable,
            Busy,
            ServerError,
            Timeout,
        ],
    ))
    .build()
}

/// `POST /api/forgot-password/verify-otp`.
fn verify_otp() -> utoipa::openapi::path::Operation {
    use ErrorCode::*;
    let ok = ok_response::<VerifyOtpAnswer>(
        "The code is right. The answer carries a single-use reset token for \
         `POST /api/forgot-password/reset-password`.",
        [(
            "verified",
            VerifyOtpAnswer {
                success: true,
                message: "OTP berhasil diverifikasi".into(),
                data: VerifiedCode::example(),
            },
        )],
    );
    operation(
        TAG_FORGOT_PASSWORD,
        "verifyOtp",
        "Verify the one-time code",
        "Checks the code last sent to the phone number. Each client address has a few guesses \
         at a code (`attemptsLeft` counts them down), so a stranger's never use up the user's; \
         many wrong guesses in a row from any clients (50 by default) lock the phone out of \
         guesses and new codes for a while.",
    )
    .request_body(Some(json_body(
        "The phone number the code was sent to, and the code.",
        VerifyOtp {
            no_hp: "081234567890".into(),
            otp: "123456".into(),
        },
    )))
    .responses(responses(
        ok,
        &[
            PhoneRequired,
            OtpRequired,
            InvalidType,
            TooLong,
            InvalidPhone,
            PhoneNotMobile,
            InvalidOtpFormat,
            WrongOtp,
            OtpAttemptsExhausted,
            OtpExpired,
            OtpNotFound,
            LockedOut,
            MalformedJson,
            BodyUnreadable,
            PayloadTooLarge,
            UnsupportedMediaType,
            RateLimited,
            ServerError,
            Timeout,
        ],
    ))
    .build()
}

/// `POST /api/forgot-password/reset-password`.
fn reset_password() -> utoipa::openapi::path::Operation {
    use ErrorCode::*;
    let ok = ok_response::<Answer>(
        "The password was changed; the code and reset token are spent. The phone gets a \
         WhatsApp notice of the change.",
        [(
            "changed",
            Answer {
                success: true,
                message: "Password berhasil diubah, silakan login".into(),
            },
        )],
    );
    operation(
        TAG_FORGOT_PASSWORD,
        "resetPassword",
        "Set a new password",
        "Sets the account's new password, proven by the `resetToken` from verify-otp (or by the \
         code itself). The proof is spent by the first reset that uses it. A reset token, once \
         handed out, is taken whatever wrong guesses others make, even while the phone is \
         locked out.",
    )
    .request_body(Some(json_body(
        "The phone number, the proof (`resetToken`, or `otp`) and the new password twice.",
        ResetPassword {
            no_hp: "081234567890".into(),
            otp: None,
            reset_token: Some(VerifiedCode::example().reset_token),
            new_password: "rahasiaBaru123".into(),
            confirm_password: "rahasiaBaru123".into(),
        },
    )))
    .responses(responses(
        ok,
        &[
            PhoneRequired,
            OtpRequired,
            NewPasswordRequired,
            ConfirmPasswordRequired,
            PasswordMismatch,
            PasswordTooShort,
            PasswordTooLong,
            InvalidType,
            TooLong,
            InvalidPhone,
            PhoneNotMobile,
            InvalidOtpFormat,
            WrongOtp,
            OtpAttemptsExhausted,
            OtpExpired,
            OtpNotFound,
            OtpNotVerified,
            LockedOut,
            MalformedJson,
            BodyUnreadable,
            UserNotFound,
            PayloadTooLarge,
            UnsupportedMediaType,
            RateLimited,
            Busy,
            ServerError,
            Timeout,
        ],
    ))
    .build()
}

/// `GET /api/forgot-password/bot-status`.
fn bot_status() -> utoipa::openapi::path::Operation {
    let mut description = String::from(
        "The state of the WhatsApp sender. Codes can be sent only when `ready` is true \
         (`status` is `READY`). The states:\n",
    );
    for state in SenderState::ALL {
        description.push_str(&format!("- `{}`: {}\n", state.as_str(), state.meaning()));
    }
    let ok = ok_response::<BotStatus>(
        &description,
        [
            (
                "ready",
                BotStatus {
                    success: true,
                    message: "Bot WhatsApp siap".into(),
                    status: SenderState::Ready,
                    ready: true,
                    attempt: None,
                    reason: None,
                    last_problem: None,
                    adapter_version: Some("2".into()),
                    service_version: Some("2.3000.1043140922".into()),
                },
            ),
            (
                "reconnecting",
                BotStatus {
                    success: true,
                    message: "Bot WhatsApp belum siap".into(),
                    status: SenderState::Reconnecting,
                    ready: false,
                    attempt: Some(2),
                    reason: None,
                    last_problem: Some(LastProblem {
                        status: SenderState::Reconnecting,
                        attempt: Some(2),
                        reason: None,
                        since: "2026-11-30T13:45:04.123Z".into(),
                    }),
                    adapter_version: Some("2".into()),
                    service_version: Some("2.3000.1043140922".into()),
                },
            ),
            (
                "failed",
                BotStatus {
                    success: true,
                    message: "Bot WhatsApp belum siap".into(),
                    status: SenderState::Failed,
                    ready: false,
                    attempt: None,
                    reason: Some("WhatsApp banned this account (TOS_BLOCK)".into()),
                    last_problem: Some(LastProblem {
                        status: SenderState::Failed,
                        attempt: None,
                        reason: Some("WhatsApp banned this account (TOS_BLOCK)".into()),
                        since: "2026-11-30T13:45:04.123Z".into(),
                    }),
                    adapter_version: Some("2".into()),
                    service_version: Some("2.3000.1043140922".into()),
                },
            ),
        ],
    );
    operation(
        TAG_FORGOT_PASSWORD,
        "botStatus",
        "State of the WhatsApp sender",
        "Tells whether the WhatsApp sender can deliver codes now.",
    )
    .responses(ResponsesBuilder::new().response("200", ok).build())
    .build()
}

/// `POST /api/auth/login`.
fn login() -> utoipa::openapi::path::Operation {
    use ErrorCode::*;
    let ok = ok_response::<LoginAnswer>(
        "The phone number and password match an account.",
        [(
            "signedIn",
            LoginAnswer {
                success: true,
                message: "Login berhasil".into(),
                data: SignedIn {
                    nama: "John Doe".into(),
                },
            },
        )],
    );
    operation(
        TAG_AUTH,
        "login",
        "Sign in",
        "Checks an account's phone number and password. An unknown number is answered as a \
         wrong password. After a few failed logins on an account, each further try from the \
         same client waits longer (`login_throttled`, without checking the password); after \
         many, from all clients together, every try on the account waits. Answers are never \
         cached (`Cache-Control: no-store`).",
    )
    .request_body(Some(json_body(
        "The account's phone number and password.",
        Login {
            no_hp: "081234567890".into(),
            password: "password123".into(),
        },
    )))
    .responses(responses(
        ok,
        &[
            PhoneRequired,
            PasswordRequired,
            InvalidType,
            InvalidPhone,
            MalformedJson,
            InvalidCredentials,
            PayloadTooLarge,
            UnsupportedMediaType,
            RateLimited,
            LoginThrottled,
            LoginBusy,
            Busy,
            ServerError,
            Timeout,
        ],
    ))
    .build()
}

/// `GET /healthz`.
fn health() -> utoipa::openapi::path::Operation {
    let ok = ok_response::<Health>(
        "The server is up.",
        [(
            "ok",
            Health {
                status: HealthStatus::Ok,
            },
        )],
    );
    OperationBuilder::new()
        .tag(TAG_OPERATIONS)
        .operation_id(Some("health"))
        .summary(Some("Liveness check"))
        .description(Some(
            "Answers 200 while the server runs, for load balancers and orchestrators.",
        ))
        .responses(ResponsesBuilder::new().response("200", ok).build())
        .build()
}

/// `GET /api/openapi.json`.
fn openapi_json() -> utoipa::openapi::path::Operation {
    let schema = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("An OpenAPI 3.1 document."))
        .property(
            "openapi",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The OpenAPI version."))
                .examples(["3.1.0"]),
        )
        .required("openapi")
        .property(
            "info",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some("The API's title, version and description.")),
        )
        .required("info")
        .property(
            "paths",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some("The routes.")),
        );
    let ok = ResponseBuilder::new()
        .description("This document.")
        .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
        .build();
    OperationBuilder::new()
        .tag(TAG_OPERATIONS)
        .operation_id(Some("openapiDocument"))
        .summary(Some("This OpenAPI document"))
        .description(Some(
            "The OpenAPI 3.1 description of the API, for generated clients and API testers.",
        ))
        .responses(ResponsesBuilder::new().response("200", ok).build())
        .build()
}

// ---------------------------------------------------------------------------------------------
// Building blocks

/// An operation of the JSON API, which answers in the language of its `Accept-Language` header.
fn operation(tag: &str, id: &str, summary: &str, description: &str) -> OperationBuilder {
    OperationBuilder::new()
        .tag(tag)
        .operation_id(Some(id))
        .summary(Some(summary))
        .description(Some(description))
        .parameter(
            ParameterBuilder::new()
                .name("Accept-Language")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The language of `message`: English when English ranks above Indonesian \
                     (`en`, `en-US`, …), Indonesian otherwise (the default).",
                ))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .example(Some(Value::from("en"))),
        )
}

/// A required JSON request body of schema `T`, with an example.
fn json_body<T: ToSchema + Serialize>(
    description: &str,
    example: T,
) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .description(Some(description))
        .required(Some(Required::True))
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(schema_ref::<T>()))
                .example(serde_json::to_value(example).ok())
                .build(),
        )
        .build()
}

/// A 200 answer of schema `T`, with named examples.
fn ok_response<T: ToSchema + Serialize>(
    description: &str,
    examples: impl IntoIterator<Item = (&'static str, T)>,
) -> utoipa::openapi::Response {
    let examples = examples.into_iter().map(|(name, value)| {
        (
            name,
            ExampleBuilder::new().value(serde_json::to_value(value).ok()),
        )
    });
    ResponseBuilder::new()
        .description(description)
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(schema_ref::<T>()))
                .examples_from_iter(examples)
                .build(),
        )
        .build()
}

/// A reference to the component schema of `T`.
fn schema_ref<T: ToSchema>() -> Ref {
    Ref::from_schema_name(T::name())
}

/// The responses of an operation: its 200 answer, and one failure answer per status its error
/// codes carry, each listing its codes.
fn responses(ok: utoipa::openapi::Response, codes: &[ErrorCode]) -> utoipa::openapi::Responses {
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for &code in codes {
        by_status.entry(code.status()).or_default().push(code);
    }
    let mut builder = ResponsesBuilder::new().response("200", ok);
    for (status, codes) in by_status {
        builder = builder.response(status.to_string(), failure_response(status, &codes));
    }
    builder.build()
}

/// A failure answer of one status: an `ErrorAnswer` with one of `codes`.
fn failure_response(status: u16, codes: &[ErrorCode]) -> utoipa::openapi::Response {
    let mut description = String::from(status_summary(status));
    description.push_str("\n\n`error` is one of:\n");
    for &code in codes {
        description.push_str(&code_line(code, false));
    }
    let examples = codes.iter().map(|&code| {
        (
            code.as_str(),
            ExampleBuilder::new()
                .summary(code.as_str())
                .value(serde_json::to_value(code.example()).ok()),
        )
    });
    let mut response = ResponseBuilder::new().description(description).content(
        JSON,
        ContentBuilder::new()
            .schema(Some(schema_ref::<ErrorAnswer>()))
            .examples_from_iter(examples)
            .build(),
    );
    if codes.iter().any(|code| code.spec().retry_after.is_some()) {
        let waits = codes
            .iter()
            .filter(|code| code.spec().retry_after.is_some())
            .map(|code| format!("`{}`", code.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                ))
                .description(Some(format!(
                    "Seconds to wait before trying again, the same as `retryAfter`; sent with \
                     {waits}."
                )))
                .example(Some(Value::from(60)))
                .build(),
        );
    }
    response.build()
}

/// What a failure status means, before the list of its codes.
fn status_summary(status: u16) -> &'static str {
    match status {
        400 => {
            "The request was refused: a field is missing, of the wrong type or invalid, or \
                the one-time code (or reset token) does not prove the phone."
        }
        401 => "The phone number and password do not match an account.",
        404 => "No account matches.",
        413 => "The body is larger than the server reads (16 KiB).",
        415 => "The body is not declared as JSON (`Content-Type: application/json`).",
        429 => {
            "Too many requests: wait `retryAfter` seconds (also sent as the `Retry-After` \
                header) before trying again."
        }
        503 => {
            "The server cannot serve the request now; try again later (after `retryAfter` \
                seconds when the answer carries it)."
        }
        _ => "The request failed.",
    }
}

/// One Markdown list item for an error code: the code, optionally its status, and its meaning.
fn code_line(code: ErrorCode, with_status: bool) -> String {
    let spec = code.spec();
    let mut extras = Vec::new();
    if spec.field.is_some() {
        extras.push("`field`");
    }
    if spec.attempts_left.is_some() {
        extras.push("`attemptsLeft`");
    }
    if spec.retry_after.is_some() {
        extras.push("`retryAfter`");
    }
    let extras = if extras.is_empty() {
        String::new()
    } else {
        format!(" (with {})", extras.join(", "))
    };
    if with_status {
        format!(
            "- `{}` ({}): {}{extras}\n",
            code.as_str(),
            code.status(),
            spec.meaning
        )
    } else {
        format!("- `{}`: {}{extras}\n", code.as_str(), spec.meaning)
    }
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/// The body of `POST /api/forgot-password/request-otp`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestOtp {
    /// The account holder's name, as registered (surrounding spaces are ignored).
    #[schema(examples("John Doe"), min_length = 1, max_length = 100)]
    nama: String,
    /// The account's phone number, typed any way: `081234567890`, `+62 812-3456-7890` and
    /// `6281234567890` are the same number. It must be a mobile number.
    #[schema(examples("081234567890"), min_length = 1, max_length = 32)]
    no_hp: String,
}

/// The body of `POST /api/forgot-password/verify-otp`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerifyOtp {
    /// The phone number the code was sent to, typed any way (as in request-otp).
    #[schema(examples("081234567890"), min_length = 1, max_length = 32)]
    no_hp: String,
    /// The 6-digit code received by WhatsApp.
    #[schema(examples("123456"), pattern = "^[0-9]{6}$")]
    otp: String,
}

/// The body of `POST /api/forgot-password/reset-password`.
///
/// One of `resetToken` and `otp` is required; when both are sent, `resetToken` is used.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResetPassword {
    /// The phone number the code was sent to, typed any way (as in request-otp).
    #[schema(examples("081234567890"), min_length = 1, max_length = 32)]
    no_hp: String,
    /// The 6-digit code, when no `resetToken` is sent (it must have been verified with
    /// verify-otp first).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples("123456"), pattern = "^[0-9]{6}$")]
    otp: Option<String>,
    /// The single-use token from verify-otp's `data.resetToken`; wins over `otp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        examples("q3Zr8v0N4kXyJbLmTt2WcA9sHfGpE1uDiO7nR5lVx6Y"),
        max_length = 128
    )]
    reset_token: Option<String>,
    /// The new password: 6 to 256 characters, kept exactly as typed (spaces count).
    #[schema(examples("rahasiaBaru123"), min_length = 6, max_length = 256)]
    new_password: String,
    /// The new password again; it must equal `newPassword`.
    #[schema(examples("rahasiaBaru123"), min_length = 6, max_length = 256)]
    confirm_password: String,
}

/// The body of `POST /api/auth/login`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Login {
    /// The account's phone number, typed any way (as in request-otp).
    #[schema(examples("081234567890"), min_length = 1, max_length = 32)]
    no_hp: String,
    /// The account's password.
    #[schema(examples("password123"), min_length = 1)]
    password: String,
}

// ---------------------------------------------------------------------------------------------
// Answers

/// A success answer with nothing more than its message.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Answer {
    /// Always `true` in a success answer.
    #[schema(examples(true))]
    success: bool,
    /// What happened, for a person: Indonesian, or English for `Accept-Language: en`.
    #[schema(examples("Password berhasil diubah, silakan login"))]
    message: String,
}

/// The answer of request-otp.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestOtpAnswer {
    /// Always `true` in a success answer.
    #[schema(examples(true))]
    success: bool,
    /// What happened, for a person: Indonesian, or English for `Accept-Language: en`.
    #[schema(examples("OTP dikirim ke WhatsApp"))]
    message: String,
    /// The phone number the code is sent to, normalised: E.164 digits without the `+`.
    #[schema(examples("6281234567890"), pattern = "^[1-9][0-9]{6,14}$")]
    phone_number: String,
    /// The code itself, only when the server runs with its development switch on (never in
    /// production), and only for a name and phone pair that matches an account.
    #[serde(rename = "testOTP", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples("123456"), pattern = "^[0-9]{6}$")]
    test_otp: Option<String>,
}

/// The answer of verify-otp.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerifyOtpAnswer {
    /// Always `true` in a success answer.
    #[schema(examples(true))]
    success: bool,
    /// What happened, for a person: Indonesian, or English for `Accept-Language: en`.
    #[schema(examples("OTP berhasil diverifikasi"))]
    message: String,
    /// The verified code's id and the reset token.
    data: VerifiedCode,
}

/// What verify-otp hands back for the reset.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerifiedCode {
    /// The id of the verified code: a positive integer below 2^53, safe as a JavaScript number.
    #[schema(
        examples(4503599627370497_u64),
        minimum = 1,
        maximum = 9007199254740991_u64
    )]
    otp_id: u64,
    /// A single-use token (43 characters of base64url) that proves the phone to
    /// reset-password, where it is spent; it lasts as long as the code would have.
    #[schema(
        examples("q3Zr8v0N4kXyJbLmTt2WcA9sHfGpE1uDiO7nR5lVx6Y"),
        min_length = 43,
        max_length = 43,
        pattern = "^[A-Za-z0-9_-]{43}$"
    )]
    reset_token: String,
}

impl VerifiedCode {
    /// The example used throughout the document.
    fn example() -> Self {
        Self {
            otp_id: 4_503_599_627_370_497,
            reset_token: "q3Zr8v0N4kXyJbLmTt2WcA9sHfGpE1uDiO7nR5lVx6Y".into(),
        }
    }
}

/// The answer of bot-status.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BotStatus {
    /// Always `true`: the state is known even when the sender is not ready.
    #[schema(examples(true))]
    success: bool,
    /// Whether the bot is ready, for a person: Indonesian, or English for
    /// `Accept-Language: en`.
    #[schema(examples("Bot WhatsApp siap"))]
    message: String,
    // Described by `SenderState`'s own doc: utoipa wraps an inlined field that has a doc comment
    // in an `allOf` with an `object`, which no string matches.
    #[schema(inline)]
    status: SenderState,
    /// Whether codes can be sent now (the state is `READY`).
    #[schema(examples(true))]
    ready: bool,
    /// With `RECONNECTING`: which reconnection attempt this is, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples(2), minimum = 1)]
    attempt: Option<u32>,
    /// With `FAILED`: why the sender gave up.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples("WhatsApp banned this account (TOS_BLOCK)"))]
    reason: Option<String>,
    /// The last state that explained a problem (`DISCONNECTED`, `LOGGED_OUT`, `CONFLICT`,
    /// `RECONNECTING`, `FAILED`) and when it began, kept until the next one: a logout lasts
    /// moments before a new QR code shows, and this still says why one appeared.
    #[serde(rename = "lastProblem", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    last_problem: Option<LastProblem>,
    /// The version of the sender's WhatsApp Web adapter (`+custom` or the folder's `VERSION`
    /// when `WHATSAPP_ADAPTER_DIR` replaced scripts).
    #[serde(rename = "adapterVersion", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples("2"))]
    adapter_version: Option<String>,
    /// The WhatsApp Web version the sender found, once the page loaded.
    #[serde(rename = "serviceVersion", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples("2.3000.1043140922"))]
    service_version: Option<String>,
}

/// A state that explained a problem, and when it began.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LastProblem {
    #[schema(inline)]
    status: SenderState,
    /// With `RECONNECTING`: which attempt it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples(1), minimum = 1)]
    attempt: Option<u32>,
    /// With `FAILED`: why the sender gave up.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reason: Option<String>,
    /// When the state began (RFC 3339, UTC).
    #[schema(examples("2026-11-30T13:45:04.123Z"))]
    since: String,
}

/// The state of the WhatsApp sender (see the bot-status description).
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(examples("READY"))]
pub(crate) enum SenderState {
    /// Not started.
    Uninitialized,
    /// Starting.
    Initializing,
    /// Waiting for the operator to scan the pairing QR code.
    WaitingForQr,
    /// Logging in.
    Authenticating,
    /// Logged in, not yet ready.
    Authenticated,
    /// Ready to send.
    Ready,
    /// The connection dropped.
    Disconnected,
    /// Logged out of WhatsApp.
    LoggedOut,
    /// The session was taken over elsewhere.
    Conflict,
    /// Reconnecting after a drop.
    Reconnecting,
    /// Gave up.
    Failed,
}

impl SenderState {
    /// Every state, in lifecycle order.
    pub(crate) const ALL: [Self; 11] = [
        Self::Uninitialized,
        Self::Initializing,
        Self::WaitingForQr,
        Self::Authenticating,
        Self::Authenticated,
        Self::Ready,
        Self::Disconnected,
        Self::LoggedOut,
        Self::Conflict,
        Self::Reconnecting,
        Self::Failed,
    ];

    /// The state as it appears in `status`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Uninitialized => "UNINITIALIZED",
            Self::Initializing => "INITIALIZING",
            Self::WaitingForQr => "WAITING_FOR_QR",
            Self::Authenticating => "AUTHENTICATING",
            Self::Authenticated => "AUTHENTICATED",
            Self::Ready => "READY",
            Self::Disconnected => "DISCONNECTED",
            Self::LoggedOut => "LOGGED_OUT",
            Self::Conflict => "CONFLICT",
            Self::Reconnecting => "RECONNECTING",
            Self::Failed => "FAILED",
        }
    }

    /// What the state means, for the bot-status description.
    fn meaning(self) -> &'static str {
        match self {
            Self::Uninitialized => "the sender has not started",
            Self::Initializing => "the sender is starting",
            Self::WaitingForQr => "waiting for the operator to scan the pairing QR code",
            Self::Authenticating => "logging in to WhatsApp",
            Self::Authenticated => "logged in, not yet ready to send",
            Self::Ready => "ready to send codes",
            Self::Disconnected => "the connection to WhatsApp dropped",
            Self::LoggedOut => "the WhatsApp session was logged out; it must be paired again",
            Self::Conflict => "the WhatsApp session is open elsewhere",
            Self::Reconnecting => "reconnecting after a drop; `attempt` counts the tries",
            Self::Failed => "the sender gave up; `reason` says why",
        }
    }
}

/// The answer of login.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LoginAnswer {
    /// Always `true` in a success answer.
    #[schema(examples(true))]
    success: bool,
    /// What happened, for a person: Indonesian, or English for `Accept-Language: en`.
    #[schema(examples("Login berhasil"))]
    message: String,
    /// The signed-in account.
    data: SignedIn,
}

/// The account a login signed in to.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SignedIn {
    /// The account holder's name.
    #[schema(examples("John Doe"))]
    nama: String,
}

/// The answer of the liveness check.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    // Described by `HealthStatus`'s own doc (see `BotStatus::status`).
    #[schema(inline)]
    status: HealthStatus,
}

/// The liveness status: always `ok`.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(examples("ok"))]
pub(crate) enum HealthStatus {
    /// The server is up.
    Ok,
}

/// A failure answer (`success: false`), with any status from 400 up.
///
/// `error` tells what failed; `message` says it for a person. `field` names the offending field
/// (with `invalid_type` and `too_long`), `attemptsLeft` counts the code guesses left (with
/// `wrong_otp` and `otp_attempts_exhausted`), and `retryAfter` gives the seconds to wait (with
/// the 429 codes and `sender_unavailable` and `busy`; the `Retry-After` header carries the
/// same value).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorAnswer {
    /// Always `false` in a failure answer.
    #[schema(examples(false))]
    success: bool,
    /// What failed, for a person: Indonesian, or English for `Accept-Language: en`.
    #[schema(examples("OTP salah. Sisa percobaan: 2"))]
    message: String,
    // Described by `ErrorCode`'s own doc (see `BotStatus::status`).
    #[schema(inline)]
    error: ErrorCode,
    /// The offending field of the request body (with `invalid_type` and `too_long`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples("noHp"))]
    field: Option<String>,
    /// How many guesses the current code still allows (with `wrong_otp`, and 0 with
    /// `otp_attempts_exhausted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples(2))]
    attempts_left: Option<u32>,
    /// Seconds to wait before trying again, as the `Retry-After` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples(60), minimum = 1)]
    retry_after: Option<u64>,
}

/// What failed, as a machine-readable code; each response lists the codes it can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(examples("wrong_otp"))]
pub(crate) enum ErrorCode {
    /// `nama` is missing or blank.
    NameRequired,
    /// `noHp` is missing or blank.
    PhoneRequired,
    /// `otp` is missing or blank (and no `resetToken` was sent).
    OtpRequired,
    /// `newPassword` is missing or empty.
    NewPasswordRequired,
    /// `confirmPassword` is missing or empty.
    ConfirmPasswordRequired,
    /// `password` is missing or empty.
    PasswordRequired,
    /// A field is not a string.
    InvalidType,
    /// A field is longer than allowed.
    TooLong,
    /// `noHp` is not a phone number.
    InvalidPhone,
    /// `noHp` is not a mobile number.
    PhoneNotMobile,
    /// `otp` is not 6 digits.
    InvalidOtpFormat,
    /// The code or reset token is wrong.
    WrongOtp,
    /// The code has no guesses left.
    OtpAttemptsExhausted,
    /// The code has expired.
    OtpExpired,
    /// The phone has no live code.
    OtpNotFound,
    /// The code was not verified first.
    OtpNotVerified,
    /// The passwords differ.
    PasswordMismatch,
    /// The new password is too short.
    PasswordTooShort,
    /// The new password is too long.
    PasswordTooLong,
    /// The body is not a JSON object.
    MalformedJson,
    /// The body could not be read.
    BodyUnreadable,
    /// No such account.
    UserNotFound,
    /// Wrong phone number or password.
    InvalidCredentials,
    /// No such route.
    NotFound,
    /// The route does not take this method.
    MethodNotAllowed,
    /// The body is too large.
    PayloadTooLarge,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// A code is already live for the phone.
    Cooldown,
    /// Too many codes for the phone lately.
    SendCap,
    /// Too many wrong guesses for the phone lately.
    LockedOut,
    /// Too many requests from the client.
    RateLimited,
    /// Too many failed logins on the account lately.
    LoginThrottled,
    /// The client already has as many logins under way as it may.
    LoginBusy,
    /// The WhatsApp sender is not ready.
    SenderUnavailable,
    /// The server is at capacity.
    Busy,
    /// The server failed.
    ServerError,
    /// The request took too long.
    Timeout,
}

/// What the document says about one error code.
#[derive(Debug)]
struct CodeSpec {
    /// The status that carries the code.
    status: u16,
    /// What the code means, for descriptions.
    meaning: &'static str,
    /// The Indonesian message of the example answer.
    message: &'static str,
    /// The example's `field`, for codes that carry one.
    field: Option<&'static str>,
    /// The example's `attemptsLeft`, for codes that carry one.
    attempts_left: Option<u32>,
    /// The example's `retryAfter`, for codes that carry one.
    retry_after: Option<u64>,
}

impl CodeSpec {
    /// A code of `status` that carries nothing but its message.
    const fn plain(status: u16, meaning: &'static str, message: &'static str) -> Self {
        Self {
            status,
            meaning,
            message,
            field: None,
            attempts_left: None,
            retry_after: None,
        }
    }
}

impl ErrorCode {
    /// Every code, in the order the `ErrorAnswer` description lists them.
    pub(crate) const ALL: [Self; 37] = [
        Self::NameRequired,
        Self::PhoneRequired,
        Self::OtpRequired,
        Self::NewPasswordRequired,
        Self::ConfirmPasswordRequired,
        Self::PasswordRequired,
        Self::InvalidType,
        Self::TooLong,
        Self::InvalidPhone,
        Self::PhoneNotMobile,
        Self::InvalidOtpFormat,
        Self::WrongOtp,
        Self::OtpAttemptsExhausted,
        Self::OtpExpired,
        Self::OtpNotFound,
        Self::OtpNotVerified,
        Self::PasswordMismatch,
        Self::PasswordTooShort,
        Self::PasswordTooLong,
        Self::MalformedJson,
        Self::BodyUnreadable,
        Self::InvalidCredentials,
        Self::UserNotFound,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Cooldown,
        Self::SendCap,
        Self::LockedOut,
        Self::RateLimited,
        Self::LoginThrottled,
        Self::LoginBusy,
        Self::SenderUnavailable,
        Self::Busy,
        Self::ServerError,
        Self::Timeout,
    ];

    /// The code as it appears in `error`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::NameRequired => "name_required",
            Self::PhoneRequired => "phone_required",
            Self::OtpRequired => "otp_required",
            Self::NewPasswordRequired => "new_password_required",
            Self::ConfirmPasswordRequired => "confirm_password_required",
            Self::PasswordRequired => "password_required",
            Self::InvalidType => "invalid_type",
            Self::TooLong => "too_long",
            Self::InvalidPhone => "invalid_phone",
            Self::PhoneNotMobile => "phone_not_mobile",
            Self::InvalidOtpFormat => "invalid_otp_format",
            Self::WrongOtp => "wrong_otp",
            Self::OtpAttemptsExhausted => "otp_attempts_exhausted",
            Self::OtpExpired => "otp_expired",
            Self::OtpNotFound => "otp_not_found",
            Self::OtpNotVerified => "otp_not_verified",
            Self::PasswordMismatch => "password_mismatch",
            Self::PasswordTooShort => "password_too_short",
            Self::PasswordTooLong => "password_too_long",
            Self::MalformedJson => "malformed_json",
            Self::BodyUnreadable => "body_unreadable",
            Self::UserNotFound => "user_not_found",
            Self::InvalidCredentials => "invalid_credentials",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Cooldown => "cooldown",
            Self::SendCap => "send_cap",
            Self::LockedOut => "locked_out",
            Self::RateLimited => "rate_limited",
            Self::LoginThrottled => "login_throttled",
            Self::LoginBusy => "login_busy",
            Self::SenderUnavailable => "sender_unavailable",
            Self::Busy => "busy",
            Self::ServerError => "server_error",
            Self::Timeout => "timeout",
        }
    }

    /// The status that carries the code.
    pub(crate) fn status(self) -> u16 {
        self.spec().status
    }

    /// What the document says about the code.
    fn spec(self) -> CodeSpec {
        let plain = CodeSpec::plain;
        match self {
            Self::NameRequired => {
                plain(400, "`nama` is missing, null or blank.", "Nama harus diisi")
            }
            Self::PhoneRequired => {
                plain(400, "`noHp` is missing, null or blank.", "NoHp harus diisi")
            }
            Self::OtpRequired => plain(
                400,
                "`otp` is missing, null or blank (and, in reset-password, no `resetToken` was \
                 sent).",
                "OTP harus diisi",
            ),
            Self::NewPasswordRequired => plain(
                400,
                "`newPassword` is missing, null or empty.",
                "Password baru harus diisi",
            ),
            Self::ConfirmPasswordRequired => plain(
                400,
                "`confirmPassword` is missing, null or empty.",
                "Konfirmasi password harus diisi",
            ),
            Self::PasswordRequired => plain(
                400,
                "`password` is missing, null or empty.",
                "Password harus diisi",
            ),
            Self::InvalidType => CodeSpec {
                field: Some("noHp"),
                ..plain(
                    400,
                    "A field is not a string; `field` names it.",
                    "noHp harus berupa teks",
                )
            },
            Self::TooLong => CodeSpec {
                field: Some("nama"),
                ..plain(
                    400,
                    "A field is longer than allowed (`nama` 100 characters, `noHp` and `otp` 32, \
                     `resetToken` 128); `field` names it.",
                    "nama terlalu panjang (maksimal 100 karakter)",
                )
            },
            Self::InvalidPhone => plain(
                400,
                "`noHp` is not a phone number.",
                "Nomor HP tidak valid. Contoh: 081234567890",
            ),
            Self::PhoneNotMobile => plain(
                400,
                "`noHp` is a phone number, but not a mobile one (WhatsApp needs a mobile number).",
                "Nomor HP harus nomor seluler yang terhubung ke WhatsApp",
            ),
            Self::InvalidOtpFormat => plain(
                400,
                "`otp` is not 6 digits (a typo is not counted as a guess).",
                "OTP harus 6 digit angka",
            ),
            Self::WrongOtp => CodeSpec {
                attempts_left: Some(2),
                ..plain(
                    400,
                    "The code (or reset token) is wrong; `attemptsLeft` says how many guesses \
                     the code still allows.",
                    "OTP salah. Sisa percobaan: 2",
                )
            },
            Self::OtpAttemptsExhausted => CodeSpec {
                attempts_left: Some(0),
                ..plain(
                    400,
                    "The code has no guesses left (`attemptsLeft` is 0); request a new one.",
                    "Percobaan OTP sudah habis. Silakan minta OTP baru.",
                )
            },
            Self::OtpExpired => plain(
                400,
                "The code has expired (codes last 15 minutes by default); request a new one.",
                "OTP sudah kedaluwarsa. Silakan minta OTP baru.",
            ),
            Self::OtpNotFound => plain(
                400,
                "The phone has no live code (none was requested, or it was spent); request a \
                 new one.",
                "OTP tidak ditemukan. Silakan minta OTP baru.",
            ),
            Self::OtpNotVerified => plain(
                400,
                "The code was sent without being verified with verify-otp first.",
                "OTP belum diverifikasi",
            ),
            Self::PasswordMismatch => plain(
                400,
                "`newPassword` and `confirmPassword` differ.",
                "Password dan konfirmasi password tidak sama",
            ),
            Self::PasswordTooShort => plain(
                400,
                "`newPassword` has fewer than 6 characters.",
                "Password minimal 6 karakter",
            ),
            Self::PasswordTooLong => plain(
                400,
                "`newPassword` has more than 256 characters.",
                "Password maksimal 256 karakter",
            ),
            Self::MalformedJson => plain(
                400,
                "The body is not a JSON object.",
                "Body harus berupa objek JSON yang valid",
            ),
            Self::BodyUnreadable => plain(
                400,
                "The body could not be read (the connection failed mid-body).",
                "Body permintaan tidak dapat dibaca",
            ),
            Self::UserNotFound => plain(
                404,
                "No account matches. request-otp answers it only when the server is set to \
                 reveal unknown users (by default an unknown name and phone pair gets the same \
                 200 as a known one); reset-password answers it when the account went away \
                 before its password could be changed.",
                "User tidak ditemukan",
            ),
            Self::InvalidCredentials => plain(
                401,
                "The phone number and password do not match an account.",
                "NoHp atau password salah",
            ),
            Self::NotFound => plain(404, "No route has this path.", "Endpoint tidak ditemukan"),
            Self::MethodNotAllowed => plain(
                405,
                "The route does not take this HTTP method; the `Allow` header names the one it \
                 takes.",
                "Metode HTTP tidak diizinkan untuk endpoint ini",
            ),
            Self::PayloadTooLarge => plain(
                413,
                "The body is larger than the server reads (16 KiB).",
                "Body terlalu besar (maksimal 16384 byte)",
            ),
            Self::UnsupportedMediaType => plain(
                415,
                "The `Content-Type` is not `application/json` (or another `+json` type).",
                "Content-Type harus application/json",
            ),
            Self::Cooldown => CodeSpec {
                retry_after: Some(60),
                ..plain(
                    429,
                    "The phone got a code moments ago and must wait before the next (60 seconds by \
                     default).",
                    "Sudah ada OTP aktif. Tunggu 60 detik sebelum meminta OTP baru.",
                )
            },
            Self::SendCap => CodeSpec {
                retry_after: Some(2520),
                ..plain(
                    429,
                    "The phone was sent as many codes as allowed per hour (5 by default).",
                    "Terlalu banyak permintaan OTP untuk nomor ini. Coba lagi dalam 42 menit.",
                )
            },
            Self::LockedOut => CodeSpec {
                retry_after: Some(900),
                ..plain(
                    429,
                    "The phone is locked out after too many wrong guesses in a row from any \
                     clients (50 by default): no guess and no new code until it ends; a reset \
                     token already handed out is still taken.",
                    "Terlalu banyak percobaan OTP yang salah. Coba lagi dalam 15 menit.",
                )
            },
            Self::LoginThrottled => CodeSpec {
                retry_after: Some(2),
                ..plain(
                    429,
                    "Too many failed logins on the account lately: from this client (5 by default), \
                     or from all clients together (100 by default). Each further failure doubles \
                     the wait, from 1 second up to 15 minutes; the password is not checked \
                     meanwhile. A good login from this client starts its own count over.",
                    "Terlalu banyak percobaan login yang gagal. Coba lagi dalam 2 detik.",
                )
            },
            Self::LoginBusy => CodeSpec {
                retry_after: Some(1),
                ..plain(
                    429,
                    "The client already has as many logins being checked as it may (2 by default).",
                    "Login lain dari alamat Anda masih diperiksa. Coba lagi sebentar lagi.",
                )
            },
            Self::RateLimited => CodeSpec {
                retry_after: Some(30),
                ..plain(
                    429,
                    "The client sent too many requests.",
                    "Terlalu banyak permintaan. Coba lagi dalam 30 detik.",
                )
            },
            Self::SenderUnavailable => CodeSpec {
                retry_after: Some(30),
                ..plain(
                    503,
                    "The WhatsApp sender is not ready (see bot-status), so no code can be sent.",
                    "Layanan WhatsApp sedang tidak tersedia. Silakan coba lagi beberapa saat lagi.",
                )
            },
            Self::Busy => CodeSpec {
                retry_after: Some(5),
                ..plain(
                    503,
                    "The server is at capacity: the send queue or password hashing is full, or \
                     the site-wide limit on code requests (300 a minute by default) or on codes \
                     sent (60 an hour by default) is reached. Every name and phone pair gets \
                     this alike.",
                    "Server sedang sibuk. Silakan coba lagi sebentar lagi.",
                )
            },
            Self::ServerError => plain(
                503,
                "The server failed (its store did not answer); try again later.",
                "Terjadi gangguan pada server. Silakan coba lagi nanti.",
            ),
            Self::Timeout => plain(
                503,
                "The request took longer than the server allows; try again (a password reset \
                 already under way still completes).",
                "Permintaan terlalu lama diproses. Silakan coba lagi.",
            ),
        }
    }

    /// An example answer carrying the code.
    fn example(self) -> ErrorAnswer {
        let spec = self.spec();
        ErrorAnswer {
            success: false,
            message: spec.message.into(),
            error: self,
            field: spec.field.map(Into::into),
            attempts_left: spec.attempts_left,
            retry_after: spec.retry_after,
        }
    }
}
