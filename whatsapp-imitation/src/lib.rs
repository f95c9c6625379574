//! An offline imitation of WhatsApp Web, served on loopback, for testing a WhatsApp sender that
//! drives a real headless Chromium.
//!
//! The page at [`Imitation::url`] provides exactly the module surface the sender reads (the
//! "adapter v1 contract"): `window.Debug.VERSION` and `window.require(name)` for
//! `WAWebSocketModel`, `WAWebConnModel`, `WAWebWidFactory`, `WAWebQueryExistsJob`,
//! `WAWebCollections` and `WAWebSendTextMsgChatAction`. The page is a thin client: it polls the
//! server every 150 ms and every moving part (socket life cycle, QR refs, pairing tokens,
//! registered numbers, recorded messages) lives here, where the test steers it.
//!
//! ```no_run
//! # async fn demo() {
//! let imitation = whatsapp_imitation::Imitation::start().await;
//! imitation.register("6281234567890");
//! // ... point the sender's Chromium at imitation.url(), wait for a QR ...
//! assert!(imitation.scan());
//! // ... the page reloads itself once and comes up CONNECTED ...
//! # }
//! ```
//!
//! Timings: `OPENING` lasts ~300 ms after a page loads; `PAIRING` ~500 ms after the scan is
//! noticed, then the page stores its token and reloads once; `CONNECTED` reports
//! `hasSynced: false` for ~500 ms. The page notices anything the test does within one poll
//! (150 ms).

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use tokio::task::JoinHandle;

mod state;

use state::{Refusal, State};

const PAGE_HTML: &str = include_str!("page.html");
const IMITATION_JS: &str = include_str!("imitation.js");

/// What happens to a message after `sendTextMsgToChat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AckBehaviour {
    /// Recorded; the page's message object gets ack 1 after ~100 ms and ack 2 after ~300 ms.
    #[default]
    Delivered,
    /// Recorded; the ack stays 0 forever.
    Stuck,
    /// Not recorded; the promise rejects with `Error("send failed")`.
    Error,
}

/// A message recorded by the imitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The message id the page returned as `message.id._serialized`.
    pub id: String,
    /// The chat it went to, e.g. `"6281234567890@c.us"`.
    pub to: String,
    /// The text.
    pub text: String,
}

type Shared = Arc<Mutex<State>>;

