//! The five operations: what each takes and what it answers on success.

use serde::Serialize;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::{Operation, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::{ContentBuilder, Ref, Required};

use super::{Contract, JSON, Route, TAG, accept_language, schemas, span};
use crate::lang::{Lang, Msg};
use crate::wire::{
    BotStatusAnswer, DeliveryStatusAnswer, LastProblem, RequestOtpAnswer, ResetPasswordAnswer,
    VerifiedCode, VerifyOtpAnswer,
};
use crate::{SenderState, UnknownUser};

/// The example request id used throughout the document.
const REQUEST_ID: &str = "Hk3v9QwZP0aLr2mXyT8bNg";

/// The example reset token used throughout the document.
const TOKEN: &str = "q3Zr8v0N4kXyJbLmTt2WcA9sHfGpE1uDiO7nR5lVx6Y";

/// The operation of `route`, with its success answer; the failures are added from the codes.
pub(super) fn operation(route: Route, contract: &Contract<'_>) -> Operation {
    let policy = contract.policy;
    let rules = policy.otp_rules();
    let code = "0".repeat(usize::from(policy.code_length()));
    let (id, summary, description, ok) = match route {
        Route::RequestOtp => (
            "requestOtp",
            "Send a one-time code to the account's phone",
            format!(
                "Issues a {}-digit code, valid for {}, for the phone number and sends it, if the \
                 name and phone pair matches an account. Codes are limited per phone: {} between \
                 two codes (the cooldown), {} within {}, and none while the phone is locked out.",
                policy.code_length(),
                span(policy.code_ttl()),
                span(rules.resend_cooldown),
                rules.max_sends_per_window,
                span(rules.send_window),
            ),
            ok::<RequestOtpAnswer>(
                &match policy.unknown_user() {
                    UnknownUser::Conceal => "The code was issued and handed to the sender. The \
                        same answer is given whether or not the pair matches an account."
                        .to_owned(),
                    UnknownUser::Reveal => {
                        "The code was issued and handed to the sender.".to_owned()
                    }
                },
                [(
                    "sent",
                    RequestOtpAnswer {
                        success: true,
                        message: Msg::CodeSent.render(Lang::Id),
                        phone_number: "6281234567890".into(),
                        test_otp: policy.exposes_code_for_development().then(|| code.clone()),
                        request_id: Some(REQUEST_ID.into()),
                    },
                )],
            ),
        ),
        Route::VerifyOtp => (
            "verifyOtp",
            "Verify the one-time code",
            format!(
                "Checks the code last sent to the phone number. Each client has {} guesses at a \
                 code (`attemptsLeft` counts them down), so a stranger's never use up the \
                 user's; {} wrong guesses in a row from any clients lock the phone out of \
                 guesses and new codes for {}.",
                policy.max_attempts(),
                rules.lockout_threshold,
                span(rules.lockout_base),
            ),
            ok::<VerifyOtpAnswer>(
                if policy.issues_reset_token() {
                    "The code is right. The answer carries a single-use reset token for \
                     reset-password."
                } else {
                    "The code is right; reset-password takes it once."
                },
                [(
                    "verified",
                    VerifyOtpAnswer {
                        success: true,
                        message: Msg::Verified.render(Lang::Id),
                        data: VerifiedCode {
                            otp_id: 4_503_599_627_370_497,
                            reset_token: policy.issues_reset_token().then(|| TOKEN.to_owned()),
                        },
                    },
                )],
            ),
        ),
        Route::ResetPassword => (
            "resetPassword",
            "Set a new password",
            "Sets the account's new password, proven by the `resetToken` from verify-otp (or by \
             the verified code itself). The proof is spent by the first reset that uses it. A \
             reset token, once handed out, is taken whatever wrong guesses others make, even \
             while the phone is locked out."
                .to_owned(),
            ok::<ResetPasswordAnswer>(
                "The password was changed; the code and reset token are spent. The phone gets a \
                 notice of the change.",
                [(
                    "changed",
                    ResetPasswordAnswer {
                        success: true,
                        message: Msg::PasswordReset.render(Lang::Id),
                    },
                )],
            ),
        ),
        Route::DeliveryStatus => (
            "deliveryStatus",
            "What became of the code",
            format!(
                "Tells what became of the code a request-otp answer's `requestId` names, for a \
                 page to show while the user waits: `pending` (waiting for the sender), `sent` \
                 (WhatsApp took it), `delivered` (it reached the phone), `not_on_whatsapp` (the \
                 number has no WhatsApp account) or `failed`. A name and phone pair that \
                 matches no account reaches the same statuses with the same timing as one that \
                 does. Statuses are kept for {}, as long as the code.",
                span(policy.code_ttl())
            ),
            ok::<DeliveryStatusAnswer>(
                "The status now; ask again (every few seconds) until it is `delivered`, \
                 `not_on_whatsapp` or `failed`, which never change.",
                [
                    crate::DeliveryStatus::Sent,
                    crate::DeliveryStatus::Delivered,
                    crate::DeliveryStatus::NotOnWhatsapp,
                ]
                .map(|status| {
                    (
                        status.as_str(),
                        DeliveryStatusAnswer {
                            success: true,
                            message: Msg::Delivery(status).render(Lang::Id),
                            status: status.as_str().into(),
                        },
                    )
                }),
            ),
        ),
        Route::BotStatus => (
            "botStatus",
            "State of the sender",
            "Tells whether the sender can deliver codes now.".to_owned(),
            ok::<BotStatusAnswer>(&bot_status_description(), bot_status_examples()),
        ),
    };
    let mut builder = OperationBuilder::new()
        .tag(TAG)
        .operation_id(Some(id))
        .summary(Some(summary))
        .description(Some(description))
        .parameter(accept_language())
        .responses(ResponsesBuilder::new().response("200", ok).build());
    if let Some((text, example)) = request_example(route, &code) {
        builder = builder.request_body(Some(
            RequestBodyBuilder::new()
                .description(Some(text))
                .required(Some(Required::True))
                .content(
                    JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(schemas::request_name(route))))
                        .example(Some(example))
                        .build(),
                )
                .build(),
        ));
    }
    builder.build()
}

