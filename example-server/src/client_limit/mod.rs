//! A per-client request limit on the routes that cost something (a WhatsApp message, a
//! password hash), keyed by the client's address.
//!
//! An IPv6 client is its /64 (one subscriber's network, which can rotate through 2^64
//! addresses). One subscriber or site usually holds more than one /64 ([RIPE-690]: a home gets
//! a /56, a business a /48), so the wider networks are counted too, each with a larger quota:
//! a client is refused when its /64, its /56 or its /48 is over its own. See [`WIDER_NETWORKS`].
//!
//! With the codes in Redis, the limit is counted in Redis too ([`ClientLimit::shared_through`]),
//! so that it holds across every server instance; while Redis does not answer, each request is
//! counted in this process instead, so an outage neither opens nor closes the door.
//!
//! [RIPE-690]: https://www.ripe.net/publications/docs/ripe-690/

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::HeaderMap;
use ipnet::IpNet;

use otp_reset_redis::RedisRateLimiter;

use crate::answer::{Text, failure};
use crate::stores::Otps;
use shared::SharedLimit;

/// An IPv6 network wider than a client's /64 that is counted as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WiderNetwork {
    /// Its prefix length.
    pub prefix: u8,
    /// Its quota, in multiples of one client's.
    pub factor: u32,
}

/// The /56 (a home's delegation) gets 4 clients' quota: room for a household's few busy
/// networks, where counting by /64 alone gave whoever holds it 256. The /48 (a site's or an
/// organisation's) gets 16: room for an office's many networks, where counting by /64 alone
/// gave whoever holds it 65,536.
pub const WIDER_NETWORKS: [WiderNetwork; 2] = [
    WiderNetwork {
        prefix: 56,
        factor: 4,
    },
    WiderNetwork {
        prefix: 48,
        factor: 16,
    },
];

/// The wider networks a client (an IPv4 address or an IPv6 /64, as [`ClientLimit::client`]
/// gives it) belongs to, in the order of [`WIDER_NETWORKS`]; none for IPv4.
pub fn wider_networks(client: IpAddr) -> [Option<IpAddr>; 2] {
    match client {
        IpAddr::V4(_) => [None, None],
        IpAddr::V6(v6) => WIDER_NETWORKS.map(|wider| Some(network(v6, wider.prefix))),
    }
}

/// The first `prefix` bits of `ip`, the rest zero.
fn network(ip: Ipv6Addr, prefix: u8) -> IpAddr {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    IpAddr::V6((u128::from(ip) & mask).into())
}

/// The limit and who counts as the client.
#[derive(Clone, Debug)]
pub struct ClientLimit {
    limiters: Arc<Limiters>,
    clients: Clients,
    shared: Option<SharedLimit>,
    per_minute: u32,
}

/// One keyed limiter per width: clients, then each of [`WIDER_NETWORKS`].
#[derive(Debug)]
struct Limiters {
    clients: DefaultKeyedRateLimiter<IpAddr>,
    wider: [DefaultKeyedRateLimiter<IpAddr>; 2],
}

