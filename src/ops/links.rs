//! The link check before a send: every link of an issue is fetched (HEAD, then GET if
//! that is refused; 10 s each; at most 5 redirects; several at once) and each broken one
//! is reported with its status and the item it is in.
//!
//! The check must not become a way to probe the internal network from the service:
//! every host is resolved here, and loopback, private, link-local and other
//! non-public addresses are refused (unless `link_check_allow_private`), for the link
//! and for every redirect, whether the address came from DNS or stood in the URL.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::domain::Issue;

/// Per request (HEAD or GET).
pub const LINK_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_REDIRECTS: usize = 5;
/// Links fetched at once.
const PARALLEL: usize = 8;
/// A check is kept this long for the same version of an issue.
const CACHE_FOR: Duration = Duration::from_secs(300);

/// What became of one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// The final answer was a success (2xx) or not-modified.
    Works(u16),
    /// The final answer was an error status (4xx, 5xx).
    Broken(u16),
    Timeout,
    /// The host is on a loopback, private or link-local address.
    PrivateAddress,
    TooManyRedirects,
    /// No answer: the name did not resolve, the connection was refused, TLS failed.
    Unreachable(String),
    /// A mailto link: nothing to fetch.
    NotChecked,
}

impl LinkState {
    pub fn is_broken(&self) -> bool {
        !matches!(self, LinkState::Works(_) | LinkState::NotChecked)
    }
}

/// A link of the issue, where it is, and what became of it.
#[derive(Debug, Clone)]
pub struct LinkReport {
    pub url: String,
    /// The items (or section introductions) the link is in: "Ny veileder".
    pub places: Vec<String>,
    pub state: LinkState,
}

/// Why a fetch was stopped by us, found again in the client's chain of errors.
#[derive(Debug)]
enum Refused {
    Private,
    Redirects,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::Private => "refused: a non-public address",
            Refused::Redirects => "refused: too many redirects",
        })
    }
}

impl std::error::Error for Refused {}

/// IPv4 ranges that the IANA IPv4 Special-Purpose Address Registry marks not globally
/// reachable (or that are not unicast at all), as (network, prefix length). The two
/// anycast addresses inside 192.0.0.0/24 that the registry marks reachable are refused
/// with their block: no newsletter link points at them.
pub const NON_PUBLIC_V4: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // private use
    ([100, 64, 0, 0], 10),   // shared address space (CGNAT)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link local
    ([172, 16, 0, 0], 12),   // private use
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
    ([192, 88, 99, 0], 24),  // deprecated 6to4 relay anycast
    ([192, 168, 0, 0], 16),  // private use
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and the limited broadcast address
];

/// IPv6 ranges inside global unicast (2000::/3) that the IANA IPv6 Special-Purpose
/// Address Registry marks not globally reachable. Everything outside 2000::/3 is
/// refused as a whole: loopback, unspecified, IPv4-compatible, NAT64 (64:ff9b::/96 and
/// 64:ff9b:1::/48, which can wrap a private IPv4 address), discard-only, unique local,
/// link local, site local (fec0::/10) and multicast all lie there.
pub const NON_PUBLIC_V6: &[([u16; 8], u8)] = &[
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments, Teredo, benchmarking
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation
    ([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16), // segment routing SIDs
];

fn v4_in(ip: std::net::Ipv4Addr, (net, len): ([u8; 4], u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from_be_bytes(net) & mask
}

fn v6_in(ip: std::net::Ipv6Addr, (net, len): ([u16; 8], u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(std::net::Ipv6Addr::from(net)) & mask
}

/// Whether an address is on the public internet: not in any range the IANA
/// special-purpose registries mark not globally reachable. An IPv6 address that carries
/// an IPv4 one (IPv4-mapped, 6to4) is judged by the address it carries.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !NON_PUBLIC_V4.iter().any(|&range| v4_in(v4, range)),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            if segments[0] & 0xe000 != 0x2000 {
                return false;
            }
            if segments[0] == 0x2002 {
                // 6to4: 2002:AABB:CCDD::/48 routes to the IPv4 address AA.BB.CC.DD.
                let [a, b] = segments[1].to_be_bytes();
                let [c, d] = segments[2].to_be_bytes();
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)));
            }
            !NON_PUBLIC_V6.iter().any(|&range| v6_in(v6, range))
        }
    }
}

