//! An imitation of the part of Meta's Graph API that a WhatsApp Cloud API sender uses, served
//! on loopback for tests: the messages endpoint with its checks and error objects, the
//! business phone number's node, and signed status webhooks posted back to a URL.
//!
//! It was written from Meta's public documentation (the crate's README lists each behaviour
//! with its page and marks what is guessed), not from any sender, so that it can witness a
//! sender's mistakes: a missing bearer token, a template in the wrong shape, a code not in both
//! parameters, a retry after a timeout.
//!
//! ```no_run
//! # async fn demo() {
//! use graph_imitation::{GraphImitation, Template};
//!
//! let graph = GraphImitation::start("EAAtoken", "1055", "app-secret")
//!     .await
//!     .with_template(Template::authentication("otp_reset_code", "id"));
//! graph.set_not_on_whatsapp("6289999999999");
//! graph.set_webhook(Some("http://127.0.0.1:5000/webhooks/whatsapp".into()));
//! // ... point the sender at graph.base_url() ...
//! let sent = graph.sent();
//! # let _ = sent;
//! # }
//! ```

mod errors;
mod messages;
mod webhooks;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use serde_json::Value;

pub use webhooks::signature;

/// What kind of template a name is, and so which parameters a send must give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateKind {
    /// An authentication template with a copy-code button: one body text parameter (the
    /// code, at most 15 characters) and the same text in the URL button's parameter.
    Authentication,
    /// A template without parameters.
    Plain,
}

/// An approved template in one language.
#[derive(Clone, Debug)]
pub struct Template {
    /// Its name.
    pub name: String,
    /// Its language code.
    pub language: String,
    /// Its kind.
    pub kind: TemplateKind,
}

impl Template {
    /// An authentication template.
    pub fn authentication(name: &str, language: &str) -> Self {
        Self {
            name: name.into(),
            language: language.into(),
            kind: TemplateKind::Authentication,
        }
    }

    /// A template without parameters (a utility notice).
    pub fn plain(name: &str, language: &str) -> Self {
        Self {
            name: name.into(),
            language: language.into(),
            kind: TemplateKind::Plain,
        }
    }
}

/// A request as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    /// `GET` or `POST`.
    pub method: String,
    /// The path.
    pub path: String,
    /// The headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body, as JSON (`Null` when it was not JSON).
    pub body: Value,
}

impl Received {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A message the imitation accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    /// Its `wamid.` id.
    pub id: String,
    /// The recipient's digits.
    pub to: String,
    /// The template's name.
    pub template: String,
    /// The template's language.
    pub language: String,
    /// The parameter texts, body first then button.
    pub parameters: Vec<String>,
}

/// How the imitation judges the bearer token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenState {
    /// The configured token is accepted.
    Valid,
    /// The configured token has expired (error 190, subcode 463).
    Expired,
}

#[derive(Debug)]
pub(crate) struct Control {
    pub(crate) token: TokenState,
    pub(crate) templates: Vec<Template>,
    pub(crate) not_on_whatsapp: HashSet<String>,
    pub(crate) undeliverable_at_once: bool,
    pub(crate) rate_limit: Option<(i64, usize)>,
    pub(crate) delay: Duration,
    pub(crate) webhook: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) token: String,
    pub(crate) phone_number_id: String,
    pub(crate) app_secret: String,
    pub(crate) control: Mutex<Control>,
    pub(crate) received: Mutex<Vec<Received>>,
    pub(crate) sent: Mutex<Vec<SentMessage>>,
    pub(crate) webhook_answers: Mutex<Vec<u16>>,
    pub(crate) next: AtomicU64,
    pub(crate) client: reqwest::Client,
}

pub(crate) type Shared = Arc<Inner>;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Inner {
    /// A fresh number for ids.
    pub(crate) fn next(&self) -> u64 {
        self.next.fetch_add(1, Ordering::SeqCst)
    }
}

