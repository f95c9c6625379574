//! The service's OpenAPI document: every error code it can answer is there, under the routes
//! that answer it, with the policy's real values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::Harness;
use http::{Method, Request};
use otp_reset::{ErrorCode, Policy, UnknownUser};
use serde_json::Value;

const PREFIX: &str = "/api/forgot-password";
const ROUTES: [(&str, &str); 5] = [
    ("/request-otp", "post"),
    ("/verify-otp", "post"),
    ("/reset-password", "post"),
    ("/delivery-status", "post"),
    ("/bot-status", "get"),
];

fn document(policy: Policy) -> Value {
    let h = Harness::with_policy(policy);
    serde_json::to_value(h.service.openapi(PREFIX)).unwrap()
}

/// The example answers a route documents for `code`, under the code's status.
fn examples<'d>(document: &'d Value, route: &str, code: ErrorCode) -> Vec<&'d Value> {
    ROUTES
        .iter()
        .filter(|(path, _)| *path == route)
        .filter_map(|(path, method)| {
            document["paths"][format!("{PREFIX}{path}")][method]["responses"]
                [code.status().as_str()]["content"]["application/json"]["examples"]
                .get(code.as_str())
        })
        .map(|example| &example["value"])
        .collect()
}

fn routes_documenting(document: &Value, code: ErrorCode) -> Vec<&'static str> {
    ROUTES
        .iter()
        .map(|(path, _)| *path)
        .filter(|path| !examples(document, path, code).is_empty())
        .collect()
}

#[tokio::test]
async fn every_error_code_is_documented_with_its_status() {
    let document = document(
        Policy::builder()
            .with_unknown_user(UnknownUser::Reveal)
            .build()
            .unwrap(),
    );
    let listing = document["components"]["schemas"]["ErrorAnswer"]["description"]
        .as_str()
        .unwrap();
    for &code in ErrorCode::ALL {
        let line = format!("- `{}` ({}):", code.as_str(), code.status().as_u16());
        assert!(listing.contains(&line), "{code} is not in ErrorAnswer");
        if matches!(code, ErrorCode::NotFound | ErrorCode::MethodNotAllowed) {
            // Any other path or method: said once, in the overview.
            let overview = document["info"]["description"].as_str().unwrap();
            assert!(overview.contains(&format!("`{}`", code.as_str())), "{code}");
            continue;
        }
        let routes = routes_documenting(&document, code);
        assert!(!routes.is_empty(), "no route documents {code}");
        for route in routes {
            for example in examples(&document, route, code) {
                assert_eq!(example["error"], code.as_str(), "{route}");
                assert_eq!(example["success"], false, "{route}");
            }
        }
    }
}

#[tokio::test]
async fn codes_are_documented_under_the_routes_that_answer_them() {
    let document = document(Policy::default());
    for (code, routes) in [
        (ErrorCode::NameRequired, &["/request-otp"][..]),
        (ErrorCode::Cooldown, &["/request-otp"]),
        (ErrorCode::SenderUnavailable, &["/request-otp"]),
        (ErrorCode::WrongOtp, &["/verify-otp", "/reset-password"]),
        (
            ErrorCode::InvalidOtpFormat,
            &["/verify-otp", "/reset-password"],
        ),
        (ErrorCode::OtpNotVerified, &["/reset-password"]),
        (ErrorCode::PasswordTooShort, &["/reset-password"]),
        (ErrorCode::Busy, &["/request-otp", "/reset-password"]),
        (
            ErrorCode::UnsupportedMediaType,
            &[
                "/request-otp",
                "/verify-otp",
                "/reset-password",
                "/delivery-status",
            ],
        ),
        (ErrorCode::RequestNotFound, &["/delivery-status"]),
        (
            ErrorCode::LockedOut,
            &["/request-otp", "/verify-otp", "/reset-password"],
        ),
        // Concealed by default: request-otp answers an unknown pair as a known one.
        (ErrorCode::UserNotFound, &["/reset-password"]),
    ] {
        assert_eq!(routes_documenting(&document, code), routes, "{code}");
    }
    let revealing = self::document(
        Policy::builder()
            .with_unknown_user(UnknownUser::Reveal)
            .build()
            .unwrap(),
    );
    assert_eq!(
        routes_documenting(&revealing, ErrorCode::UserNotFound),
        ["/request-otp", "/reset-password"]
    );
}

#[tokio::test]
async fn the_document_shows_the_policy_in_force() {
    let default = serde_json::to_string(&document(Policy::default())).unwrap();
    assert!(default.contains("^[0-9]{6}$"));
    assert!(default.contains("must wait 1 minute before the next"));

    let policy = Policy::builder()
        .with_code_length(8)
        .with_resend_cooldown(Duration::from_secs(120))
        .with_password_length(10, 64)
        .build()
        .unwrap();
    let document = document(policy);
    let verify = &document["components"]["schemas"]["VerifyOtp"]["properties"]["otp"];
    assert_eq!(verify["pattern"], "^[0-9]{8}$");
    let cooldown = examples(&document, "/request-otp", ErrorCode::Cooldown)[0];
    assert_eq!(cooldown["retryAfter"], 120);
    assert!(cooldown["message"].as_str().unwrap().contains("120 detik"));
    let format = examples(&document, "/verify-otp", ErrorCode::InvalidOtpFormat)[0];
    assert_eq!(format["message"], "OTP harus 8 digit angka");
    let password = &document["components"]["schemas"]["ResetPassword"]["properties"]["newPassword"];
    assert_eq!(
        (
            password["minLength"].as_u64(),
            password["maxLength"].as_u64()
        ),
        (Some(10), Some(64))
    );
    let text = serde_json::to_string(&document).unwrap();
    assert!(text.contains("must wait 2 minutes before the next"));
    assert!(!text.contains("^[0-9]{6}$"));
}

#[tokio::test]
async fn the_document_lists_every_sender_state() {
    let document = document(Policy::default());
    let states =
        &document["components"]["schemas"]["BotStatusAnswer"]["properties"]["status"]["enum"];
    for state in [
        "READY",
        "WAITING_FOR_QR",
        "RECONNECTING",
        "FAILED",
        "LOGGED_OUT",
    ] {
        assert!(
            states.as_array().unwrap().contains(&Value::from(state)),
            "{state}"
        );
    }
}

#[tokio::test]
async fn a_documented_example_is_the_answer_the_service_gives() {
    let h = Harness::new();
    let document = serde_json::to_value(h.service.openapi(PREFIX)).unwrap();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/request-otp")
        .header("content-type", "text/plain")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
        .unwrap();
    let answer = common::send_request(&h.service, request).await;
    let example = examples(&document, "/request-otp", ErrorCode::UnsupportedMediaType)[0];
    assert_eq!(&answer.body, example);
    assert_eq!(
        serde_json::to_string(&answer.body).unwrap(),
        serde_json::to_string(example).unwrap(),
        "the same fields in the same order"
    );
}
