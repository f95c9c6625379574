//! The service's routes as an OpenAPI 3.1 document (feature `openapi`), with the policy's real
//! values: [`ForgotPassword::openapi`].
//!
//! Every failure status a route can answer lists the `error` codes that carry it, generated
//! from [`ErrorCode::ALL`], each with an example answer built as the service builds it. An app
//! that mounts the service merges the document with its own routes'; [`add_failure`] and
//! [`accept_language`] describe an app's own answers in the same shape.
//!
//! ```
//! use otp_reset::{ConsoleSender, ForgotPassword, MemoryOtpStore, MemoryUserStore, Policy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = Policy::builder().with_code_length(8).build()?;
//! let service = ForgotPassword::builder(MemoryUserStore::new(), MemoryOtpStore::new(), ConsoleSender::new())
//!     .with_policy(policy)
//!     .build()?;
//! let document = service.openapi("/api/forgot-password");
//! let json = document.to_json()?;
//! assert!(json.contains("/api/forgot-password/verify-otp"));
//! assert!(json.contains("^[0-9]{8}$"));
//! # Ok(())
//! # }
//! ```

mod codes;
mod routes;
mod schemas;

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::info::{InfoBuilder, LicenseBuilder};
use utoipa::openapi::path::{HttpMethod, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ContentBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required, Responses,
};

use crate::service::Route;
use crate::wire::{AnswerCode, ErrorCode, Failure};
use crate::{ForgotPassword, OtpStore, Policy, UserStore};

/// The media type of every body, asked and answered.
const JSON: &str = "application/json";

/// The tag of the service's routes.
pub const TAG: &str = "forgot-password";

/// The name of the failure answer's schema, under `#/components/schemas/`.
pub const ERROR_ANSWER: &str = "ErrorAnswer";

impl<U: UserStore, O: OtpStore> ForgotPassword<U, O> {
    /// The service's five routes, mounted at `prefix` (such as `/api/forgot-password`), as an
    /// OpenAPI 3.1 document: the policy's code length and lifetime, attempts, limits and
    /// password rules, the body limit, every error code each route can answer with its status,
    /// the sender states, and the messages (see the [module docs](crate::openapi)).
    pub fn openapi(&self, prefix: &str) -> OpenApi {
        let contract = Contract {
            policy: self.policy(),
            max_body_bytes: self.max_body_bytes(),
        };
        document(&contract, prefix)
    }
}

/// What the document describes: the policy and the service's settings.
#[derive(Debug)]
struct Contract<'a> {
    policy: &'a Policy,
    max_body_bytes: usize,
}

/// The route's method, as the document names it.
fn http_method(route: Route) -> HttpMethod {
    if route.method() == http::Method::GET {
        HttpMethod::Get
    } else {
        HttpMethod::Post
    }
}

fn document(contract: &Contract<'_>, prefix: &str) -> OpenApi {
    let prefix = prefix.trim_end_matches('/');
    let mut paths = PathsBuilder::new();
    for route in Route::ALL {
        let mut operation = routes::operation(route, contract);
        for &code in ErrorCode::ALL {
            if codes::routes(code, contract).contains(&route) {
                let example = codes::example(code, contract);
                add_failure(
                    &mut operation.responses,
                    &codes::meaning(code, contract),
                    &example,
                );
            }
        }
        let path = format!("{prefix}{}", route.path());
        paths = paths.path(path, PathItem::new(http_method(route), operation));
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("otp-reset: forgot-password by a one-time code")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(routes::overview(contract, prefix)))
                .license(Some(
                    LicenseBuilder::new()
                        .name("MIT OR Apache-2.0")
                        .identifier(Some("MIT OR Apache-2.0"))
                        .build(),
                )),
        )
        .tags(Some([TagBuilder::new()
            .name(TAG)
            .description(Some(
                "Resetting a forgotten password with a one-time code: request a code, verify \
                 it, then set the new password.",
            ))
            .build()]))
        .paths(paths)
        .components(Some(schemas::components(contract)))
        .build()
}

/// Adds `example`'s code to `responses`: under the code's status, a line with `meaning` in the
/// response's description and the example by the code's name; the response is made (an
/// [`ERROR_ANSWER`]) if the status had none. A code with `retryAfter` adds the `Retry-After`
/// header.
///
/// ```
/// use otp_reset::ErrorCode;
/// use otp_reset::wire::Failure;
/// use utoipa::openapi::Responses;
///
/// let mut responses = Responses::new();
/// let busy = Failure::new(ErrorCode::Busy, "Server sedang sibuk.").with_retry_after(5);
/// otp_reset::openapi::add_failure(&mut responses, "The server is at capacity.", &busy);
/// assert!(responses.responses.contains_key("503"));
/// ```
pub fn add_failure<C: AnswerCode + Serialize>(
    responses: &mut Responses,
    meaning: &str,
    example: &Failure<C>,
) {
    let code = example.error.as_str();
    let status = example.status();
    let entry = responses
        .responses
        .entry(status.as_str().to_owned())
        .or_insert_with(|| {
            let summary = status.canonical_reason().unwrap_or("Failure");
            let description = format!("{summary}. `error` is one of:\n");
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ERROR_ANSWER)))
                .build();
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(JSON, content)
                    .build(),
            )
        });
    let RefOr::T(response) = entry else {
        return;
    };
    response
        .description
        .push_str(&format!("- `{code}`: {meaning}\n"));
    if let Some(RefOr::T(content)) = response.content.get_mut(JSON) {
        let value = serde_json::to_value(example).ok();
        let example = ExampleBuilder::new().summary(code).value(value).build();
        content.examples.insert(code.to_owned(), RefOr::T(example));
    }
    if example.retry_after.is_some() {
        let header = response
            .headers
            .entry("Retry-After".to_owned())
            .or_insert_with(|| {
                RefOr::T(
                    HeaderBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::Integer)
                                .minimum(Some(1)),
                        ))
                        .description(Some(
                            "Seconds to wait before trying again, as `retryAfter`. Sent with:",
                        ))
                        .build(),
                )
            });
        if let RefOr::T(header) = header {
            let text = header.description.get_or_insert_with(String::new);
            let separator = if text.ends_with(':') { " " } else { ", " };
            text.push_str(&format!("{separator}`{code}`"));
        }
    }
}

/// The `Accept-Language` header parameter every route of the service takes: the language of
/// `message`.
pub fn accept_language() -> Parameter {
    ParameterBuilder::new()
        .name("Accept-Language")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "The language of `message`: English when English ranks above Indonesian (`en`, \
             `en-US`, …), Indonesian otherwise (the default).",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .example(Some(Value::from("en")))
        .build()
}

/// A period after "per": `minute`, `hour`, or a length such as `90 seconds`.
fn per(duration: Duration) -> String {
    match span(duration).strip_prefix("1 ") {
        Some(unit) => unit.to_owned(),
        None => span(duration),
    }
}

/// A length of time for a person: seconds, minutes, hours or days, whichever is whole.
fn span(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let unit = |count: u64, one: &str| {
        if count == 1 {
            format!("1 {one}")
        } else {
            format!("{count} {one}s")
        }
    };
    match seconds {
        s if s >= 86_400 && s % 86_400 == 0 => unit(s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => unit(s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => unit(s / 60, "minute"),
        s => unit(s, "second"),
    }
}
