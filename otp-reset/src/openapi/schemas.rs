//! The schemas the routes refer to: the request bodies and the answers, with the policy's
//! values.

use utoipa::openapi::schema::{ComponentsBuilder, Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Components, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::{Contract, ERROR_ANSWER, Route, codes, routes};
use crate::service::{
    MAX_CODE_CHARS, MAX_NAME_CHARS, MAX_PHONE_CHARS, MAX_REQUEST_ID_CHARS, MAX_TOKEN_CHARS,
};
use crate::wire::{
    BotStatusAnswer, DeliveryStatusAnswer, ErrorCode, LastProblem, RequestOtpAnswer,
    ResetPasswordAnswer, VerifiedCode, VerifyOtpAnswer,
};

/// The name of `route`'s request body schema.
pub(super) fn request_name(route: Route) -> &'static str {
    match route {
        Route::RequestOtp => "RequestOtp",
        Route::VerifyOtp => "VerifyOtp",
        Route::ResetPassword => "ResetPassword",
        Route::DeliveryStatus => "DeliveryStatus",
        Route::BotStatus => "BotStatus",
    }
}

pub(super) fn components(contract: &Contract<'_>) -> Components {
    let policy = contract.policy;
    let code_pattern = format!("^[0-9]{{{}}}$", policy.code_length());
    let text = |description: &str, max: usize| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .min_length(Some(1))
            .max_length(Some(max))
    };
    let phone = || {
        text(
            "The account's phone number, typed any way: `081234567890`, `+62 812-3456-7890` and \
             `6281234567890` are the same number. It must be a mobile number.",
            MAX_PHONE_CHARS,
        )
    };
    let otp = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!(
                "The {}-digit code received.",
                policy.code_length()
            )))
            .max_length(Some(MAX_CODE_CHARS))
            .pattern(Some(code_pattern.clone()))
    };
    let password = |description: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!(
                "{description} {} to {} characters, kept exactly as typed (spaces count).",
                policy.min_password_chars(),
                policy.max_password_chars()
            )))
            .min_length(Some(policy.min_password_chars()))
            .max_length(Some(policy.max_password_chars()))
    };
    let request_otp = ObjectBuilder::new()
        .description(Some("The body of request-otp."))
        .property(
            "nama",
            text(
                "The account holder's name, as registered (surrounding spaces are ignored).",
                MAX_NAME_CHARS,
            ),
        )
        .required("nama")
        .property("noHp", phone())
        .required("noHp");
    let verify_otp = ObjectBuilder::new()
        .description(Some("The body of verify-otp."))
        .property("noHp", phone())
        .required("noHp")
        .property("otp", otp())
        .required("otp");
    let reset_password = ObjectBuilder::new()
        .description(Some(
            "The body of reset-password. One of `resetToken` and `otp` is required; when both \
             are sent, `resetToken` is used.",
        ))
        .property("noHp", phone())
        .required("noHp")
        .property("otp", otp())
        .property(
            "resetToken",
            text(
                "The single-use token from verify-otp's `data.resetToken`.",
                MAX_TOKEN_CHARS,
            ),
        )
        .property("newPassword", password("The new password:"))
        .required("newPassword")
        .property("confirmPassword", password("The new password again:"))
        .required("confirmPassword");
    let delivery_status = ObjectBuilder::new()
        .description(Some("The body of delivery-status."))
        .property(
            "requestId",
            text(
                "The `requestId` of a request-otp answer.",
                MAX_REQUEST_ID_CHARS,
            ),
        )
        .required("requestId");

    let mut request_answer = RequestOtpAnswer::schema();
    patch(&mut request_answer, "testOTP", |o| {
        o.pattern = Some(code_pattern.clone());
    });
    let states: Vec<serde_json::Value> = routes::sender_states()
        .iter()
        .map(|(state, _)| state.as_str().into())
        .collect();
    let mut bot_status = BotStatusAnswer::schema();
    patch(&mut bot_status, "status", |o| {
        o.enum_values = Some(states.clone());
    });
    let mut last_problem = LastProblem::schema();
    patch(&mut last_problem, "status", |o| {
        o.enum_values = Some(states.clone());
    });

    ComponentsBuilder::new()
        .schema(request_name(Route::RequestOtp), request_otp)
        .schema(request_name(Route::VerifyOtp), verify_otp)
        .schema(request_name(Route::ResetPassword), reset_password)
        .schema(request_name(Route::DeliveryStatus), delivery_status)
        .schema(RequestOtpAnswer::name(), request_answer)
        .schema_from::<VerifyOtpAnswer>()
        .schema_from::<VerifiedCode>()
        .schema_from::<ResetPasswordAnswer>()
        .schema_from::<DeliveryStatusAnswer>()
        .schema(BotStatusAnswer::name(), bot_status)
        .schema(LastProblem::name(), last_problem)
        .schema(ERROR_ANSWER, error_answer(contract))
        .build()
}

/// Changes the property `name` of an object schema.
fn patch(schema: &mut RefOr<Schema>, name: &str, change: impl FnOnce(&mut Object)) {
    if let RefOr::T(Schema::Object(object)) = schema
        && let Some(RefOr::T(Schema::Object(property))) = object.properties.get_mut(name)
    {
        change(property);
    }
}

/// The failure answer, its description closing with every code, its status and meaning.
fn error_answer(contract: &Contract<'_>) -> Object {
    let mut description = String::from(
        "A failure answer (`success: false`). `error` tells what failed; `message` says it for \
         a person. `field` names the offending field, `attemptsLeft` counts the code guesses \
         left and `retryAfter` gives the seconds to wait (the `Retry-After` header carries the \
         same value).\n\nEvery `error` code of the service, with its status:\n",
    );
    for &code in ErrorCode::ALL {
        description.push_str(&format!(
            "- `{}` ({}): {}\n",
            code.as_str(),
            code.status().as_u16(),
            codes::meaning(code, contract)
        ));
    }
    let integer = |text: &str, minimum: u64| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .description(Some(text))
            .minimum(Some(minimum))
    };
    ObjectBuilder::new()
        .description(Some(description))
        .property(
            "success",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .description(Some("Always `false` in a failure answer."))
                .enum_values(Some([false])),
        )
        .required("success")
        .property(
            "message",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("What failed, for a person.")),
        )
        .required("message")
        .property(
            "field",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The offending field of the request body.")),
        )
        .property(
            "attemptsLeft",
            integer("How many guesses the current code still allows.", 0),
        )
        .property(
            "retryAfter",
            integer("Seconds to wait before trying again.", 1),
        )
        .property(
            "error",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "What failed, for a program: one of the codes the response lists.",
                ))
                .examples(["wrong_otp"]),
        )
        .required("error")
        .build()
}