fn request_example(route: Route, code: &str) -> Option<(&'static str, serde_json::Value)> {
    use serde_json::json;
    match route {
        Route::RequestOtp => Some((
            "The account's name and phone number.",
            json!({ "nama": "John Doe", "noHp": "081234567890" }),
        )),
        Route::VerifyOtp => Some((
            "The phone number the code was sent to, and the code.",
            json!({ "noHp": "081234567890", "otp": code }),
        )),
        Route::ResetPassword => Some((
            "The phone number, the proof (`resetToken`, or `otp`) and the new password twice.",
            json!({
                "noHp": "081234567890",
                "resetToken": TOKEN,
                "newPassword": "rahasiaBaru123",
                "confirmPassword": "rahasiaBaru123",
            }),
        )),
        Route::DeliveryStatus => Some((
            "The `requestId` of a request-otp answer.",
            json!({ "requestId": REQUEST_ID }),
        )),
        Route::BotStatus => None,
    }
}

/// A 200 answer of schema `T`, with named examples.
fn ok<T: Serialize + utoipa::ToSchema>(
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
                .schema(Some(Ref::from_schema_name(T::name())))
                .examples_from_iter(examples)
                .build(),
        )
        .build()
}

/// Every sender state and what it means.
pub(super) fn sender_states() -> [(SenderState, &'static str); 11] {
    let meaning = |state: &SenderState| match state {
        SenderState::Uninitialized => "the sender has not started",
        SenderState::Initializing => "the sender is starting",
        SenderState::WaitingForQr => "waiting for the operator to scan the pairing QR code",
        SenderState::Authenticating => "the QR code was scanned; pairing is under way",
        SenderState::Authenticated => "paired, not yet ready to send",
        SenderState::Ready => "ready to send codes",
        SenderState::Disconnected => "the connection dropped",
        SenderState::LoggedOut => "the session was logged out; it must be paired again",
        SenderState::Conflict => "the session is open elsewhere",
        SenderState::Reconnecting { .. } => "reconnecting after a drop; `attempt` counts the tries",
        SenderState::Failed { .. } => "the sender gave up; `reason` says why",
    };
    [
        SenderState::Uninitialized,
        SenderState::Initializing,
        SenderState::WaitingForQr,
        SenderState::Authenticating,
        SenderState::Authenticated,
        SenderState::Ready,
        SenderState::Disconnected,
        SenderState::LoggedOut,
        SenderState::Conflict,
        SenderState::Reconnecting { attempt: 1 },
        SenderState::Failed {
            reason: String::new(),
        },
    ]
    .map(|state| {
        let text = meaning(&state);
        (state, text)
    })
}

fn bot_status_description() -> String {
    let mut text = String::from(
        "The state of the sender. Codes can be sent only when `ready` is true (`status` is \
         `READY`). The states:\n",
    );
    for (state, meaning) in sender_states() {
        text.push_str(&format!("- `{}`: {meaning}\n", state.as_str()));
    }
    text
}

fn bot_status_examples() -> [(&'static str, BotStatusAnswer); 2] {
    let answer = |ready: bool, status: &str, attempt: Option<u32>| BotStatusAnswer {
        success: true,
        message: Msg::BotStatus { ready }.render(Lang::Id),
        ready,
        status: status.into(),
        attempt,
        reason: None,
        last_problem: attempt.map(|attempt| LastProblem {
            status: status.into(),
            attempt: Some(attempt),
            reason: None,
            since: Some("2026-11-30T13:45:04.123Z".into()),
        }),
        adapter_version: Some("2".into()),
        service_version: Some("2.3000.1043140922".into()),
    };
    [
        ("ready", answer(true, "READY", None)),
        ("reconnecting", answer(false, "RECONNECTING", Some(2))),
    ]
}

/// The document's `info.description`.
pub(super) fn overview(contract: &Contract<'_>, prefix: &str) -> String {
    format!(
        "Forgot-password by a one-time code sent to the account's phone.\n\n\
         1. `POST {prefix}/request-otp` with the account's name and phone number: a {digits}-digit \
         code goes to that number.\n\
         2. `POST {prefix}/verify-otp` with the code: the answer carries a single-use \
         `resetToken`.\n\
         3. `POST {prefix}/reset-password` with the `resetToken` (or the code) and the new \
         password.\n\n\
         Every body, asked and answered, is JSON (at most {max} bytes asked). Every answer is an \
         object with `success` (boolean) and `message` (text for a person: Indonesian by \
         default, English when the request carries `Accept-Language: en`). A failure \
         (`success: false`, see the `ErrorAnswer` schema) also carries `error`, a \
         machine-readable code that each response lists, and may carry `field`, `attemptsLeft` \
         and `retryAfter` (seconds; a `Retry-After` header carries the same value). Any other \
         path under `{prefix}` is answered 404 `not_found`, and a route asked with another \
         method 405 `method_not_allowed` with an `Allow` header.",
        digits = contract.policy.code_length(),
        max = contract.max_body_bytes,
    )
}
