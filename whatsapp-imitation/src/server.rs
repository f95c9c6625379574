//! The HTTP side: the page, its scripts, and the small JSON API the page polls and calls.

use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::state::{Hello, Refusal};
use crate::{SendPath, SentMessage, Shared, lock};

const PAGE_HTML: &str = include_str!("page/page.html");
const REFUSED_HTML: &str = include_str!("page/refused.html");
/// The page's scripts, loaded in this order.
const SCRIPTS: [(&str, &str); 4] = [
    ("events.js", include_str!("page/events.js")),
    ("keys.js", include_str!("page/keys.js")),
    ("modules.js", include_str!("page/modules.js")),
    ("main.js", include_str!("page/main.js")),
];

/// The page's routes; `changes` is bumped after every request, once its change is made.
pub(crate) fn router(shared: Shared, changes: tokio::sync::watch::Sender<u64>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/js/{name}", get(script))
        .route("/favicon.ico", get(favicon))
        .route("/api/hello", post(hello))
        .route("/api/state", get(poll))
        .route("/api/refresh", post(refresh))
        .route("/api/takeover", post(takeover))
        .route("/api/exists", post(exists))
        .route("/api/chat", post(chat))
        .route("/api/send", post(send))
        .with_state(shared)
        .layer(axum::middleware::map_response(move |response: Response| {
            changes.send_modify(|count| *count = count.wrapping_add(1));
            std::future::ready(response)
        }))
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

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The app, or the "update your browser" page for a `HeadlessChrome` user agent.
async fn page(headers: HeaderMap) -> Response {
    let html = if user_agent(&headers).contains("HeadlessChrome") {
        REFUSED_HTML
    } else {
        PAGE_HTML
    };
    with_type("text/html; charset=utf-8", html)
}

async fn script(Path(name): Path<String>) -> Response {
    match SCRIPTS.iter().find(|(file, _)| *file == name) {
        Some((_, body)) => with_type("text/javascript; charset=utf-8", body),
        None => StatusCode::NOT_FOUND.into_response(),
    }
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
    };
    json_response(status, json!({ "error": error }))
}

fn reply<T: serde::Serialize>(result: Result<T, Refusal>) -> Response {
    match result {
        Ok(body) => ok(&body),
        Err(refusal) => refused(refusal),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HelloBody {
    token: Option<String>,
    navigator_user_agent: Option<String>,
    webdriver: Option<bool>,
    #[serde(default)]
    refusal_page: bool,
}

async fn hello(
    AxumState(shared): AxumState<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<HelloBody>,
) -> Response {
    let hello = Hello {
        token: body.token,
        user_agent_header: user_agent(&headers),
        navigator_user_agent: body.navigator_user_agent,
        webdriver: body.webdriver,
        refusal_page: body.refusal_page,
    };
    let reply = lock(&shared).hello(hello, Instant::now());
    ok(&reply)
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: String,
}

async fn poll(AxumState(shared): AxumState<Shared>, Query(query): Query<PageQuery>) -> Response {
    reply(lock(&shared).poll(&query.page, Instant::now()))
}

async fn refresh(
    AxumState(shared): AxumState<Shared>,
    axum::Json(body): axum::Json<PageQuery>,
) -> Response {
    reply(
        lock(&shared)
            .refresh(&body.page, Instant::now())
            .map(|()| json!({})),
    )
}

async fn takeover(
    AxumState(shared): AxumState<Shared>,
    axum::Json(body): axum::Json<PageQuery>,
) -> Response {
    reply(
        lock(&shared)
            .takeover(&body.page, Instant::now())
            .map(|()| json!({})),
    )
}

#[derive(Debug, Deserialize)]
struct WidBody {
    page: String,
    wid: String,
}

async fn exists(
    AxumState(shared): AxumState<Shared>,
    axum::Json(body): axum::Json<WidBody>,
) -> Response {
    let found = lock(&shared).exists(&body.page, &body.wid, Instant::now());
    reply(found.map(|wid| json!({ "wid": wid })))
}

async fn chat(
    AxumState(shared): AxumState<Shared>,
    axum::Json(body): axum::Json<WidBody>,
) -> Response {
    reply(lock(&shared).find_or_create_chat(&body.page, &body.wid, Instant::now()))
}

#[derive(Debug, Deserialize)]
struct SendBody {
    page: String,
    id: String,
    to: String,
    text: String,
    via: String,
}

async fn send(
    AxumState(shared): AxumState<Shared>,
    axum::Json(body): axum::Json<SendBody>,
) -> Response {
    let Some(via) = SendPath::from_name(&body.via) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({ "error": format!("unknown send path {:?}", body.via) }),
        );
    };
    let id = body.id.clone();
    let message = SentMessage {
        id: body.id,
        to: body.to,
        text: body.text,
        via,
    };
    let accepted = lock(&shared).send(&body.page, message, Instant::now());
    // Test hook: the message is created and recorded, and its answer (with it every ack)
    // waits until the test releases it.
    if matches!(&accepted, Ok(accepted) if accepted.held) {
        while lock(&shared).held.contains(&id) {
            tokio::time::sleep(HOLD_CHECK).await;
        }
    }
    reply(accepted)
}

/// How often a held send checks whether the test released it.
const HOLD_CHECK: std::time::Duration = std::time::Duration::from_millis(20);
