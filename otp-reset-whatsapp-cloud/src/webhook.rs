//! Meta's webhook for message statuses: the verification challenge, the signature, the
//! statuses.
//!
//! Sources: Webhooks "Getting started"
//! (<https://developers.facebook.com/docs/graph-api/webhooks/getting-started>) for the
//! challenge (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`) and the
//! `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body keyed by the app secret>` header;
//! the status webhook reference
//! (<https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status/>)
//! for `entry[].changes[].value.statuses[]`.

use std::fmt;
use std::sync::{Arc, OnceLock};

use hmac::{KeyInit, Mac};
use otp_reset::{DeliveryReports, DeliveryUpdate};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The largest notification body taken (Meta batches at most a few hundred updates in one).
pub const MAX_WEBHOOK_BODY: usize = 256 * 1024;

/// The header that carries a notification's signature.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Why a webhook request was refused. [`WebhookError::status`] is the HTTP status to answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A challenge whose `hub.mode` is not `subscribe`.
    #[error("hub.mode must be subscribe")]
    WrongMode,
    /// A challenge with a missing or wrong `hub.verify_token`.
    #[error("the verify token does not match")]
    WrongToken,
    /// A challenge without `hub.challenge`.
    #[error("hub.challenge is missing")]
    NoChallenge,
    /// A notification without the signature header.
    #[error("the notification is not signed")]
    Unsigned,
    /// A notification whose signature does not match its body.
    #[error("the notification's signature does not match")]
    BadSignature,
    /// A body larger than [`MAX_WEBHOOK_BODY`].
    #[error("the notification is larger than {MAX_WEBHOOK_BODY} bytes")]
    TooLarge,
    /// A signed body that is not a notification.
    #[error("the notification is not valid JSON of the expected shape")]
    Malformed(#[source] serde_json::Error),
}

impl WebhookError {
    /// The HTTP status to answer with: 403 for a wrong verify token or mode, 401 for a missing
    /// or bad signature, 413 for a large body, 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Self::WrongMode | Self::WrongToken => 403,
            Self::Unsigned | Self::BadSignature => 401,
            Self::TooLarge => 413,
            Self::NoChallenge | Self::Malformed(_) => 400,
        }
    }

    /// A short machine-readable name (`bad_signature`, …) for a JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongMode => "wrong_mode",
            Self::WrongToken => "wrong_verify_token",
            Self::NoChallenge => "challenge_required",
            Self::Unsigned => "signature_required",
            Self::BadSignature => "bad_signature",
            Self::TooLarge => "payload_too_large",
            Self::Malformed(_) => "malformed_notification",
        }
    }
}

/// The query of Meta's verification request (`GET ?hub.mode=subscribe&hub.challenge=…&
/// hub.verify_token=…`); deserializes from a query string.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Challenge {
    /// `hub.mode`, always `subscribe`.
    #[serde(rename = "hub.mode")]
    pub mode: Option<String>,
    /// `hub.verify_token`, the token set in the App Dashboard.
    #[serde(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    /// `hub.challenge`, to answer back.
    #[serde(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// The status webhook of a [`CloudSender`](crate::CloudSender) (made by
/// [`CloudSender::webhook`](crate::CloudSender::webhook)), for any web framework: hand it the
/// query of a `GET` and the signature header and raw body of a `POST`.
///
/// ```
/// use otp_reset_whatsapp_cloud::{Challenge, CloudSender, CloudSettings};
///
/// let sender = CloudSender::new(CloudSettings::builder("t", "1").build().unwrap()).unwrap();
/// let webhook = sender.webhook("app-secret", "verify-me");
/// let query = Challenge {
///     mode: Some("subscribe".into()),
///     verify_token: Some("verify-me".into()),
///     challenge: Some("1158201444".into()),
/// };
/// assert_eq!(webhook.answer_challenge(&query).unwrap(), "1158201444");
/// assert_eq!(webhook.receive(None, b"{}").unwrap_err().status(), 401);
/// ```
#[derive(Clone)]
pub struct StatusWebhook {
    app_secret: Arc<Zeroizing<String>>,
    verify_token: Arc<Zeroizing<String>>,
    reports: Arc<OnceLock<DeliveryReports>>,
}

