//! Who is asking, as far as per-client limits are concerned.
//!
//! The peer of the connection is the client, unless it is a proxy named in
//! `trusted_proxies`: then the client is the last address in `X-Forwarded-For` that is
//! not one of those proxies (a client can write anything in that header, but only the
//! part our own proxies appended can be believed). An IPv6 client is keyed by its /64,
//! the block one household or one server is handed, so cycling through addresses of one
//! block gains nothing.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;

use crate::domain::IpBlock as Block;
use crate::domain::canonical_ip as canonical;

/// The key per-client limits count under: the client's IPv4 address, or its IPv6 /64.
pub fn client_key(peer: SocketAddr, headers: &HeaderMap, trusted: &[Block]) -> IpAddr {
    let mut client = canonical(peer.ip());
    if trusted.iter().any(|b| b.contains(client)) {
        // Right to left: each trusted proxy appended the address it was talking to.
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in forwarded.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = canonical(ip);
            if !trusted.iter().any(|b| b.contains(client)) {
                break;
            }
        }
    }
    match client {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(peer: &str, forwarded: Option<&str>, trusted: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        if let Some(f) = forwarded {
            headers.insert("x-forwarded-for", f.parse().unwrap());
        }
        let trusted: Vec<Block> = trusted.iter().map(|t| Block::parse(t).unwrap()).collect();
        client_key(peer.parse().unwrap(), &headers, &trusted).to_string()
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(
            key("[2001:db8:1:2:aaaa::1]:443", None, &[]),
            "2001:db8:1:2::"
        );
        assert_eq!(
            key("[2001:db8:1:2:bbbb::9]:443", None, &[]),
            key("[2001:db8:1:2:aaaa::1]:443", None, &[])
        );
        assert_ne!(
            key("[2001:db8:1:3::1]:443", None, &[]),
            key("[2001:db8:1:2::1]:443", None, &[])
        );
        assert_eq!(key("[::ffff:192.0.2.7]:443", None, &[]), "192.0.2.7");
        assert_eq!(key("192.0.2.7:443", None, &[]), "192.0.2.7");
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        // Anyone can send the header: from an untrusted peer it is ignored.
        assert_eq!(key("192.0.2.7:1", Some("198.51.100.1"), &[]), "192.0.2.7");
        assert_eq!(
            key("192.0.2.7:1", Some("198.51.100.1"), &["10.0.0.0/8"]),
            "192.0.2.7"
        );
        // From our proxy: the address it saw, not what the client wrote before it.
        assert_eq!(
            key("10.0.0.5:1", Some("6.6.6.6, 198.51.100.1"), &["10.0.0.0/8"]),
            "198.51.100.1"
        );
        // Through two of our proxies.
        assert_eq!(
            key(
                "10.0.0.5:1",
                Some("198.51.100.1, 10.1.1.1"),
                &["10.0.0.0/8"]
            ),
            "198.51.100.1"
        );
        assert_eq!(
            key("10.0.0.5:1", Some("2001:db8:9:9::77"), &["10.0.0.5"]),
            "2001:db8:9:9::"
        );
        // A proxy that sent nothing usable: the proxy itself is the client.
        assert_eq!(
            key("10.0.0.5:1", Some("unknown"), &["10.0.0.5"]),
            "10.0.0.5"
        );
    }
}
