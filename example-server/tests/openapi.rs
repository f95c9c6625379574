//! `/api/openapi.json` on the real binary: a valid OpenAPI 3.1 document whose references all
//! resolve, that documents every code the server answers, with the settings in force.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, demo_data};
use example_server::answer::ServerCode;
use otp_reset::wire::AnswerCode;
use serde_json::Value;

/// The OpenAPI 3.1 schema (2022-10-07), vendored: the tests never reach the network.
const OPENAPI_31_SCHEMA: &str = include_str!("data/openapi-3.1-schema.json");

async fn served_document(name: &str, env: &[(&str, &str)]) -> Value {
    let server = Server::start(&demo_data(name), env).await;
    let response = server
        .client
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// Every `$ref` in `value`, with where it is.
fn refs<'v>(value: &'v Value, at: String, found: &mut Vec<(String, &'v str)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => found.push((at.clone(), target)),
                    _ => refs(child, format!("{at}/{key}"), found),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// Every code the document's responses give an example of.
fn documented_codes(document: &Value) -> Vec<String> {
    let mut codes = Vec::new();
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            for response in operation["responses"].as_object().unwrap().values() {
                if let Some(examples) =
                    response["content"]["application/json"]["examples"].as_object()
                {
                    codes.extend(
                        examples
                            .values()
                            .filter_map(|e| e["value"]["error"].as_str().map(String::from)),
                    );
                }
            }
        }
    }
    codes
}

#[tokio::test]
async fn the_served_document_is_valid_openapi_3_1() {
    let document = served_document("openapi-valid", &[]).await;
    assert_eq!(document["openapi"], "3.1.0");
    let schema: Value = serde_json::from_str(OPENAPI_31_SCHEMA).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|error| format!("{} at {}", error, error.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // The schema has teeth, down to a response's content.
    let mut broken = document.clone();
    broken["paths"]["/healthz"]["get"]["responses"]["200"]["content"] = Value::from(5);
    assert!(!validator.is_valid(&broken));
}

#[tokio::test]
async fn every_schema_in_the_document_is_valid_json_schema_2020_12() {
    // The OpenAPI schema leaves the schemas themselves to the JSON Schema meta-schema.
    let document = served_document("openapi-schemas", &[]).await;
    let schemas = document["components"]["schemas"].as_object().unwrap();
    assert!(schemas.len() >= 10);
    for (name, schema) in schemas {
        let checked = jsonschema::meta::validate(schema);
        assert!(checked.is_ok(), "{name}: {checked:?}");
    }
    let mut broken = schemas["Login"].clone();
    broken["required"] = Value::from("noHp");
    assert!(
        jsonschema::meta::validate(&broken).is_err(),
        "the meta-schema has teeth"
    );
}

#[tokio::test]
async fn every_reference_in_the_document_resolves() {
    let document = served_document("openapi-refs", &[]).await;
    let mut found = Vec::new();
    refs(&document, String::new(), &mut found);
    assert!(found.len() > 10, "the document refers to its schemas");
    for (at, target) in found {
        let pointer = target.strip_prefix('#').expect("a local reference");
        assert!(
            document.pointer(pointer).is_some(),
            "{at}: {target} resolves to nothing"
        );
    }
}

#[tokio::test]
async fn every_code_the_server_answers_is_documented() {
    let document = served_document("openapi-codes", &[]).await;
    let codes = documented_codes(&document);
    for code in ServerCode::OWN {
        assert!(
            codes.iter().any(|c| c == code.as_str()),
            "{} is not documented",
            code.as_str()
        );
    }
    for code in otp_reset::ErrorCode::ALL {
        let any_route = codes.iter().any(|c| c == code.as_str());
        let overview = document["info"]["description"]
            .as_str()
            .unwrap()
            .contains(code.as_str());
        assert!(any_route || overview, "{} is not documented", code.as_str());
    }
    let login = &document["paths"]["/api/auth/login"]["post"]["responses"];
    for (status, code) in [
        ("415", "unsupported_media_type"),
        ("413", "payload_too_large"),
        ("400", "body_unreadable"),
        ("429", "rate_limited"),
        ("503", "timeout"),
    ] {
        assert!(
            login[status]["content"]["application/json"]["examples"]
                .get(code)
                .is_some(),
            "login: {status} {code}"
        );
    }
    let reset = &document["paths"]["/api/forgot-password/reset-password"]["post"]["responses"];
    for code in ["rate_limited", "too_long"] {
        let status = if code == "rate_limited" { "429" } else { "400" };
        assert!(
            reset[status]["content"]["application/json"]["examples"]
                .get(code)
                .is_some(),
            "{code}"
        );
    }
}

#[tokio::test]
async fn the_document_shows_the_settings_the_server_runs_with() {
    let document = served_document(
        "openapi-settings",
        &[
            ("OTP_RESEND_COOLDOWN_SECS", "120"),
            ("CLIENT_RATE_LIMIT_PER_MIN", "0"),
        ],
    )
    .await;
    let cooldown = &document["paths"]["/api/forgot-password/request-otp"]["post"]["responses"]["429"]
        ["content"]["application/json"]["examples"]["cooldown"]["value"];
    assert_eq!(cooldown["retryAfter"], 120);
    let codes = documented_codes(&document);
    assert!(
        !codes.iter().any(|c| c == "rate_limited"),
        "no per-client limit, no rate_limited"
    );
}

#[tokio::test]
async fn the_login_takes_any_json_type_and_refuses_a_declared_oversized_body() {
    let server = Server::start(&demo_data("login-body"), &[]).await;
    let url = server.url("/api/auth/login");
    let response = server
        .client
        .post(&url)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"noHp":"081234567890","password":"password123"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = server
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(vec![b' '; 17 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "payload_too_large");
}
