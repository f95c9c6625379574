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
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted(ip))
            .unwrap_or(peer)
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
    }

    #[tokio::test]
    async fn zero_turns_the_limit_off() {
        assert!(ClientLimit::new(0, Vec::new()).is_none());
    }
}