impl ClientLimit {
    /// `per_minute` requests per client address, with bursts of that size, and the multiples
    /// of [`WIDER_NETWORKS`] per wider IPv6 network; `None` for 0 (off).
    pub fn new(per_minute: u32, trusted_proxies: Vec<IpNet>) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        let limiter = |factor: u32| {
            let n = per_minute.saturating_mul(NonZeroU32::new(factor).unwrap_or(NonZeroU32::MIN));
            RateLimiter::keyed(Quota::per_minute(n))
        };
        let limiters = Arc::new(Limiters {
            clients: limiter(1),
            wider: WIDER_NETWORKS.map(|wider| limiter(wider.factor)),
        });
        let forget = Arc::downgrade(&limiters);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(60));
            loop {
                ticks.tick().await;
                let Some(limiters) = forget.upgrade() else {
                    return;
                };
                limiters.clients.retain_recent();
                limiters.wider.iter().for_each(RateLimiter::retain_recent);
            }
        });
        Some(Self {
            limiters,
            clients: Clients::new(trusted_proxies),
            shared: None,
            per_minute: per_minute.get(),
        })
    }

    /// Counts the limit in the Redis that holds the codes, when they are in Redis, so that it
    /// holds across every server instance (the same quotas); the in-process limit stays the
    /// fallback for requests that Redis does not answer in time.
    pub fn shared_through(mut self, otps: &Otps) -> Self {
        if let Otps::Redis(store) = otps {
            self.shared = Some(SharedLimit::new(
                RedisRateLimiter::from_store(store),
                self.per_minute,
            ));
        }
        self
    }

    /// Whether the limit is counted in Redis.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// [`ClientLimit::check`] in Redis when the limit is shared, in this process otherwise and
    /// while Redis does not answer.
    pub async fn check_shared(&self, client: IpAddr) -> Result<(), Duration> {
        if let Some(shared) = &self.shared
            && let Some(decision) = shared.check(client).await
        {
            return decision;
        }
        self.check(client)
    }

    /// The client's address: the peer, unless the peer is a trusted proxy; then the nearest
    /// address in `X-Forwarded-For` that is not one (a client can prepend anything to the
    /// header, but not what the proxies append after it). An IPv6 client is its /64.
    ///
    /// A hop may be a plain address, `203.0.113.9:1234`, `[2001:db8::1]` or
    /// `[2001:db8::1]:443` (the forms of RFC 7239 that proxies also write into
    /// `X-Forwarded-For`).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        self.clients.client(peer, headers)
    }

    /// Counts one request of `client` against its quota and those of its wider networks,
    /// narrowest first, so that a refused request uses up nothing of the networks around it;
    /// `Err` holds how long to wait.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        let limiters = &self.limiters;
        limiters
            .clients
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(now))?;
        for (limiter, network) in limiters.wider.iter().zip(wider_networks(client)) {
            if let Some(network) = network {
                limiter
                    .check_key(&network)
                    .map_err(|not_until| not_until.wait_time_from(now))?;
            }
        }
        Ok(())
    }
}

/// Who a request's client is, without a limit: for the routes that count per client
/// themselves (wrong codes, failed logins), also when the request limit is off.
#[derive(Clone, Debug)]
pub struct Clients {
    trusted_proxies: Arc<[IpNet]>,
}

impl Clients {
    /// Clients behind `trusted_proxies`, as [`ClientLimit::new`] takes them.
    pub fn new(trusted_proxies: Vec<IpNet>) -> Self {
        Self {
            trusted_proxies: trusted_proxies.into(),
        }
    }

    /// The client's address, as [`ClientLimit::client`] gives it.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        client(&self.trusted_proxies, peer, headers)
    }
}

/// [`ClientLimit::client`] for a list of trusted proxies.
pub(crate) fn client(trusted_proxies: &[IpNet], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let peer = canonical(peer);
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return key(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|hop| forwarded_hop(hop).map(canonical))
        .collect::<Vec<_>>();
    // Walk back from the nearest hop; an unreadable hop ends the walk at the last trusted
    // one, so nothing the client wrote before it can be taken for the client.
    let mut client = peer;
    for hop in forwarded.into_iter().rev() {
        match hop {
            Some(ip) if trusted(&ip) => client = ip,
            Some(ip) => return key(ip),
            None => break,
        }
    }
    key(client)
}

/// One `X-Forwarded-For` entry: `ip`, `ipv4:port`, `[ipv6]` or `[ipv6]:port`, perhaps quoted.
fn forwarded_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let hop = hop
        .strip_prefix('"')
        .and_then(|quoted| quoted.strip_suffix('"'))
        .unwrap_or(hop);
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = hop.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let bracketed = hop.strip_prefix('[')?.strip_suffix(']')?;
    bracketed.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// IPv4 addresses in their own form, also when written as IPv4-mapped IPv6.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The key a client is counted under: its IPv4 address, or its IPv6 /64.
pub(crate) fn key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => network(v6, 64),
        v4 => v4,
    }
}

/// Middleware: counts the request against its client, or answers 429 with `Retry-After`.
pub(crate) async fn limit(
    State(limit): State<ClientLimit>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    // The router names the client once for every API request; read what it found.
    let client = request
        .extensions()
        .get::<otp_reset::ClientAddress>()
        .map_or_else(|| limit.client(peer.ip(), request.headers()), |a| a.0);
    match limit.check_shared(client).await {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            failure(request.headers(), Text::RateLimited(seconds.max(1)))
                .retry_after(seconds.max(1))
                .into_response()
        }
    }
}

mod shared;
#[cfg(test)]
mod tests;