/// A running imitation of WhatsApp Web on `127.0.0.1`. Dropping it stops the server.
#[derive(Debug)]
pub struct Imitation {
    shared: Shared,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Drop for Imitation {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Imitation {
    /// Starts the server on 127.0.0.1 with a free port, on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound (see [`Imitation::try_start`]).
    pub async fn start() -> Imitation {
        match Imitation::try_start().await {
            Ok(imitation) => imitation,
            Err(error) => panic!("whatsapp-imitation: cannot listen on 127.0.0.1: {error}"),
        }
    }

    /// Like [`Imitation::start`], but reports a failure to bind instead of panicking.
    pub async fn try_start() -> io::Result<Imitation> {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared: Shared = Arc::new(Mutex::new(State::default()));
        let app = router(shared.clone());
        let server = tokio::spawn(async move {
            // The server only ends when the task is aborted; an accept error ends it early.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Imitation {
            shared,
            addr,
            server,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared)
    }

    /// The address to give the sender as the WhatsApp Web URL, e.g. `"http://127.0.0.1:PORT/"`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// How long each QR ref is shown before the next one (default 2 s). Applies from the next
    /// rotation on.
    pub fn set_qr_interval(&self, interval: Duration) {
        self.state().qr_interval = interval;
    }

    /// How many refs one page shows before going `UNPAIRED_IDLE` (default 6).
    pub fn set_max_qr_refs(&self, refs: usize) {
        self.state().max_qr_refs = refs;
    }

    /// The QR ref currently shown, if the page is waiting for a scan.
    ///
    /// This is the ref the server last handed to the most recently loaded page, while that page
    /// is `UNPAIRED`.
    pub fn current_qr(&self) -> Option<String> {
        self.state().current_qr()
    }

    /// How many distinct QR refs have been shown so far.
    pub fn qr_refs_shown(&self) -> usize {
        self.state().qr_refs_shown
    }

    /// The phone scans the QR currently shown (returns false if none is shown).
    ///
    /// The page's next poll moves to `PAIRING`; ~500 ms later the page stores its pairing token
    /// in localStorage and reloads itself once, then comes up `CONNECTED`.
    pub fn scan(&self) -> bool {
        self.state().scan()
    }

    /// Numbers (E.164 digits without '+', e.g. `"6281234567890"`) that have WhatsApp.
    pub fn register(&self, digits: &str) {
        let digits = digits.trim().trim_start_matches('+').to_owned();
        self.state().registered.insert(digits);
    }

    /// What happens to the messages sent from now on.
    pub fn set_ack_behaviour(&self, behaviour: AckBehaviour) {
        self.state().ack = behaviour;
    }

    /// Every message recorded, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.state().sent.clone()
    }

    /// The phone logs this session out: every pairing token is forgotten; a paired page goes
    /// `UNPAIRED` with a fresh QR and clears its stored token.
    pub fn log_out(&self) {
        self.state().log_out();
    }

    /// Another session takes over: every `CONNECTED` page goes `CONFLICT`. The pairing stays
    /// valid, so a reloaded page comes up `CONNECTED` again (like "Use here").
    pub fn conflict(&self) {
        self.state().conflict();
    }

    /// WhatsApp Web changed: `window.require(name)` now throws for this module (version drift).
    pub fn drop_module(&self, name: &str) {
        self.state().dropped.insert(name.to_owned());
    }

    /// Undoes [`Imitation::drop_module`].
    pub fn restore_module(&self, name: &str) {
        self.state().dropped.remove(name);
    }

    /// How many times a page has loaded (to observe reloads and relaunches).
    ///
    /// Counted when the page's script says hello, i.e. once per document that ran it.
    pub fn page_loads(&self) -> usize {
        self.state().page_loads
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/imitation.js", get(script))
        .route("/favicon.ico", get(favicon))
        .route("/api/hello", post(hello))
        .route("/api/state", get(poll))
        .route("/api/exists", post(exists))
        .route("/api/send", post(send))
        .with_state(shared)
}

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

fn with_type(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        body,
    )
        .into_response()
}

async fn page() -> Response {
    with_type("text/html; charset=utf-8", PAGE_HTML)
}

async fn script() -> Response {
    with_type("text/javascript; charset=utf-8", IMITATION_JS)
}

async fn favicon() -> StatusCode {
    StatusCode::NO_CONTENT
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, NO_STORE)],
        axum::Json(body),
    )
        .into_response()
}

fn ok<T: serde::Serialize>(body: &T) -> Response {
    match serde_json::to_value(body) {
        Ok(value) => json_response(StatusCode::OK, value),
        Err(error) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": error.to_string() }),
        ),
    }
}

fn refused(refusal: Refusal) -> Response {
    let (status, error) = match refusal {
        Refusal::UnknownPage => (StatusCode::NOT_FOUND, "unknown page"),
        Refusal::NotConnected => (StatusCode::CONFLICT, "not connected"),
        Refusal::SendFailed => (StatusCode::INTERNAL_SERVER_ERROR, "send failed"),
    };
    json_response(status, json!({ "error": error }))
}

#[derive(Debug, Deserialize)]
struct Hello {
    token: Option<String>,
}

async fn hello(
    AxumState(shared): AxumState<Shared>,
    axum::Json(body): axum::Json<Hello>,
) -> Response {
    let reply = lock(&shared).hello(body.token, Instant::now());
    ok(&reply)
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: String,
}

async fn poll(AxumState(shared): AxumState<Shared>, Query(query): Query<PageQuery>) -> Response {
    let reply = lock(&shared).poll(&query.page, Instant::now());
    match reply {
        Ok(reply) => ok(&reply),
        Err(refusal) => refused(refusal),
    }
}

#[derive(Debug, Deserialize)]
struct Exists {
    page: String,
    user: String,
}

async fn exists(
    AxumState(shared): AxumState<Shared>,
    axum::Json(body): axum::Json<Exists>,
) -> Response {
    let reply = lock(&shared).exists(&body.page, &body.user, Instant::now());
    match reply {
        Ok(exists) => json_response(StatusCode::OK, json!({ "exists": exists })),
        Err(refusal) => refused(refusal),
    }
}

#[derive(Debug, Deserialize)]
struct Send {
    page: String,
    to: String,
    text: String,
}

async fn send(
    AxumState(shared): AxumState<Shared>,
    axum::Json(body): axum::Json<Send>,
) -> Response {
    let reply = lock(&shared).send(&body.page, body.to, body.text, Instant::now());
    match reply {
        Ok(accepted) => ok(&accepted),
        Err(refusal) => refused(refusal),
    }
}
