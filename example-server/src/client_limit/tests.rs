//! Unit tests of the parent module.

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
        limit.client(proxy, &headers("1.2.3.4, 198.51.100.1:443, garbage")),
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

#[tokio::test]
async fn forwarded_hops_with_ports_and_brackets_name_the_client() {
    let limit = ClientLimit::new(10, vec!["10.0.0.0/8".parse().unwrap()]).unwrap();
    let proxy: IpAddr = "10.0.0.2".parse().unwrap();
    let v4: IpAddr = "203.0.113.9".parse().unwrap();
    let v6: IpAddr = "2001:db8::".parse().unwrap();
    for (forwarded, client) in [
        ("203.0.113.9", v4),
        ("203.0.113.9:1234", v4),
        ("\"203.0.113.9:1234\"", v4),
        ("[2001:db8::1]", v6),
        ("[2001:db8::1]:443", v6),
        ("\"[2001:db8::1]:443\"", v6),
        ("2001:db8::1", v6),
        ("[::ffff:203.0.113.9]:80", v4),
        ("198.51.100.7, 203.0.113.9:1234, 10.0.0.3:8080", v4),
    ] {
        assert_eq!(
            limit.client(proxy, &headers(forwarded)),
            client,
            "X-Forwarded-For: {forwarded}"
        );
    }
    for unreadable in [
        "[2001:db8::1",
        "203.0.113.9:",
        "[203.0.113.9]",
        "unknown",
        "_hidden",
    ] {
        assert_eq!(
            limit.client(proxy, &headers(unreadable)),
            proxy,
            "X-Forwarded-For: {unreadable} is no address"
        );
    }
}

#[tokio::test]
async fn the_networks_of_an_ipv6_client_are_keyed_by_56_and_48() {
    let client: IpAddr = "2001:db8:aaaa:bbcc::".parse().unwrap();
    assert_eq!(
        wider_networks(client),
        [
            Some("2001:db8:aaaa:bb00::".parse().unwrap()),
            Some("2001:db8:aaaa::".parse().unwrap())
        ]
    );
    assert_eq!(wider_networks("203.0.113.9".parse().unwrap()), [None, None]);
}

/// Client number `n` (a /64) of /56 number `m` of the /48 `2001:db8:1::/48`.
fn in_48(m: u16, n: u16) -> IpAddr {
    let limit_key = key(IpAddr::V6(Ipv6Addr::new(
        0x2001,
        0xdb8,
        1,
        (m << 8) | n,
        0,
        0,
        0,
        1,
    )));
    assert_eq!(
        limit_key,
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, (m << 8) | n, 0, 0, 0, 0))
    );
    limit_key
}

#[tokio::test]
async fn a_56_is_refused_past_four_clients_worth_though_each_64_is_fresh() {
    let limit = ClientLimit::new(2, Vec::new()).unwrap();
    for n in 0..4 {
        for _ in 0..2 {
            assert!(
                limit.check(in_48(0, n)).is_ok(),
                "client {n} within its quota"
            );
        }
        assert!(
            limit.check(in_48(0, n)).is_err(),
            "client {n} over its own quota"
        );
    }
    let wait = limit.check(in_48(0, 4)).unwrap_err();
    assert!(
        wait > Duration::ZERO,
        "a fifth /64 of the /56 waits: the /56 has had 8"
    );
    assert!(
        limit.check(in_48(1, 0)).is_ok(),
        "another /56 of the same /48 is still served"
    );
}

#[tokio::test]
async fn a_48_is_refused_past_sixteen_clients_worth_though_each_56_is_within_its_own() {
    let limit = ClientLimit::new(2, Vec::new()).unwrap();
    // 16 clients' quota is 32 requests: 4 /56s each within their 8.
    for m in 0..4 {
        for n in 0..4 {
            for _ in 0..2 {
                assert!(limit.check(in_48(m, n)).is_ok(), "/56 {m}, client {n}");
            }
        }
    }
    assert!(
        limit.check(in_48(4, 0)).is_err(),
        "a fresh /56 of the same /48 waits: the /48 has had 32"
    );
    let elsewhere: IpAddr = "2001:db8:2::".parse().unwrap();
    assert!(limit.check(elsewhere).is_ok(), "another /48 is served");
    assert!(
        limit.check("203.0.113.9".parse().unwrap()).is_ok(),
        "IPv4 clients have no wider network"
    );
}

#[tokio::test]
async fn a_refused_client_uses_up_nothing_of_its_wider_networks() {
    let limit = ClientLimit::new(2, Vec::new()).unwrap();
    for _ in 0..100 {
        let _ = limit.check(in_48(0, 0));
    }
    for n in 1..4 {
        for _ in 0..2 {
            assert!(
                limit.check(in_48(0, n)).is_ok(),
                "one greedy /64 does not exhaust its /56 for client {n}"
            );
        }
    }
}
