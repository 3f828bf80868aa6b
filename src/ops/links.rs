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

/// Whether an address is on the public internet: not loopback, private, link-local,
/// shared (CGNAT), unique local, multicast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
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

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