/// Resolves names for the check, keeping only addresses it may fetch.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(Refused::Private) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A host written as an address in a URL never reaches the resolver: checked here.
fn literal_host_allowed(url: &reqwest::Url, allow_private: bool) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(v4)) => allow_private || is_public(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => allow_private || is_public(IpAddr::V6(v6)),
        Some(url::Host::Domain(_)) => true,
        None => false,
    }
}

/// The issue's slug and last change: one check per version.
type CacheKey = (String, i64);
/// A check, and when it was made.
type Checked = (Instant, Vec<LinkReport>);

#[derive(Clone)]
pub struct LinkChecker {
    client: reqwest::Client,
    allow_private: bool,
    cache: Arc<Mutex<HashMap<CacheKey, Checked>>>,
}

impl LinkChecker {
    pub fn new(allow_private: bool) -> Self {
        Self::with_timeout(allow_private, LINK_TIMEOUT)
    }

    /// [`LinkChecker::new`] with another time limit per request (the tests' slow server).
    pub fn with_timeout(allow_private: bool, timeout: Duration) -> Self {
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error(Refused::Redirects)
            } else if !literal_host_allowed(attempt.url(), allow_private) {
                attempt.error(Refused::Private)
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .user_agent("nyhetsbrev-lenkesjekk (KOM)")
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(policy)
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .no_proxy()
            .build()
            .expect("a client with rustls and our resolver builds");
        Self {
            client,
            allow_private,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Checks every link of `issue` (each URL once), in the order they appear.
    /// `version`: the issue's slug and last change, so a saved edit is checked afresh;
    /// `fresh` skips the cache.
    pub async fn check_issue(
        &self,
        issue: &Issue,
        version: (String, i64),
        fresh: bool,
    ) -> Vec<LinkReport> {
        if !fresh
            && let Ok(cache) = self.cache.lock()
            && let Some((at, reports)) = cache.get(&version)
            && at.elapsed() < CACHE_FOR
        {
            return reports.clone();
        }
        let mut order: Vec<String> = Vec::new();
        let mut places: HashMap<String, Vec<String>> = HashMap::new();
        for link in issue.located_links() {
            let place = link
                .item
                .clone()
                .unwrap_or_else(|| format!("innledningen til «{}»", link.section));
            let entry = places.entry(link.url.to_owned()).or_insert_with(|| {
                order.push(link.url.to_owned());
                Vec::new()
            });
            if !entry.contains(&place) {
                entry.push(place);
            }
        }
        let states: HashMap<String, LinkState> = futures_util::stream::iter(order.clone())
            .map(|url| async move {
                let state = self.check(&url).await;
                (url, state)
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        let reports: Vec<LinkReport> = order
            .into_iter()
            .map(|url| LinkReport {
                state: states.get(&url).cloned().unwrap_or(LinkState::NotChecked),
                places: places.remove(&url).unwrap_or_default(),
                url,
            })
            .collect();
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (at, _)| at.elapsed() < CACHE_FOR);
            cache.insert(version, (Instant::now(), reports.clone()));
        }
        reports
    }

    /// One link: HEAD, and GET when HEAD is refused or fails.
    pub async fn check(&self, url: &str) -> LinkState {
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return LinkState::Unreachable("not a web address".into());
        };
        match parsed.scheme() {
            "http" | "https" => {}
            _ => return LinkState::NotChecked,
        }
        if !literal_host_allowed(&parsed, self.allow_private) {
            return LinkState::PrivateAddress;
        }
        let head = self.fetch(reqwest::Method::HEAD, parsed.clone()).await;
        match head {
            LinkState::Works(_)
            | LinkState::PrivateAddress
            | LinkState::TooManyRedirects
            | LinkState::Timeout => head,
            // Some servers refuse HEAD (405, 403, 501) or drop it: ask as a browser does.
            _ => self.fetch(reqwest::Method::GET, parsed).await,
        }
    }

    async fn fetch(&self, method: reqwest::Method, url: reqwest::Url) -> LinkState {
        match self.client.request(method, url).send().await {
            Ok(response) => {
                let status = response.status();
                // The body is never read: dropping the response closes the stream.
                drop(response);
                if status.is_success() || status == reqwest::StatusCode::NOT_MODIFIED {
                    LinkState::Works(status.as_u16())
                } else {
                    LinkState::Broken(status.as_u16())
                }
            }
            Err(e) => classify_error(&e),
        }
    }
}

fn classify_error(e: &reqwest::Error) -> LinkState {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = cause {
        if let Some(refused) = error.downcast_ref::<Refused>() {
            return match refused {
                Refused::Private => LinkState::PrivateAddress,
                Refused::Redirects => LinkState::TooManyRedirects,
            };
        }
        cause = error.source();
    }
    if e.is_timeout() {
        return LinkState::Timeout;
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(error) = cause {
        text = format!("{text}: {error}");
        cause = error.source();
    }
    LinkState::Unreachable(text.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One address from inside each refused range (its first, its last and one in
    /// the middle), and addresses just outside, so a wrong mask shows.
    #[test]
    fn every_range_the_registries_mark_not_globally_reachable_is_refused() {
        for (range, refused) in [
            ("0.0.0.0/8", ["0.0.0.0", "0.1.2.3", "0.255.255.255"]),
            ("10.0.0.0/8", ["10.0.0.0", "10.1.2.3", "10.255.255.255"]),
            (
                "100.64.0.0/10",
                ["100.64.0.0", "100.100.1.1", "100.127.255.255"],
            ),
            ("127.0.0.0/8", ["127.0.0.1", "127.1.2.3", "127.255.255.255"]),
            (
                "169.254.0.0/16",
                ["169.254.0.0", "169.254.169.254", "169.254.255.255"],
            ),
            (
                "172.16.0.0/12",
                ["172.16.0.0", "172.20.1.1", "172.31.255.255"],
            ),
            ("192.0.0.0/24", ["192.0.0.0", "192.0.0.170", "192.0.0.255"]),
            ("192.0.2.0/24", ["192.0.2.0", "192.0.2.55", "192.0.2.255"]),
            (
                "192.88.99.0/24",
                ["192.88.99.0", "192.88.99.1", "192.88.99.255"],
            ),
            (
                "192.168.0.0/16",
                ["192.168.0.0", "192.168.1.1", "192.168.255.255"],
            ),
            (
                "198.18.0.0/15",
                ["198.18.0.0", "198.18.200.1", "198.19.255.255"],
            ),
            (
                "198.51.100.0/24",
                ["198.51.100.0", "198.51.100.7", "198.51.100.255"],
            ),
            (
                "203.0.113.0/24",
                ["203.0.113.0", "203.0.113.9", "203.0.113.255"],
            ),
            ("224.0.0.0/4", ["224.0.0.1", "230.1.2.3", "239.255.255.255"]),
            ("240.0.0.0/4", ["240.0.0.0", "250.1.2.3", "255.255.255.255"]),
            ("::/128, ::1/128", ["::", "::1", "::0.0.0.2"]),
            (
                "IPv4-mapped private",
                ["::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:192.0.2.1"],
            ),
            (
                "64:ff9b::/96 (NAT64)",
                ["64:ff9b::", "64:ff9b::a00:1", "64:ff9b::8.8.8.8"],
            ),
            (
                "64:ff9b:1::/48 (local NAT64)",
                ["64:ff9b:1::", "64:ff9b:1::a00:1", "64:ff9b:1:ffff::1"],
            ),
            (
                "100::/64 (discard)",
                ["100::", "100::1", "100::ffff:ffff:ffff:ffff"],
            ),
            (
                "2001::/23",
                ["2001::", "2001:0:4136:e378::1", "2001:1ff:ffff::1"],
            ),
            (
                "2001:db8::/32",
                ["2001:db8::", "2001:db8:1::1", "2001:db8:ffff::1"],
            ),
            (
                "2002::/16 with a private IPv4 inside",
                ["2002:a00:1::1", "2002:7f00:1::", "2002:c0a8:101::1"],
            ),
            ("3fff::/20", ["3fff::", "3fff:1::1", "3fff:fff:ffff::1"]),
            ("5f00::/16", ["5f00::", "5f00:1::1", "5f00:ffff::1"]),
            ("fc00::/7", ["fc00::", "fd00::1", "fdff:ffff::1"]),
            ("fe80::/10", ["fe80::", "fe80::1", "febf:ffff::1"]),
            (
                "fec0::/10 (site local)",
                ["fec0::", "fec0::1", "feff:ffff::1"],
            ),
            ("ff00::/8", ["ff00::", "ff02::1", "ffff:ffff::1"]),
        ] {
            for address in refused {
                assert!(!is_public(address.parse().unwrap()), "{address} in {range}");
            }
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.0.3.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:2800:220:1:248:1893:25c8:1946",
            "2001:200::1",
            "2002:808:808::1",
            "2a01:4f8::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
