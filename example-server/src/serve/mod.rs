//! Serving the site over HTTP or HTTPS so that it keeps answering through floods of idle,
//! slow and half-sent connections.
//!
//! One accept loop serves both (HTTPS adds a rustls handshake, itself timed). Each connection
//! is held to:
//!
//! - a header read timeout: a request head must be whole within it, counted from the
//!   connection's start or from the first byte of its next request;
//! - an idle timeout: after an answer, the next request must start within it;
//! - an answer timeout, twice the request timeout: the handler has the request timeout, and
//!   writing the answer to a client that reads slowly or not at all as long again;
//! - a header size limit: hyper answers a larger head with 431 and closes the connection, so
//!   at most that much is buffered per connection;
//! - caps on open connections, in total and per client (see `connections`), checked as each
//!   one is accepted: a refused connection is closed at once, so the listen queue keeps
//!   moving and the file handles never run out.
//!
//! SIGTERM or Ctrl-C stops the accepting; requests in flight get until a drain deadline.

mod activity;
mod connections;
mod files;
mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use self::activity::{Activity, Answer, Timeouts, Watched};
use self::connections::{Caps, Connections, Place, Refused};
pub use self::files::{FileLimit, connection_cap, raise_file_limit};
pub use self::tls::acceptor;
use crate::config::{Config, ConfigError};

/// How connections are held.
#[derive(Clone, Debug)]
pub struct Limits {
    /// To send a whole request head.
    pub header_read_timeout: Duration,
    /// To start the next request on a kept-alive connection.
    pub idle_timeout: Duration,
    /// To finish a TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// To handle a request and write its answer.
    pub answer_timeout: Duration,
    /// The largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections per client address (IPv4 address, IPv6 /64).
    pub max_connections_per_client: usize,
    /// Peers held to the total cap only.
    pub trusted_proxies: Vec<IpNet>,
    /// How long requests in flight get to finish at shutdown.
    pub drain: Duration,
}

impl Limits {
    /// The limits from the settings: raises the soft file-handle limit to the hard one and caps
    /// the connections to the handles left after `FILE_HANDLE_RESERVE`; logs both.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let soft = match raise_file_limit() {
            Ok(limit) => {
                tracing::info!(
                    was = limit.was,
                    soft = limit.soft,
                    hard = limit.hard,
                    "file handle limit raised to the hard limit"
                );
                limit.soft
            }
            Err(error) => {
                let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(u64::MAX, |l| l.0);
                tracing::warn!(%error, soft, "cannot raise the file handle limit");
                soft
            }
        };
        let reserve = config.file_handle_reserve;
        let max_connections =
            connection_cap(config.max_connections, soft, reserve).ok_or_else(|| ConfigError {
                setting: "FILE_HANDLE_RESERVE",
                problem: format!(
                    "it keeps {reserve} file handles, and the process may open only {soft}: \
                     none are left for connections (raise the limit, e.g. LimitNOFILE= in systemd)"
                ),
            })?;
        tracing::info!(
            max_connections,
            max_connections_per_client = config.max_connections_per_client,
            file_handles = soft,
            reserved = reserve,
            "connection caps"
        );
        Ok(Self {
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(config.idle_timeout_secs),
            tls_handshake_timeout: Duration::from_secs(config.tls_handshake_timeout_secs),
            answer_timeout: Duration::from_secs(config.request_timeout_secs.saturating_mul(2)),
            max_header_bytes: config.max_header_bytes,
            max_connections,
            max_connections_per_client: config.max_connections_per_client,
            trusted_proxies: config.trusted_proxies.clone(),
            // A handler answers within the request timeout; a few seconds more to write it.
            drain: Duration::from_secs(config.request_timeout_secs + 5),
        })
    }
}

/// Serves `router` on `listener` (HTTPS with `tls`) until `shutdown` resolves, then drains.
/// Handlers get the peer as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let connections = Connections::new(
        Caps {
            total: limits.max_connections,
            per_client: limits.max_connections_per_client,
            trusted_proxies: limits.trusted_proxies.clone().into(),
        },
        Timeouts {
            header_read: limits.header_read_timeout,
            idle: limits.idle_timeout,
            answer: limits.answer_timeout,
        },
    );
    let mut http = http1::Builder::new();
    http.max_header_size(limits.max_header_bytes)
        // hyper's smallest buffer; the head's own limit applies within it.
        .max_buf_size(limits.max_header_bytes.max(8192))
        // Ours counts from a request's first byte (hyper's from the end of the last answer).
        .header_read_timeout(None);
    let graceful = GracefulShutdown::new();
    let mut refusals = Refusals::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = async {
                connections.settled().await;
                listener.accept().await
            } => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
        };
        let place = match connections.admit(peer.ip()) {
            Ok(place) => place,
            Err(refused) => {
                // Dropping the stream closes it at once.
                refusals.count(refused, connections.open());
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            peer,
            router: router.clone(),
            http: http.clone(),
            watcher: graceful.watcher(),
        };
        tokio::spawn(connection.run(stream, tls.clone(), limits.tls_handshake_timeout, place));
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.open(),
            "drain deadline passed: closing the connections still open"
        );
    }
}

/// One accepted connection.
struct Connection {
    peer: SocketAddr,
    router: Router,
    http: http1::Builder,
    watcher: Watcher,
}

impl Connection {
    async fn run(
        self,
        stream: TcpStream,
        tls: Option<TlsAcceptor>,
        handshake_timeout: Duration,
        place: Place,
    ) {
        let peer = self.peer;
        let activity = Arc::clone(place.activity());
        let served = async {
            match tls {
                None => self.serve(stream, Arc::clone(&activity)).await,
                Some(tls) => {
                    match tokio::time::timeout(handshake_timeout, tls.accept(stream)).await {
                        Ok(Ok(stream)) => self.serve(stream, Arc::clone(&activity)).await,
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        };
        tokio::select! {
            () = served => {}
            closed = activity.closed() => tracing::debug!(%peer, ?closed, "connection closed"),
        }
        drop(place);
    }

    async fn serve<S>(self, stream: S, activity: Arc<Activity>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Self {
            peer,
            router,
            http,
            watcher,
        } = self;
        let io = TokioIo::new(Watched::new(stream, Arc::clone(&activity)));
        let service = service_fn(move |mut request: Request<Incoming>| {
            let in_flight = activity.request_started();
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let Ok(response) = router.oneshot(request).await;
                Ok::<_, Infallible>(response.map(|body| Answer::new(body, in_flight)))
            }
        });
        if let Err(error) = watcher.watch(http.serve_connection(io, service)).await {
            tracing::debug!(%peer, %error, "connection ended with an error");
        }
    }
}

/// Refused connections, logged at most every ten seconds: a flood must not fill the log.
#[derive(Debug, Default)]
struct Refusals {
    over_client_cap: u64,
    server_full: u64,
    logged: Option<Instant>,
}

impl Refusals {
    fn count(&mut self, refused: Refused, open: usize) {
        match refused {
            Refused::Client => self.over_client_cap += 1,
            Refused::Full => self.server_full += 1,
        }
        if self
            .logged
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(10))
        {
            tracing::warn!(
                over_client_cap = self.over_client_cap,
                server_full = self.server_full,
                open,
                "connections refused"
            );
            *self = Self {
                logged: Some(Instant::now()),
                ..Self::default()
            };
        }
    }
}

/// After a failed accept: nothing for errors of the one connection; a pause otherwise (out of
/// file handles or memory), so as not to spin.
async fn accept_failed(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        tracing::error!(%error, "cannot accept a connection");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
