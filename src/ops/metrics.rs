//! `GET /metrics` in the Prometheus (OpenMetrics) text format: what the database knows,
//! read at each scrape from the counts the triggers keep, beside this process's own
//! counters (`crate::metrics`).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Dashboard;
use crate::domain::Timestamp;
use crate::metrics::Labels;
use crate::store::{Store, StoreError};

/// The limits in force, from settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caps {
    pub hourly: Option<u64>,
    pub daily: Option<u64>,
    /// Messages a second, per sending process.
    pub rate: Option<f64>,
}

/// The send rate is the change of the sent total between scrapes, from samples kept
/// this long; a count of the rows sent lately (which costs in proportion to the rate)
/// is made only when there is no earlier sample, over this short window.
const RATE_SAMPLES_KEPT: std::time::Duration = std::time::Duration::from_secs(120);
const FIRST_RATE_WINDOW_MS: i64 = 10_000;

#[derive(Clone)]
pub struct Metrics {
    store: Store,
    /// (when, issue messages sent in all) at earlier scrapes, oldest first.
    samples:
        std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(std::time::Instant, i64)>>>,
    /// The relay's state (probed at most once a minute); `None`: sending to a folder.
    dashboard: Option<Dashboard>,
    caps: Caps,
}

type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

fn gauge(value: i64) -> Gauge {
    let g = Gauge::default();
    g.set(value);
    g
}

fn float_gauge(value: f64) -> FloatGauge {
    let g = FloatGauge::default();
    g.set(value);
    g
}

fn family(rows: impl IntoIterator<Item = (Labels, i64)>) -> Family<Labels, Gauge> {
    let family = Family::<Labels, Gauge>::default();
    for (labels, n) in rows {
        family.get_or_create(&labels).set(n);
    }
    family
}

impl Metrics {
    pub fn new(store: Store, dashboard: Option<Dashboard>, caps: Caps) -> Self {
        Self {
            store,
            samples: Default::default(),
            dashboard,
            caps,
        }
    }

    /// The rate since the oldest kept sample at least a second old, after recording
    /// this one; `None` when there is none yet.
    fn rate_from_samples(&self, sent: i64) -> Option<f64> {
        let now = std::time::Instant::now();
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        while samples
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > RATE_SAMPLES_KEPT)
        {
            samples.pop_front();
        }
        let rate = samples
            .iter()
            .find(|(at, _)| now.duration_since(*at).as_secs_f64() >= 1.0)
            .map(|(at, then)| (sent - then).max(0) as f64 / now.duration_since(*at).as_secs_f64());
        // At most one sample a second: many scrapers cannot grow the list.
        if samples
            .back()
            .is_none_or(|(at, _)| now.duration_since(*at).as_secs_f64() >= 1.0)
        {
            samples.push_back((now, sent));
        }
        rate
    }

    /// Every metric, as the scrape's text.
    pub async fn render(&self) -> Result<String, StoreError> {
        let now = Timestamp::now();
        let snapshot = self.store.metrics_snapshot(now).await?;
        let mut registry = Registry::default();
        let queued = snapshot
            .deliveries
            .iter()
            .find(|(status, _)| status == "queued")
            .map_or(0, |(_, n)| *n);
        registry.register(
            "nyhetsbrev_deliveries",
            "Deliveries of every issue by status (retrying: queued again after a temporary failure)",
            family(
                snapshot
                    .deliveries
                    .iter()
                    .map(|(status, n)| (vec![("status", status.clone())], *n)),
            ),
        );
        registry.register(
            "nyhetsbrev_queue_depth",
            "Deliveries waiting to be sent",
            gauge(queued),
        );
        registry.register(
            "nyhetsbrev_oldest_due_delivery_seconds",
            "How long the oldest delivery that is due has waited (0: none is due)",
            float_gauge(snapshot.oldest_due_seconds),
        );
        let sent = snapshot
            .deliveries
            .iter()
            .find(|(status, _)| status == "sent")
            .map_or(0, |(_, n)| *n);
        let rate = match self.rate_from_samples(sent) {
            Some(rate) => rate,
            None => {
                let since = Timestamp::from_unix_ms(now.unix_ms() - FIRST_RATE_WINDOW_MS);
                self.store.sent_since_count(since).await? as f64
                    / (FIRST_RATE_WINDOW_MS as f64 / 1000.0)
            }
        };
        registry.register(
            "nyhetsbrev_send_rate_per_second",
            "Issue messages sent a second (all processes), since an earlier scrape of up to two minutes ago",
            float_gauge(rate),
        );
        registry.register(
            "nyhetsbrev_contacts",
            "Contacts by status (bounced: stopped after hard bounces)",
            family(
                snapshot
                    .contacts
                    .iter()
                    .map(|(status, n)| (vec![("status", status.clone())], *n)),
            ),
        );
        registry.register(
            "nyhetsbrev_inbound_messages",
            "Inbound mail recorded, by kind",
            family(
                snapshot
                    .inbound
                    .iter()
                    .map(|(kind, n)| (vec![("kind", kind.clone())], *n)),
            ),
        );
        registry.register(
            "nyhetsbrev_notices",
            "Mails answering a request (confirmation, leave link), by purpose and status",
            family(snapshot.notices.iter().map(|(purpose, status, n)| {
                (
                    vec![("purpose", purpose.clone()), ("status", status.clone())],
                    *n,
                )
            })),
        );
        if let Some(cap) = self.caps.hourly {
            registry.register(
                "nyhetsbrev_hourly_cap",
                "Messages allowed in any 60 minutes (hourly_cap)",
                gauge(cap as i64),
            );
        }
        if let Some(cap) = self.caps.daily {
            registry.register(
                "nyhetsbrev_daily_cap",
                "Messages allowed in any 24 hours (daily_cap)",
                gauge(cap as i64),
            );
        }
        if let Some(rate) = self.caps.rate {
            registry.register(
                "nyhetsbrev_send_rate_limit",
                "Messages a second a sending process may send (send_rate)",
                float_gauge(rate),
            );
        }
        if let Some(dashboard) = &self.dashboard {
            let up = dashboard.relay_problem().await.is_none();
            registry.register(
                "nyhetsbrev_relay_up",
                "Whether the SMTP relay answered its last probe (at most one a minute)",
                gauge(i64::from(up)),
            );
        }
        let (size, idle) = self.store.pool_use();
        registry.register(
            "nyhetsbrev_db_connections",
            "Database connections this process holds, by state",
            family([
                (vec![("state", "idle".to_owned())], idle as i64),
                (
                    vec![("state", "busy".to_owned())],
                    i64::from(size).saturating_sub(idle as i64),
                ),
            ]),
        );
        if let Some(at) = snapshot.last_backup {
            registry.register(
                "nyhetsbrev_last_backup_age_seconds",
                "Time since the last backup was made (absent: never)",
                float_gauge((now.unix_ms() - at.unix_ms()).max(0) as f64 / 1000.0),
            );
        }
        crate::metrics::register(&mut registry);
        let mut text = String::with_capacity(8 * 1024);
        encode(&mut text, &registry).expect("writing to a String cannot fail");
        Ok(text)
    }
}
