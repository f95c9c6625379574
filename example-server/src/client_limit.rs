//! A per-client request limit on the routes that cost something (a WhatsApp message, a
//! password hash), keyed by the client's address.

use std::net::{IpAddr, SocketAddr};
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

use crate::answer::{Text, failure};

/// The limit and who counts as the client.
#[derive(Clone, Debug)]
pub struct ClientLimit {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    trusted_proxies: Arc<[IpNet]>,
}

impl ClientLimit {
    /// `per_minute` requests per client address, with bursts of that size; `None` for 0 (off).
    pub fn new(per_minute: u32, trusted_proxies: Vec<IpNet>) -> Option<Self> {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute)?);
        let limiter = Arc::new(RateLimiter::keyed(quota));
        let forget = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(60));
            loop {
                ticks.tick().await;
                let Some(limiter) = forget.upgrade() else {
                    return;
                };
                limiter.retain_recent();
            }
        });
        Some(Self {
            limiter,
            trusted_proxies: trusted_proxies.into(),
        })
    }

    /// The client's address: the peer, unless the peer is a trusted proxy; then the nearest
    /// address in `X-Forwarded-For` that is not one (a client can prepend anything to the
    /// header, but not what the proxies append after it).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return key(peer);
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|hop| hop.trim().parse::<IpAddr>().map(canonical).ok())
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
}

/// IPv4 addresses in their own form, also when written as IPv4-mapped IPv6.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The key a client is counted under: its IPv4 address, or its IPv6 /64 (one subscriber's
/// network, which can rotate through 2^64 addresses).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
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
    let client = limit.client(peer.ip(), request.headers());
    match limit.limiter.check_key(&client) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            failure(
                request.headers(),
                http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                Text::RateLimited(seconds.max(1)),
            )
            .retry_after(seconds.max(1))
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded.parse().unwrap());
        headers
    }

    #[tokio::test]
    async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let limit = ClientLimit::new(10, vec!["10.0.0.0/8".parse().unwrap()]).unwrap();
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            limit.client(stranger, &headers("198.51.100.1")),
            stranger,
            "an untrusted peer cannot claim another address"
        );
        assert_eq!(
            limit.client(proxy, &headers("1.2.3.4, 198.51.100.1")),
            "198.51.100.1".parse::<IpAddr>().unwrap(),
            "the proxy's own entry counts, not what the client prepended"
        );
        assert_eq!(
            limit.client(proxy, &headers("198.51.100.1, 10.0.0.3")),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(limit.client(proxy, &HeaderMap::new()), proxy);
        assert_eq!(
            limit.client(proxy, &headers("1.2.3.4, 198.51.100.1:443")),
            proxy,
            "an unreadable hop ends the walk at the proxy"
        );
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(
            limit.client(a, &HeaderMap::new()),
            limit.client(b, &HeaderMap::new()),
            "one /64 is one client"
        );
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(limit.client(mapped, &HeaderMap::new()), stranger);
    }

    #[tokio::test]
    async fn zero_turns_the_limit_off() {
        assert!(ClientLimit::new(0, Vec::new()).is_none());
    }
}
