//! Counters of what this process did (messages sent and failed, inbound mail handled,
//! HTTP requests and their latency), for `GET /metrics`. They live for the process, are
//! shared by every part of it, and are bumped where the thing happens; what the
//! database knows (queue, contacts, …) is read at the scrape instead (`ops::metrics`).

use std::sync::OnceLock;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub type Labels = Vec<(&'static str, String)>;

/// Request latency buckets: 1 ms to about 16 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

pub struct Counters {
    pub messages_sent: Counter,
    /// By `class`: `unavailable` (the relay could not be used), `transient` (4xx,
    /// timeout: tried again), `permanent` (5xx).
    pub send_failures: Family<Labels, Counter>,
    /// By `kind` (subscribe, unsubscribe, bounce, …).
    pub inbound_handled: Family<Labels, Counter>,
    /// By `route` (the matched pattern, never the path with its tokens) and `status`.
    pub http_requests: Family<Labels, Counter>,
    pub http_duration: Family<Labels, Histogram, fn() -> Histogram>,
}

pub fn counters() -> &'static Counters {
    static COUNTERS: OnceLock<Counters> = OnceLock::new();
    COUNTERS.get_or_init(|| Counters {
        messages_sent: Counter::default(),
        send_failures: Family::default(),
        inbound_handled: Family::default(),
        http_requests: Family::default(),
        http_duration: Family::new_with_constructor(latency_histogram),
    })
}

/// Puts the counters in `registry` (they stay shared: a family is a handle).
pub fn register(registry: &mut Registry) {
    let c = counters();
    registry.register(
        "nyhetsbrev_messages_sent",
        "Issue messages the relay accepted, sent by this process",
        c.messages_sent.clone(),
    );
    registry.register(
        "nyhetsbrev_send_failures",
        "Issue messages that failed in this process, by failure class",
        c.send_failures.clone(),
    );
    registry.register(
        "nyhetsbrev_inbound_handled",
        "Inbound mail handled by this process, by kind",
        c.inbound_handled.clone(),
    );
    registry.register(
        "nyhetsbrev_http_requests",
        "HTTP requests answered, by route and status",
        c.http_requests.clone(),
    );
    registry.register(
        "nyhetsbrev_http_request_duration_seconds",
        "Time to answer an HTTP request, by route",
        c.http_duration.clone(),
    );
}