impl fmt::Debug for StatusWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusWebhook")
            .field("reports", &self.reports.get())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Notification {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    value: ChangeValue,
}

#[derive(Default, Deserialize)]
struct ChangeValue {
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    code: i64,
    #[serde(default)]
    title: Option<String>,
}

impl StatusWebhook {
    pub(crate) fn new(
        app_secret: String,
        verify_token: String,
        reports: Arc<OnceLock<DeliveryReports>>,
    ) -> Self {
        Self {
            app_secret: Arc::new(Zeroizing::new(app_secret)),
            verify_token: Arc::new(Zeroizing::new(verify_token)),
            reports,
        }
    }

    /// The body to answer a verification request with (the challenge), when its mode is
    /// `subscribe` and its token matches (compared in constant time).
    pub fn answer_challenge(&self, query: &Challenge) -> Result<String, WebhookError> {
        if query.mode.as_deref() != Some("subscribe") {
            return Err(WebhookError::WrongMode);
        }
        let token = query.verify_token.as_deref().unwrap_or("");
        if !bool::from(token.as_bytes().ct_eq(self.verify_token.as_bytes())) {
            return Err(WebhookError::WrongToken);
        }
        query.challenge.clone().ok_or(WebhookError::NoChallenge)
    }

    /// Takes a notification: checks `signature` (the `X-Hub-Signature-256` header) against the
    /// raw `body` in constant time, then reports each message status it holds. Returns how many
    /// statuses it reported; fields it does not know are ignored.
    pub fn receive(&self, signature: Option<&str>, body: &[u8]) -> Result<usize, WebhookError> {
        if body.len() > MAX_WEBHOOK_BODY {
            return Err(WebhookError::TooLarge);
        }
        let signature = signature.ok_or(WebhookError::Unsigned)?;
        let given = signature
            .trim()
            .strip_prefix("sha256=")
            .and_then(|hex| hex::decode(hex).ok())
            .ok_or(WebhookError::BadSignature)?;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(self.app_secret.as_bytes())
            .map_err(|_| WebhookError::BadSignature)?;
        mac.update(body);
        mac.verify_slice(&given)
            .map_err(|_| WebhookError::BadSignature)?;
        let notification: Notification =
            serde_json::from_slice(body).map_err(WebhookError::Malformed)?;
        let mut reported = 0;
        for status in notification
            .entry
            .into_iter()
            .flat_map(|e| e.changes)
            .flat_map(|c| c.value.statuses)
        {
            let Some(update) = update(&status) else {
                continue;
            };
            if let Some(reports) = self.reports.get() {
                reports.report(status.id, update);
                reported += 1;
            }
        }
        Ok(reported)
    }
}

/// The update a status means; `None` for statuses the core has no use for.
fn update(status: &Status) -> Option<DeliveryUpdate> {
    Some(match status.status.as_str() {
        "sent" => DeliveryUpdate::Sent,
        "delivered" => DeliveryUpdate::Delivered,
        "read" => DeliveryUpdate::Read,
        "failed" => match status.errors.first() {
            Some(error) if error.code == 131026 => DeliveryUpdate::NotRegistered,
            Some(error) => DeliveryUpdate::Failed(reason(error)),
            None => DeliveryUpdate::Failed("failed without a reason".into()),
        },
        _ => return None,
    })
}

/// A few words for the operator: the code and Meta's title, cut short.
fn reason(error: &StatusError) -> String {
    let title: String = error
        .title
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .take(60)
        .collect();
    format!("Cloud API error {}: {}", error.code, title.trim())
}
