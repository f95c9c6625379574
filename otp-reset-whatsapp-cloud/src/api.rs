//! The Cloud API's wire format: the template message a send posts, and what an answer means.
//!
//! Sources: "Send authentication templates"
//! (<https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates/auth-otp-template-messages>)
//! for the body and the success answer; Graph API "Handling errors"
//! (<https://developers.facebook.com/docs/graph-api/guides/error-handling>) and the Cloud API's
//! error codes (<https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes>)
//! for failures.

use serde::Deserialize;
use serde_json::{Value, json};

/// The body of a copy-code authentication template carrying `code`: the code goes in the body
/// parameter and in the URL button's parameter, as the send guide shows.
pub(crate) fn code_template(to: &str, name: &str, language: &str, code: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": name,
            "language": { "code": language },
            "components": [
                { "type": "body", "parameters": [{ "type": "text", "text": code }] },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{ "type": "text", "text": code }]
                }
            ]
        }
    })
}

/// The body of a template without parameters (the password-changed notice).
pub(crate) fn plain_template(to: &str, name: &str, language: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": { "name": name, "language": { "code": language } }
    })
}

/// A success answer: `{"messaging_product", "contacts": [...], "messages": [{"id": "wamid..."}]}`.
#[derive(Deserialize)]
pub(crate) struct Sent {
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    id: String,
}

impl Sent {
    /// The id of the message created, if the answer names one.
    pub(crate) fn message_id(self) -> Option<String> {
        self.messages.into_iter().next().map(|m| m.id)
    }
}

/// The Graph API's error object, `{"error": {message, type, code, error_subcode, fbtrace_id}}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GraphError {
    #[serde(default)]
    pub(crate) code: Option<i64>,
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: GraphError,
}

impl GraphError {
    /// The error object of an answer body; an empty one when the body has none.
    pub(crate) fn parse(body: &[u8]) -> Self {
        serde_json::from_slice::<ErrorEnvelope>(body)
            .map(|e| e.error)
            .unwrap_or_default()
    }
}

/// What a refused call means for the sender.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 131026: the number cannot receive the message (not on WhatsApp, among others).
    NotRegistered,
    /// A rate limit: 131056 (pair), 130429 (throughput), 80007 (account). Safe to retry: the
    /// message was not created.
    Busy(i64),
    /// The token is expired, revoked or wrong: nothing will succeed until an operator acts.
    Token(&'static str),
    /// Anything else.
    Other,
}

/// What an error answer with HTTP `status` and error object `error` means.
///
/// `OAuthException` alone does not mean a bad token: Meta gives rate-limit errors that type too
/// (the error-codes page's sample for 130429), so the code decides.
pub(crate) fn refusal(status: u16, error: &GraphError) -> Refusal {
    match error.code {
        Some(131026) => Refusal::NotRegistered,
        Some(code @ (131056 | 130429 | 80007)) => Refusal::Busy(code),
        Some(190) => Refusal::Token("access token expired or invalid"),
        // 0: AuthException, "We were unable to authenticate the app user".
        Some(0) if error.kind.as_deref() == Some("OAuthException") => {
            Refusal::Token("access token refused")
        }
        _ if status == 401 => Refusal::Token("access token refused"),
        _ => Refusal::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal_of(status: u16, body: &str) -> Refusal {
        refusal(status, &GraphError::parse(body.as_bytes()))
    }

    #[test]
    fn codes_decide_not_the_type() {
        assert_eq!(
            refusal_of(
                400,
                r#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429}}"#
            ),
            Refusal::Busy(130429)
        );
        assert_eq!(
            refusal_of(
                401,
                r#"{"error":{"type":"OAuthException","code":190,"error_subcode":463}}"#
            ),
            Refusal::Token("access token expired or invalid")
        );
        assert_eq!(
            refusal_of(401, "not json"),
            Refusal::Token("access token refused")
        );
        assert_eq!(
            refusal_of(400, r#"{"error":{"code":131026}}"#),
            Refusal::NotRegistered
        );
        assert_eq!(
            refusal_of(400, r#"{"error":{"code":132001}}"#),
            Refusal::Other
        );
    }

    #[test]
    fn the_code_is_in_both_parameters() {
        let body = code_template("6281234567890", "otp", "id", "123456");
        assert_eq!(
            body["template"]["components"][0]["parameters"][0]["text"],
            "123456"
        );
        assert_eq!(
            body["template"]["components"][1]["parameters"][0]["text"],
            "123456"
        );
        assert_eq!(body["template"]["components"][1]["index"], "0");
    }
}
