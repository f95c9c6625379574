//! Who guesses and for which pair: the keys that attempts and stand-ins are counted under.

use std::net::IpAddr;

/// The client address a request came from, as an app puts it in the request's extensions for
/// the service to count failed guesses per client (the service never reads a socket itself).
///
/// An app behind a proxy puts the address the proxy vouches for. Without it, every request
/// counts as one client, and a stranger's wrong guesses use up the user's own.
///
/// ```
/// use otp_reset::ClientAddress;
///
/// let mut request = http::Request::new(String::new());
/// request.extensions_mut().insert(ClientAddress("203.0.113.9".parse()?));
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    /// The network one client is taken to be: an IPv4 address (also written as IPv4-mapped
    /// IPv6), or an IPv6 /64 (one subscriber's network, which can rotate through 2^64 addresses).
    pub fn network(self) -> IpAddr {
        match self.0 {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6((u128::from(v6) & !(u128::from(u64::MAX))).into()),
            },
            v4 => v4,
        }
    }
}

/// The opaque key a store counts one client's wrong guesses under: a keyed digest of its
/// network ([`ClientAddress::network`]), so a data file holds no addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientKey(u64);

impl ClientKey {
    /// The key of requests that carry no [`ClientAddress`].
    pub const UNKNOWN: ClientKey = ClientKey(0);

    /// The key as a store writes it.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// A key a store wrote.
    pub fn from_u64(raw: u64) -> Self {
        Self(raw)
    }
}

/// The opaque key of a name and phone pair that matches no user: a keyed digest of the name
/// as [`names_match`](crate::names_match) compares it, so "john  doe" and "John Doe" share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PairKey(u64);

impl PairKey {
    /// The key as a store writes it.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// A key a store wrote.
    pub fn from_u64(raw: u64) -> Self {
        Self(raw)
    }
}

/// Wrong guesses at one code, per client: each client has the policy's attempts, so a
/// stranger's guesses never use up the user's own.
///
/// Holds nothing until the first wrong guess; never more entries than the per-phone lockout
/// lets failures through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attempts(Vec<(ClientKey, u32)>);

impl Attempts {
    /// Wrong guesses by `client`.
    pub fn by(&self, client: ClientKey) -> u32 {
        self.0
            .iter()
            .find(|(key, _)| *key == client)
            .map_or(0, |&(_, count)| count)
    }

    /// Wrong guesses by every client together.
    pub fn total(&self) -> u32 {
        self.0
            .iter()
            .fold(0u32, |sum, &(_, count)| sum.saturating_add(count))
    }

    /// Counts one more wrong guess by `client`; returns its guesses now.
    pub fn count(&mut self, client: ClientKey) -> u32 {
        match self.0.iter_mut().find(|(key, _)| *key == client) {
            Some((_, count)) => {
                *count = count.saturating_add(1);
                *count
            }
            None => {
                self.0.push((client, 1));
                1
            }
        }
    }

    /// Each client with its wrong guesses, for a store to write.
    pub fn iter(&self) -> impl Iterator<Item = (ClientKey, u32)> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<(ClientKey, u32)> for Attempts {
    fn from_iter<I: IntoIterator<Item = (ClientKey, u32)>>(iter: I) -> Self {
        let mut attempts = Attempts::default();
        for (client, count) in iter {
            if count > 0 {
                match attempts.0.iter_mut().find(|(key, _)| *key == client) {
                    Some((_, kept)) => *kept = kept.saturating_add(count),
                    None => attempts.0.push((client, count)),
                }
            }
        }
        attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_its_ipv4_address_or_its_ipv6_64() {
        let network = |ip: &str| ClientAddress(ip.parse().unwrap()).network();
        assert_eq!(network("2001:db8:1:2::1"), network("2001:db8:1:2:ffff::9"));
        assert_ne!(network("2001:db8:1:2::1"), network("2001:db8:1:3::1"));
        assert_eq!(network("::ffff:203.0.113.9"), network("203.0.113.9"));
    }

    #[test]
    fn attempts_count_per_client() {
        let (a, b) = (ClientKey::from_u64(1), ClientKey::from_u64(2));
        let mut attempts = Attempts::default();
        assert_eq!(attempts.count(a), 1);
        assert_eq!(attempts.count(a), 2);
        assert_eq!(attempts.count(b), 1);
        assert_eq!(
            (attempts.by(a), attempts.by(b), attempts.total()),
            (2, 1, 3)
        );
        let copy: Attempts = attempts.iter().collect();
        assert_eq!(copy, attempts);
    }
}
