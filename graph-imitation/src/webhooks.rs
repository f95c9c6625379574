//! Status webhooks posted back, signed, and the verification request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::{SentMessage, Shared, lock};

/// `sha256=<hex HMAC-SHA256 of body keyed by app_secret>`, the `X-Hub-Signature-256` value.
///
/// ```
/// let header = graph_imitation::signature("secret", b"{}");
/// assert!(header.starts_with("sha256=") && header.len() == 7 + 64);
/// ```
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A `messages` change with one status, as the status webhook reference shapes it.
pub(crate) fn notification(
    shared: &Shared,
    id: &str,
    to: &str,
    status: &str,
    error: Option<i64>,
) -> Value {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string();
    let mut entry = json!({
        "id": id,
        "status": status,
        "timestamp": timestamp,
        "recipient_id": to,
    });
    if status != "failed" {
        entry["pricing"] = json!({
            "billable": true,
            "pricing_model": "PMP",
            "type": "regular",
            "category": "authentication",
        });
    }
    if let Some(code) = error {
        entry["errors"] = json!([{
            "code": code,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": { "details": "Message Undeliverable." },
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }]);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": "15550000000",
                        "phone_number_id": shared.phone_number_id,
                    },
                    "statuses": [entry],
                },
                "field": "messages",
            }],
        }],
    })
}

/// Posts `body` to `url`, signed unless `signed` is false; the answer's status (0: none).
pub(crate) async fn post(shared: &Shared, url: &str, body: &Value, signed: bool) -> u16 {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut request = shared
        .client
        .post(url)
        .header("content-type", "application/json");
    if signed {
        request = request.header("x-hub-signature-256", signature(&shared.app_secret, &bytes));
    }
    let status = match request.body(bytes).send().await {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    };
    lock(&shared.webhook_answers).push(status);
    status
}

/// sent → delivered → read, or failed (131026) for a number without WhatsApp, one POST each.
pub(crate) fn spawn_statuses(
    shared: &Shared,
    url: String,
    message: &SentMessage,
    undeliverable: bool,
) {
    let shared = std::sync::Arc::clone(shared);
    let (id, to) = (message.id.clone(), message.to.clone());
    tokio::spawn(async move {
        let steps: &[(&str, Option<i64>)] = if undeliverable {
            &[("failed", Some(131026))]
        } else {
            &[("sent", None), ("delivered", None), ("read", None)]
        };
        for (status, error) in steps {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let body = notification(&shared, &id, &to, status, *error);
            post(&shared, &url, &body, true).await;
        }
    });
}

/// Meta's verification request; whether the answer was 200 with the challenge.
pub(crate) async fn verify(shared: &Shared, url: &str, verify_token: &str) -> bool {
    let challenge = format!("{}", 1_158_201_444u64 + shared.next());
    let response = shared
        .client
        .get(url)
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.challenge", challenge.as_str()),
            ("hub.verify_token", verify_token),
        ])
        .send()
        .await;
    match response {
        Ok(response) if response.status().as_u16() == 200 => {
            response.text().await.is_ok_and(|text| text == challenge)
        }
        _ => false,
    }
}
