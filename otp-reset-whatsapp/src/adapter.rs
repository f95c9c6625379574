//! Everything this crate knows about WhatsApp Web's internals, in one place.
//!
//! The sender never reads the page's DOM. It reads WhatsApp Web's own modules through
//! `window.require(...)`, as whatsapp-web.js does, with three small scripts beside this file:
//! `probe.js` (the app's version, socket state, sync state and QR reference), `send.js` (one
//! text message) and `ack.js` (a message's acknowledgement). When WhatsApp Web renames a
//! module, this adapter is the one place to change; until then the probe reports the missing
//! modules and the sender enters a clear "incompatible version" state instead of hanging.

use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use serde::Deserialize;
use serde_json::Value;

/// The adapter's version: bump it with any change to the scripts.
pub const ADAPTER_VERSION: u32 = 1;

/// Installs the probe; run on every new document and again whenever a navigation lost it.
pub(crate) const PROBE_SCRIPT: &str = include_str!("adapter/probe.js");
const SEND_SCRIPT: &str = include_str!("adapter/send.js");
const ACK_SCRIPT: &str = include_str!("adapter/ack.js");

/// What the probe saw.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub(crate) struct Probe {
    /// The probe is not on this document (a navigation replaced it).
    pub(crate) absent: bool,
    /// The app has not defined its module system or version yet.
    pub(crate) loading: bool,
    pub(crate) version: Option<String>,
    /// Modules the adapter needs that `window.require` does not give.
    pub(crate) missing: Vec<String>,
    /// `WAWebSocketModel.Socket.state`.
    pub(crate) socket: Option<String>,
    /// `WAWebSocketModel.Socket.hasSynced`.
    pub(crate) synced: bool,
    /// `WAWebConnModel.Conn.ref`: what the QR code encodes.
    pub(crate) qr: Option<String>,
}

/// A script failed or did not answer in time.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScriptError {
    #[error("the page did not answer within {0:?}")]
    Timeout(Duration),
    #[error("evaluating in the page failed: {0}")]
    Evaluate(String),
    #[error("the page answered something unexpected: {0}")]
    Unexpected(String),
}

async fn evaluate(
    page: &Page,
    expression: String,
    timeout: Duration,
) -> Result<Value, ScriptError> {
    let params = EvaluateParams::builder()
        .expression(expression)
        .await_promise(true)
        .return_by_value(true)
        .build()
        .map_err(ScriptError::Evaluate)?;
    let result = tokio::time::timeout(timeout, page.evaluate(params))
        .await
        .map_err(|_| ScriptError::Timeout(timeout))?
        .map_err(|e| ScriptError::Evaluate(e.to_string()))?;
    Ok(result.value().cloned().unwrap_or(Value::Null))
}

/// Runs the probe, installing it first if this document lacks it.
pub(crate) async fn probe(page: &Page, timeout: Duration) -> Result<Probe, ScriptError> {
    let read = || {
        evaluate(
            page,
            "typeof window.__otpResetProbe === 'function' ? window.__otpResetProbe() : { absent: true }".into(),
            timeout,
        )
    };
    let mut value = read().await?;
    if value.get("absent").and_then(Value::as_bool) == Some(true) {
        evaluate(page, PROBE_SCRIPT.into(), timeout).await?;
        value = read().await?;
    }
    serde_json::from_value(value).map_err(|e| ScriptError::Unexpected(e.to_string()))
}

/// What `send.js` answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Created {
    /// The message exists, with this id.
    Message(String),
    /// The number has no WhatsApp account; nothing was created.
    NotRegistered,
}

/// Creates and sends one text message to `digits` (E.164 digits without `+`).
pub(crate) async fn send(
    page: &Page,
    digits: &str,
    text: &str,
    timeout: Duration,
) -> Result<Created, ScriptError> {
    let arguments = serde_json::to_string(&(digits, text))
        .map_err(|e| ScriptError::Unexpected(e.to_string()))?;
    let value = evaluate(
        page,
        format!("({})(...{arguments})", SEND_SCRIPT.trim()),
        timeout,
    )
    .await?;
    if let Some(id) = value.get("id").and_then(Value::as_str) {
        return Ok(Created::Message(id.to_owned()));
    }
    match value.get("error").and_then(Value::as_str) {
        Some("not_registered") => Ok(Created::NotRegistered),
        _ => Err(ScriptError::Unexpected(value.to_string())),
    }
}

/// The acknowledgement of message `id`, if WhatsApp Web still knows it.
pub(crate) async fn ack(
    page: &Page,
    id: &str,
    timeout: Duration,
) -> Result<Option<i64>, ScriptError> {
    let argument = serde_json::to_string(id).map_err(|e| ScriptError::Unexpected(e.to_string()))?;
    let value = evaluate(
        page,
        format!("({})({argument})", ACK_SCRIPT.trim()),
        timeout,
    )
    .await?;
    Ok(value.as_i64())
}
