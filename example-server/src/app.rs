//! The whole site as one axum router: each module's routes, merged, under the site's layers.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};

use crate::answer::{Text, failure};
use crate::client_limit::{self, ClientLimit, Clients};
use crate::config::Config;
use crate::state::AppState;
use crate::{admin, flow, health, login, pages, webhook};

/// The site: the flow under `/api/forgot-password`, the login, the pages, `/healthz` and
/// `/api/openapi.json`, with the per-client limit, a timeout, CORS, security headers (HSTS when
/// serving HTTPS) and a log line per request.
pub fn router(state: AppState, config: &Config) -> Router {
    let limit = ClientLimit::new(
        config.client_rate_limit_per_min,
        config.trusted_proxies.clone(),
    )
    .map(|limit| limit.shared_through(&state.stores.otps));
    let openapi = crate::openapi::router(&state.flow, config);
    let mut api = Router::new()
        .merge(flow::router(state.flow.clone()))
        .merge(login::router())
        .merge(admin::router());
    if let Some(limit) = limit {
        api = api.layer(middleware::from_fn_with_state(limit, limit_posts));
    }
    // Who the client is, for the flow's and the login's counts per client, also when the
    // request limit is off.
    let clients = Clients::new(config.trusted_proxies.clone());
    api = api.layer(middleware::from_fn_with_state(clients, mark_client));
    let timeout = Duration::from_secs(config.request_timeout_secs);
    let site = Router::new()
        .merge(health::router())
        .merge(openapi)
        .merge(pages::router())
        .merge(webhook::router())
        .merge(api)
        .fallback(|request: Request| async move { failure(request.headers(), Text::NotFound) })
        .with_state(state)
        .layer(middleware::from_fn(move |request: Request, next: Next| within(timeout, request, next)))
        .layer(middleware::from_fn(no_store_api))
        .layer(cors(&config.cors_origins))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO).latency_unit(tower_http::LatencyUnit::Millis)),
        );
    if config.tls_cert.is_some() && config.tls_key.is_some() {
        // HTTPS only: a browser ignores the header over plain HTTP, and a server reached over
        // plain HTTP must not claim to be reachable over HTTPS.
        let hsts = format!("max-age={}", config.hsts_max_age_secs);
        if let Ok(hsts) = HeaderValue::from_str(&hsts) {
            return site.layer(SetResponseHeaderLayer::overriding(
                header::STRICT_TRANSPORT_SECURITY,
                hsts,
            ));
        }
    }
    site
}

/// `Cache-Control: no-store` on every API answer that does not say otherwise (the per-client
/// limit's and the timeout's included): answers about accounts belong in no cache.
async fn no_store_api(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    if api {
        response
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    response
}

/// Tells the flow and the login who the client is (the address a trusted proxy vouches for),
/// so that wrong codes and failed logins count per client and a stranger's never use up the
/// user's.
async fn mark_client(
    State(clients): State<Clients>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let address = clients.client(peer.ip(), request.headers());
    request
        .extensions_mut()
        .insert(otp_reset::ClientAddress(address));
    next.run(request).await
}

/// The per-client limit, on the POST routes that cost a message or a password hash: not on
/// delivery-status, which a page polls, so that polling never uses up the user's requests.
async fn limit_posts(
    state: axum::extract::State<ClientLimit>,
    peer: axum::extract::ConnectInfo<std::net::SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let polled = request.uri().path().trim_end_matches('/') == flow::DELIVERY_STATUS;
    if request.method() == Method::POST && !polled {
        client_limit::limit(state, peer, request, next).await
    } else {
        next.run(request).await
    }
}

/// Answers 503 with a JSON message when a request takes longer than `timeout`. A reset that is
/// already under way finishes in its own task.
async fn within(timeout: Duration, request: Request, next: Next) -> Response {
    let headers = request.headers().clone();
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => failure(&headers, Text::Timeout).into_response(),
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::ACCEPT_LANGUAGE])
        .max_age(Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        // Any origin, and so never with credentials (browsers refuse the pair, tower-http panics).
        layer.allow_origin(AllowOrigin::any())
    } else {
        let list: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        layer.allow_origin(AllowOrigin::list(list))
    }
}