/// The Graph API imitation, serving on `127.0.0.1` until dropped.
#[derive(Debug)]
pub struct GraphImitation {
    address: SocketAddr,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for GraphImitation {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl GraphImitation {
    /// Serves an imitation that accepts `token` for the business phone number
    /// `phone_number_id`, and signs its webhooks with `app_secret`. No template is approved
    /// until [`GraphImitation::with_template`].
    ///
    /// # Panics
    ///
    /// When it cannot listen on loopback (test support).
    pub async fn start(token: &str, phone_number_id: &str, app_secret: &str) -> Self {
        let shared = Arc::new(Inner {
            token: token.into(),
            phone_number_id: phone_number_id.into(),
            app_secret: app_secret.into(),
            control: Mutex::new(Control {
                token: TokenState::Valid,
                templates: Vec::new(),
                not_on_whatsapp: HashSet::new(),
                undeliverable_at_once: false,
                rate_limit: None,
                delay: Duration::ZERO,
                webhook: None,
            }),
            received: Mutex::new(Vec::new()),
            sent: Mutex::new(Vec::new()),
            webhook_answers: Mutex::new(Vec::new()),
            next: AtomicU64::new(1),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        });
        let app = Router::new()
            .route("/{version}/{phone}", get(messages::phone_number))
            .route("/{version}/{phone}/messages", post(messages::send))
            .with_state(Arc::clone(&shared));
        #[allow(clippy::expect_used)]
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the Graph API imitation cannot listen on loopback");
        #[allow(clippy::expect_used)]
        let address = listener
            .local_addr()
            .expect("a bound listener has an address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            shared,
            server,
        }
    }

    /// Approves `template`.
    pub fn with_template(self, template: Template) -> Self {
        lock(&self.shared.control).templates.push(template);
        self
    }

    /// `http://127.0.0.1:<port>`, what a sender calls instead of `https://graph.facebook.com`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Makes `digits` a number without WhatsApp: a message to it is accepted, then a `failed`
    /// status webhook with error 131026 follows (what the docs describe), unless
    /// [`GraphImitation::set_undeliverable_at_once`].
    pub fn set_not_on_whatsapp(&self, digits: &str) {
        lock(&self.shared.control)
            .not_on_whatsapp
            .insert(digits.into());
    }

    /// Answers a message to a number without WhatsApp with error 131026 at once instead of in
    /// a webhook (older API behaviour; a sender must handle both).
    pub fn set_undeliverable_at_once(&self, at_once: bool) {
        lock(&self.shared.control).undeliverable_at_once = at_once;
    }

    /// Answers the next `count` sends with rate-limit error `code` (131056, 130429 or 80007).
    pub fn rate_limit_next(&self, code: i64, count: usize) {
        lock(&self.shared.control).rate_limit = Some((code, count));
    }

    /// Waits `delay` before answering each send (after the message was created).
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.shared.control).delay = delay;
    }

    /// Whether the configured token is accepted or expired.
    pub fn set_token_state(&self, state: TokenState) {
        lock(&self.shared.control).token = state;
    }

    /// Where status webhooks go (none: not sent).
    pub fn set_webhook(&self, url: Option<String>) {
        lock(&self.shared.control).webhook = url;
    }

    /// Every request received, in order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// Every message accepted, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        lock(&self.shared.sent).clone()
    }

    /// The HTTP status of each webhook delivery, in order.
    pub fn webhook_answers(&self) -> Vec<u16> {
        lock(&self.shared.webhook_answers).clone()
    }

    /// Sends Meta's verification request to `url` (`GET ?hub.mode=subscribe&hub.challenge=…&
    /// hub.verify_token=…`) and tells whether the answer was 200 with the challenge.
    pub async fn verify_webhook(&self, url: &str, verify_token: &str) -> bool {
        webhooks::verify(&self.shared, url, verify_token).await
    }

    /// Posts a status notification `body` to `url` signed as Meta signs it; returns the answer's
    /// status.
    pub async fn post_signed(&self, url: &str, body: &Value) -> u16 {
        webhooks::post(&self.shared, url, body, true).await
    }

    /// A status notification as Meta shapes it, for message `id` to `to`.
    pub fn status_notification(&self, id: &str, to: &str, status: &str) -> Value {
        webhooks::notification(&self.shared, id, to, status, None)
    }
}
