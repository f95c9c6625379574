//! The cap on open connections, in total and per client, checked as each one is accepted.
//!
//! A client is the peer's IPv4 address or IPv6 /64 (a connection comes before any
//! `X-Forwarded-For`), and an IPv6 client's /56 and /48 are capped too, at the multiples of
//! [`WIDER_NETWORKS`]. A trusted proxy carries many clients, so only the total applies to it.
//!
//! A client over its cap is refused. When the server is full, a new connection takes the place
//! of one that has no request in flight, from the client that holds the most: a flood from a
//! few addresses then gives way to every new client, and the server refuses only when every
//! connection is working on a request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use ipnet::IpNet;
use tokio::sync::Notify;

use super::activity::{Activity, Timeouts};
use crate::client_limit::{self, WIDER_NETWORKS, wider_networks};

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Its client (or the client's /56 or /48) already holds its share.
    Client,
    /// The server is full and every connection has a request in flight.
    Full,
}

/// The caps.
#[derive(Clone, Debug)]
pub(crate) struct Caps {
    /// Open connections in all.
    pub(crate) total: usize,
    /// Open connections of one client.
    pub(crate) per_client: usize,
    /// Peers exempt from `per_client`.
    pub(crate) trusted_proxies: Arc<[IpNet]>,
}

/// Every open connection, by client.
#[derive(Debug)]
pub(crate) struct Connections {
    caps: Caps,
    timeouts: Timeouts,
    open: Mutex<Open>,
    /// Notified as each evicted connection closes.
    closed: Notify,
}

/// Evicted connections whose tasks have not yet closed them, at most: beyond, the accept loop
/// waits for them (see [`Connections::settled`]), so that evictions cannot outrun the closing
/// and use up the file handles kept in reserve.
const CLOSING_AT_MOST: usize = 8;

#[derive(Debug, Default)]
struct Open {
    total: usize,
    /// Evicted, not yet closed.
    closing: usize,
    clients: HashMap<IpAddr, Vec<Arc<Activity>>>,
    wider: [HashMap<IpAddr, usize>; 2],
}

/// An admitted connection's place; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct Place {
    connections: Arc<Connections>,
    client: IpAddr,
    activity: Arc<Activity>,
}

impl Place {
    /// The connection's activity (its phase, deadlines and eviction).
    pub(crate) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = self.connections.lock();
        if !open.remove(self.client, &self.activity) {
            // Evicted: counted in `closing` until now.
            open.closing -= 1;
            self.connections.closed.notify_one();
        }
    }
}

impl Connections {
    pub(crate) fn new(caps: Caps, timeouts: Timeouts) -> Arc<Self> {
        Arc::new(Self {
            caps,
            timeouts,
            open: Mutex::default(),
            closed: Notify::new(),
        })
    }

    /// Returns once fewer than [`CLOSING_AT_MOST`] evicted connections are still closing. The
    /// accept loop waits here, new connections waiting meanwhile in the listen queue.
    pub(crate) async fn settled(&self) {
        loop {
            let closed = self.closed.notified();
            if self.lock().closing < CLOSING_AT_MOST {
                return;
            }
            closed.await;
        }
    }

    /// Open connections now.
    pub(crate) fn open(&self) -> usize {
        self.lock().total
    }

