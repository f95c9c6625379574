//! The label sets of the metrics, and the fixed lists their values come from: a label never
//! holds a value a client chose (a path, a phone number, a name, a code, a token, an address).

use otp_reset::ErrorCode;
use otp_reset::wire::AnswerCode;
use prometheus_client::encoding::EncodeLabelSet;

use crate::answer::ServerCode;
use crate::flow::MOUNT;

/// `otp_reset_http_requests_total`: which route, and how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Request {
    /// One of [`ROUTES`], or `other`.
    pub(crate) route: &'static str,
    /// `2xx`, `3xx`, or a failure's `error` code (else `4xx`, `5xx`).
    pub(crate) outcome: &'static str,
}

/// `otp_reset_sends_total`: which sender, and how the send ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Send {
    /// The sender's [`name`](otp_reset::Sender::name).
    pub(crate) sender: String,
    /// One of [`SEND_OUTCOMES`].
    pub(crate) outcome: &'static str,
}

/// `otp_reset_sender_ready`: which sender.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SenderName {
    /// The sender's [`name`](otp_reset::Sender::name).
    pub(crate) sender: String,
}

/// `otp_reset_sender_state`: which sender, in which state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SenderState {
    /// The sender's [`name`](otp_reset::Sender::name).
    pub(crate) sender: String,
    /// A [`SenderState::as_str`](otp_reset::SenderState::as_str) (`READY`, …).
    pub(crate) state: &'static str,
}

/// `otp_reset_delivery_outcomes_total`: the status a code reached.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Delivery {
    /// A [`DeliveryStatus::as_str`](otp_reset::DeliveryStatus::as_str).
    pub(crate) status: &'static str,
}

/// `otp_reset_limits_hit_total`: which limit refused.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Limit {
    /// One of [`LIMIT_KINDS`].
    pub(crate) kind: &'static str,
}

/// How a send ended: `sent`, or the [`SendError`](otp_reset::SendError) it ended with.
pub(crate) const SEND_OUTCOMES: &[&str] = &[
    "sent",
    "not_registered",
    "busy",
    "timeout",
    "not_ready",
    "failed",
];

/// The limits counted: the per-phone refusals of a new code (`cooldown`, `send_cap`,
/// `locked_out`), the site at capacity (`busy`: a site-wide limit, the outbox or the hashing
/// full), the per-client request limit (`client_rate_limit`), the login's backoff after failed
/// logins (`login_backoff`) and its password checks per client (`login_busy`).
pub(crate) const LIMIT_KINDS: &[&str] = &[
    "cooldown",
    "send_cap",
    "locked_out",
    "busy",
    "client_rate_limit",
    "login_backoff",
    "login_busy",
];

/// Every state a sender reports, as `bot-status` spells it.
pub(crate) const SENDER_STATES: &[&str] = &[
    "UNINITIALIZED",
    "INITIALIZING",
    "WAITING_FOR_QR",
    "AUTHENTICATING",
    "AUTHENTICATED",
    "READY",
    "DISCONNECTED",
    "LOGGED_OUT",
    "CONFLICT",
    "RECONNECTING",
    "FAILED",
];

/// The site's routes, as the `route` label names them.
pub(crate) const ROUTES: &[&str] = &[
    "/",
    "/login.html",
    "/forgot-password.html",
    "/assets/style.css",
    "/assets/forgot-password.js",
    "/assets/login.js",
    "/healthz",
    "/metrics",
    "/api/openapi.json",
    "/api/auth/login",
    "/admin/whatsapp/qr.svg",
    "/webhooks/whatsapp",
];

/// The flow's routes, under [`MOUNT`].
const FLOW_ROUTES: &[&str] = &[
    "/api/forgot-password/request-otp",
    "/api/forgot-password/verify-otp",
    "/api/forgot-password/reset-password",
    "/api/forgot-password/bot-status",
    "/api/forgot-password/delivery-status",
];

/// The `route` label of a request for `path`: the route it names, or `other`.
pub(crate) fn route(path: &str) -> &'static str {
    let list = if path.starts_with(MOUNT) {
        FLOW_ROUTES
    } else {
        ROUTES
    };
    // A trailing slash names the same route to the flow.
    let path = match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() && list == FLOW_ROUTES => trimmed,
        _ => path,
    };
    list.iter().copied().find(|r| *r == path).unwrap_or("other")
}

/// The `outcome` label of a failure whose `error` field says `code`, if it is one the site
/// answers with.
pub(crate) fn error_code(code: &str) -> Option<&'static str> {
    ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .chain(ServerCode::OWN.iter().map(|c| c.as_str()))
        .find(|known| *known == code)
}

/// The limit a failure's `error` code says was hit, for the limits the flow's events do not
/// report (a refused code is counted from its event).
pub(crate) fn limit_of_answer(code: &str) -> Option<&'static str> {
    match code {
        "busy" => Some("busy"),
        "rate_limited" => Some("client_rate_limit"),
        "login_throttled" => Some("login_backoff"),
        "login_busy" => Some("login_busy"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_is_named_from_the_list_never_from_the_path() {
        assert_eq!(
            route("/api/forgot-password/request-otp"),
            "/api/forgot-password/request-otp"
        );
        assert_eq!(
            route("/api/forgot-password/verify-otp/"),
            "/api/forgot-password/verify-otp"
        );
        assert_eq!(route("/"), "/");
        assert_eq!(route("/api/forgot-password/081234567890"), "other");
        assert_eq!(route("/081234567890"), "other");
    }

    #[test]
    fn only_known_error_codes_become_outcomes() {
        assert_eq!(error_code("wrong_otp"), Some("wrong_otp"));
        assert_eq!(error_code("rate_limited"), Some("rate_limited"));
        assert_eq!(error_code("081234567890"), None);
    }

    #[test]
    fn every_limit_an_answer_names_is_a_listed_kind() {
        for code in ["busy", "rate_limited", "login_throttled", "login_busy"] {
            let kind = limit_of_answer(code).unwrap();
            assert!(LIMIT_KINDS.contains(&kind));
            assert!(error_code(code).is_some(), "{code}");
        }
    }
}
