//! `POST /{version}/{phone_number_id}/messages` and `GET /{version}/{phone_number_id}`.

// A refusal is the answer itself, built once per request: boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::{Received, SentMessage, Shared, TemplateKind, TokenState, errors, lock, webhooks};

/// The code parameter's longest length ("Maximum 15 characters").
const MAX_CODE: usize = 15;

fn record(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
    let headers = headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    lock(&shared.received).push(Received {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers,
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
    });
}

/// `None` when the bearer token is the configured one and valid; the 401 otherwise.
fn check_token(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let trace = shared.next();
    if given != Some(shared.token.as_str()) {
        return Some(errors::token(false, trace));
    }
    if lock(&shared.control).token == TokenState::Expired {
        return Some(errors::token(true, trace));
    }
    None
}

/// The business phone number's node.
pub(crate) async fn phone_number(
    State(shared): State<Shared>,
    Path((_version, phone)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    record(&shared, &method, &uri, &headers, b"");
    if let Some(refused) = check_token(&shared, &headers) {
        return refused;
    }
    if phone != shared.phone_number_id {
        return errors::no_object(&phone, shared.next());
    }
    Json(json!({
        "verified_name": "Imitation Tickets",
        "code_verification_status": "VERIFIED",
        "display_phone_number": "+1 555-000-0000",
        "quality_rating": "GREEN",
        "platform_type": "CLOUD_API",
        "throughput": { "level": "STANDARD" },
        "id": shared.phone_number_id,
    }))
    .into_response()
}

/// The messages endpoint.
pub(crate) async fn send(
    State(shared): State<Shared>,
    Path((_version, phone)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&shared, &method, &uri, &headers, &body);
    if let Some(refused) = check_token(&shared, &headers) {
        return refused;
    }
    let trace = shared.next();
    if phone != shared.phone_number_id {
        return errors::no_object(&phone, trace);
    }
    {
        let mut control = lock(&shared.control);
        if let Some((code, left)) = control.rate_limit {
            control.rate_limit = (left > 1).then_some((code, left - 1));
            return errors::cloud(code, trace);
        }
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return errors::invalid_parameter("The request body is not JSON", trace);
    };
    let message = match check_message(&shared, &body) {
        Ok(message) => message,
        Err(refused) => return refused,
    };
    let (not_on_whatsapp, at_once, delay, webhook) = {
        let control = lock(&shared.control);
        (
            control.not_on_whatsapp.contains(&message.to),
            control.undeliverable_at_once,
            control.delay,
            control.webhook.clone(),
        )
    };
    if not_on_whatsapp && at_once {
        return errors::cloud(131026, trace);
    }
    lock(&shared.sent).push(message.clone());
    if let Some(url) = webhook {
        webhooks::spawn_statuses(&shared, url, &message, not_on_whatsapp);
    }
    // Slow mode: the message exists already, the answer comes late.
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": message.to, "wa_id": message.to }],
        "messages": [{ "id": message.id }],
    }))
    .into_response()
}

/// The message a body asks for, or the answer refusing it.
fn check_message(shared: &Shared, body: &Value) -> Result<SentMessage, Response> {
    let trace = shared.next();
    let invalid = |details: &str| errors::invalid_parameter(details, trace);
    if body["messaging_product"] != "whatsapp" {
        return Err(invalid("messaging_product must be whatsapp"));
    }
    let Some(to) = body["to"].as_str() else {
        return Err(invalid("to is required"));
    };
    let to = to.trim_start_matches('+').to_owned();
    if to.is_empty() || !to.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("to must be a phone number"));
    }
    if body["type"] != "template" {
        return Err(invalid("only template messages are imitated"));
    }
    let template = &body["template"];
    let (Some(name), Some(language)) = (
        template["name"].as_str(),
        template["language"]["code"].as_str(),
    ) else {
        return Err(invalid(
            "template.name and template.language.code are required",
        ));
    };
    let kind = lock(&shared.control)
        .templates
        .iter()
        .find(|t| t.name == name && t.language == language)
        .map(|t| t.kind);
    let Some(kind) = kind else {
        return Err(errors::cloud(132001, trace));
    };
    let components = template["components"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let parameters = match kind {
        TemplateKind::Plain => {
            if components
                .iter()
                .any(|c| c["parameters"].as_array().is_some_and(|p| !p.is_empty()))
            {
                return Err(errors::cloud(132000, trace));
            }
            Vec::new()
        }
        TemplateKind::Authentication => authentication_parameters(&components, trace)?,
    };
    Ok(SentMessage {
        id: format!("wamid.IMITATION{:016X}", shared.next()),
        to,
        template: name.into(),
        language: language.into(),
        parameters,
    })
}

/// The code, once in the body component and once in the URL button at index 0, the same text.
fn authentication_parameters(components: &[Value], trace: u64) -> Result<Vec<String>, Response> {
    let texts = |component: &Value| -> Option<Vec<String>> {
        component["parameters"].as_array().map(|ps| {
            ps.iter()
                .filter(|p| p["type"] == "text")
                .filter_map(|p| p["text"].as_str().map(str::to_owned))
                .collect()
        })
    };
    let body = components.iter().find(|c| c["type"] == "body");
    let button = components.iter().find(|c| c["type"] == "button");
    let (Some(body), Some(button)) = (body, button) else {
        return Err(errors::cloud(132000, trace));
    };
    if button["sub_type"] != "url" || button["index"] != "0" {
        return Err(errors::cloud(131009, trace));
    }
    let (Some(body), Some(button)) = (texts(body), texts(button)) else {
        return Err(errors::cloud(132000, trace));
    };
    match (body.as_slice(), button.as_slice()) {
        ([code], [again])
            if code == again && !code.is_empty() && code.chars().count() <= MAX_CODE =>
        {
            Ok(vec![code.clone(), again.clone()])
        }
        ([_], [_]) => Err(errors::cloud(131009, trace)),
        _ => Err(errors::cloud(132000, trace)),
    }
}