    /// A place for a connection from `peer`, or why there is none.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Place, Refused> {
        let client = client_limit::key(peer);
        let wider = wider_networks(client);
        let mut open = self.lock();
        let trusted = self
            .caps
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&client_limit::canonical(peer)));
        if !trusted {
            let held = open.clients.get(&client).map_or(0, Vec::len);
            let wider_full = wider.iter().zip(&open.wider).zip(WIDER_NETWORKS).any(
                |((network, counts), limit)| {
                    network.is_some_and(|network| {
                        let cap = self.caps.per_client.saturating_mul(limit.factor as usize);
                        counts.get(&network).copied().unwrap_or(0) >= cap
                    })
                },
            );
            if held >= self.caps.per_client || wider_full {
                return Err(Refused::Client);
            }
        }
        if open.total >= self.caps.total {
            if open.closing >= CLOSING_AT_MOST {
                return Err(Refused::Full);
            }
            let (victim_client, victim) = open.victim().ok_or(Refused::Full)?;
            open.remove(victim_client, &victim);
            open.closing += 1;
            victim.evict();
        }
        let activity = Activity::new(self.timeouts);
        open.total += 1;
        open.clients
            .entry(client)
            .or_default()
            .push(Arc::clone(&activity));
        for (network, counts) in wider.iter().zip(&mut open.wider) {
            if let Some(network) = network {
                *counts.entry(*network).or_default() += 1;
            }
        }
        Ok(Place {
            connections: Arc::clone(self),
            client,
            activity,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // The counts stay consistent between statements: a panic elsewhere cannot break them.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Open {
    /// A connection with no request in flight, from the client that holds the most.
    fn victim(&self) -> Option<(IpAddr, Arc<Activity>)> {
        self.clients
            .iter()
            .filter_map(|(client, held)| {
                let idle = held.iter().find(|activity| activity.evictable())?;
                Some((held.len(), *client, idle))
            })
            .max_by_key(|(held, ..)| *held)
            .map(|(_, client, activity)| (client, Arc::clone(activity)))
    }

    /// Forgets a connection; `false` if it was already forgotten (evicted).
    fn remove(&mut self, client: IpAddr, activity: &Arc<Activity>) -> bool {
        let Some(held) = self.clients.get_mut(&client) else {
            return false;
        };
        let Some(index) = held.iter().position(|a| Arc::ptr_eq(a, activity)) else {
            return false;
        };
        held.swap_remove(index);
        if held.is_empty() {
            self.clients.remove(&client);
        }
        self.total -= 1;
        for (network, counts) in wider_networks(client).iter().zip(&mut self.wider) {
            if let Some(network) = network
                && let Some(count) = counts.get_mut(network)
            {
                *count -= 1;
                if *count == 0 {
                    counts.remove(network);
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn connections(total: usize, per_client: usize, trusted: &[&str]) -> Arc<Connections> {
        Connections::new(
            Caps {
                total,
                per_client,
                trusted_proxies: trusted.iter().map(|net| net.parse().unwrap()).collect(),
            },
            Timeouts {
                header_read: Duration::from_secs(10),
                idle: Duration::from_secs(60),
                answer: Duration::from_secs(60),
            },
        )
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn a_client_at_its_cap_is_refused_and_others_are_not() {
        let connections = connections(100, 2, &[]);
        let held: Vec<_> = (0..2)
            .map(|_| connections.admit(ip("203.0.113.9")).unwrap())
            .collect();
        assert_eq!(
            connections.admit(ip("203.0.113.9")).unwrap_err(),
            Refused::Client
        );
        assert_eq!(
            connections.admit(ip("::ffff:203.0.113.9")).unwrap_err(),
            Refused::Client,
            "the same address written as IPv6"
        );
        assert!(connections.admit(ip("203.0.113.10")).is_ok());
        drop(held);
        assert!(connections.admit(ip("203.0.113.9")).is_ok(), "places freed");
        assert_eq!(connections.open(), 0);
    }

    #[tokio::test]
    async fn an_ipv6_client_is_its_64_and_its_56_and_48_are_capped_at_4_and_16_clients() {
        let connections = connections(1000, 2, &[]);
        let mut held = vec![
            connections.admit(ip("2001:db8:0:1::1")).unwrap(),
            connections.admit(ip("2001:db8:0:1::2")).unwrap(),
        ];
        assert_eq!(
            connections.admit(ip("2001:db8:0:1:ffff::")).unwrap_err(),
            Refused::Client,
            "one /64"
        );
        for n in 2..5 {
            for _ in 0..2 {
                held.push(
                    connections
                        .admit(ip(&format!("2001:db8:0:{n}::1")))
                        .unwrap(),
                );
            }
        }
        assert_eq!(
            connections.admit(ip("2001:db8:0:5::1")).unwrap_err(),
            Refused::Client,
            "the /56 holds 8 = 4 clients' share"
        );
        for m in 1..4 {
            for n in 0..4 {
                for _ in 0..2 {
                    let address = format!("2001:db8:0:{:x}::1", (m << 8) | n);
                    held.push(connections.admit(ip(&address)).unwrap());
                }
            }
        }
        assert_eq!(held.len(), 32);
        assert_eq!(
            connections.admit(ip("2001:db8:0:f00::1")).unwrap_err(),
            Refused::Client,
            "the /48 holds 32 = 16 clients' share"
        );
        assert!(
            connections.admit(ip("2001:db8:1::1")).is_ok(),
            "another /48"
        );
    }

    #[tokio::test]
    async fn a_trusted_proxy_is_held_to_the_total_only() {
        let connections = connections(5, 1, &["10.0.0.0/8"]);
        let held: Vec<_> = (0..5)
            .map(|_| connections.admit(ip("10.0.0.2")).unwrap())
            .collect();
        assert_eq!(connections.open(), 5);
        drop(held);
    }

    #[tokio::test]
    async fn when_full_a_new_client_takes_an_idle_place_of_the_client_with_the_most() {
        let connections = connections(4, 10, &[]);
        let big: Vec<_> = (0..3)
            .map(|_| connections.admit(ip("203.0.113.1")).unwrap())
            .collect();
        let small = connections.admit(ip("203.0.113.2")).unwrap();
        let newcomer = connections.admit(ip("203.0.113.3")).unwrap();
        assert_eq!(connections.open(), 4);
        let evicted: Vec<_> = big
            .iter()
            .filter(|place| !place.activity().evictable())
            .collect();
        assert_eq!(evicted.len(), 1, "one place of the client with the most");
        assert!(
            small.activity().evictable(),
            "the small client keeps its place"
        );
        drop(big);
        assert_eq!(connections.open(), 2, "the evicted place is counted once");
        drop((small, newcomer));
        assert_eq!(connections.open(), 0);
    }

    #[tokio::test]
    async fn evictions_wait_for_the_evicted_to_close_past_a_few() {
        let connections = connections(CLOSING_AT_MOST, 100, &[]);
        let old: Vec<_> = (0..CLOSING_AT_MOST)
            .map(|_| connections.admit(ip("203.0.113.1")).unwrap())
            .collect();
        let new: Vec<_> = (0..CLOSING_AT_MOST)
            .map(|_| connections.admit(ip("203.0.113.2")).unwrap())
            .collect();
        assert_eq!(
            connections.admit(ip("203.0.113.3")).unwrap_err(),
            Refused::Full,
            "every evicted connection is still closing"
        );
        let settled = tokio::time::timeout(Duration::from_millis(100), connections.settled());
        assert!(settled.await.is_err(), "the accept loop waits");
        let waiting = {
            let connections = Arc::clone(&connections);
            tokio::spawn(async move { connections.settled().await })
        };
        drop(old);
        waiting.await.unwrap();
        assert!(connections.admit(ip("203.0.113.3")).is_ok());
        drop(new);
    }

    #[tokio::test]
    async fn when_full_with_every_request_in_flight_new_connections_are_refused() {
        let connections = connections(2, 10, &[]);
        let places: Vec<_> = (0..2)
            .map(|_| connections.admit(ip("203.0.113.1")).unwrap())
            .collect();
        let in_flight: Vec<_> = places
            .iter()
            .map(|place| place.activity().request_started())
            .collect();
        assert_eq!(
            connections.admit(ip("203.0.113.2")).unwrap_err(),
            Refused::Full
        );
        drop(in_flight);
        assert!(connections.admit(ip("203.0.113.2")).is_ok());
    }
}
