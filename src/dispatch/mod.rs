//! The delivery worker: claim due deliveries with a lease, build each personal message,
//! send it, record the result.
//!
//! Inside one process four kinds of task share the work, each in its own file, handing
//! work on through channels:
//! - the claimer (`claim.rs`) takes batches from the queue with a lease, within the
//!   caps, and puts one `Job` per delivery on the job channel. Each job holds a permit
//!   of the in-flight semaphore (at most four batches), so leases do not run out while
//!   messages wait;
//! - one sender per relay connection (`send.rs`) takes jobs from that channel, waits
//!   for the shared rate limiter, builds and signs the message, sends it, and puts a
//!   `Done` (the outcome, still holding the permit) on the result channel;
//! - the recorder (`record.rs`) writes outcomes in batches, one transaction each, and
//!   only then drops their permits, so the caps count a sent message until the
//!   database says it was sent;
//! - the watcher (`watch.rs`) looks every quarter second for contacts who left and
//!   issues that were cancelled; a sender drops such jobs instead of sending them.
//!
//! Nothing is sent on a lease that is about to run out: another worker may take it over.

mod claim;
mod record;
pub mod schedule;
mod send;
mod watch;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio::time::Instant;

use crate::config::{ConfigError, Settings};
use crate::domain::{DeliveryId, EmailAddress, IssueId, TokenKey};
use crate::mail::{Outgoing, PreparedIssue, SendError, Transport};
use crate::render::RenderContext;
use crate::store::{ClaimedDelivery, Outcome, Store, StoreError};
use record::{Counters, record};
use send::BounceAddress;
use watch::{Departures, watch_departures};

/// How a worker paces and retries.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Messages per second for this process; `None`: as fast as the relay takes them.
    pub rate: Option<f64>,
    /// At most this many messages in any 60 minutes / 24 hours (all workers together).
    pub hourly_cap: Option<u64>,
    pub daily_cap: Option<u64>,
    /// Relay connections (and so messages in transit) at once.
    pub connections: usize,
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one, with jitter.
    pub retry_delay: Duration,
    pub bounce_threshold: u32,
    /// How long a claim holds its deliveries.
    pub lease: Duration,
    /// Deliveries claimed at once.
    pub batch: usize,
    /// How often to look again while a cap holds the send back.
    pub cap_recheck: Duration,
    /// How often to look for work when there was none.
    pub idle_poll: Duration,
    /// Work on this issue only.
    pub only_issue: Option<IssueId>,
    /// Return once `only_issue` has nothing left in the queue (`issue send --follow`).
    pub until_done: bool,
    /// A planned send found later than this is not started (`schedule_grace_minutes`).
    pub schedule_grace: Duration,
    /// Planned sends start only once approved (`send_approval`).
    pub send_approval: bool,
    /// How often to look for planned sends that are due.
    pub schedule_poll: Duration,
}

impl DispatchSettings {
    pub fn from_settings(settings: &Settings) -> Self {
        let rate = settings.send_rate;
        // About five seconds of work per claim at a set rate, so a contact who leaves
        // is seen before much of the queue is in flight; 200 when unlimited.
        let batch = rate.map_or(200, |r| (r * 5.0).clamp(1.0, 200.0) as usize);
        DispatchSettings {
            rate,
            hourly_cap: settings.hourly_cap,
            daily_cap: settings.daily_cap,
            connections: settings.smtp_connections as usize,
            max_attempts: settings.max_attempts,
            retry_delay: Duration::from_secs_f64(settings.retry_delay),
            bounce_threshold: settings.bounce_threshold,
            lease: Duration::from_secs_f64(settings.lease_time),
            cap_recheck: Duration::from_secs(60),
            batch,
            idle_poll: Duration::from_secs(1),
            only_issue: None,
            until_done: false,
            schedule_grace: Duration::from_secs(u64::from(settings.schedule_grace_minutes) * 60),
            send_approval: settings.send_approval,
            schedule_poll: Duration::from_secs(20),
        }
    }
}

/// What a worker did while it ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
    pub skipped: u64,
    pub released: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("issue #{issue} cannot be prepared for sending: {cause}")]
    Prepare { issue: IssueId, cause: PrepareError },
    #[error("could not send: {0}")]
    Send(SendError),
}

/// Why a stored issue could not be made ready to send.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Source(#[from] crate::render::SourceError),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
}

/// Everything a worker needs; cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    outgoing: Outgoing,
    render: RenderContext,
    bounce: BounceAddress,
    /// Signs Message-IDs (and, through `bounce`, bounce addresses).
    key: TokenKey,
    settings: DispatchSettings,
    /// Who holds the leases: host, process and a random tail.
    owner: Arc<str>,
}

/// One message to send.
struct Job {
    delivery: ClaimedDelivery,
    issue: Arc<PreparedIssue>,
    /// Do not start sending after this: the lease must outlive the attempt.
    send_before: Instant,
    permit: tokio::sync::OwnedSemaphorePermit,
    /// The span of the batch it was claimed in: what a sender logs about it is in there.
    batch: tracing::Span,
}

/// A finished job on its way to the recorder. It keeps its in-flight permit until its
/// outcome is written: the caps count what is in flight, and a sent message is in flight
/// until the database says it was sent.
struct Done {
    delivery_id: DeliveryId,
    outcome: Outcome,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Dispatcher {
    /// `key` (`token_key`) signs every message's bounce address and Message-ID;
    /// `bounce_address` is the envelope sender each delivery gets a variant of.
    pub fn new(
        store: Store,
        outgoing: Outgoing,
        render: RenderContext,
        key: TokenKey,
        bounce_address: &EmailAddress,
        settings: DispatchSettings,
    ) -> Result<Self, ConfigError> {
        Ok(Dispatcher {
            store,
            outgoing,
            render,
            bounce: BounceAddress::new(bounce_address, key.clone())?,
            key,
            settings,
            owner: worker_name().into(),
        })
    }

    pub fn with_settings(mut self, change: impl FnOnce(&mut DispatchSettings)) -> Self {
        change(&mut self.settings);
        self
    }

    pub fn transport(&self) -> &Transport {
        &self.outgoing.transport
    }

    /// Works until `shutdown` turns true (or, with `until_done`, the issue is done):
    /// messages in transit are finished and recorded, leases not used are released.
    pub async fn run(
        &self,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<RunReport, DispatchError> {
        let settings = &self.settings;
        // Two batches being sent while two more wait to be recorded or claimed keeps the
        // relay connections busy across a database round trip.
        let in_flight_limit = settings.batch * 4;
        let permits = Arc::new(Semaphore::new(in_flight_limit));
        let (job_tx, job_rx) = mpsc::unbounded_channel::<Job>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (result_tx, result_rx) = mpsc::unbounded_channel::<Done>();
        let stopping = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        // A lease bounds how long a claimed delivery can wait to be sent; a minute more
        // covers the watcher's own lag.
        let departures = Arc::new(Departures::new(
            settings.lease + std::time::Duration::from_secs(60),
        ));
        let limiter = settings.rate.map(|rate| Arc::new(rate_limiter(rate)));
        tracing::info!(owner = %self.owner, transport = %self.outgoing.transport.describe(), "worker started");

        let recorder = tokio::spawn(record(
            self.store.clone(),
            Arc::clone(&self.owner),
            settings.bounce_threshold,
            result_rx,
            Arc::clone(&counters),
        ));
        let mut senders = Vec::new();
        for _ in 0..settings.connections.max(1) {
            senders.push(tokio::spawn(self.clone().send_jobs(
                Arc::clone(&job_rx),
                result_tx.clone(),
                limiter.clone(),
                Arc::clone(&stopping),
                Arc::clone(&departures),
            )));
        }
        drop(result_tx);
        let watcher = tokio::spawn(watch_departures(
            self.store.clone(),
            Arc::clone(&departures),
        ));

        // Every worker that sends any issue also starts planned sends when they are due.
        let planner = settings.only_issue.is_none().then(|| {
            let store = self.store.clone();
            let (grace, approval, poll) = (
                settings.schedule_grace,
                settings.send_approval,
                settings.schedule_poll,
            );
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    if let Err(e) = schedule::start_due_sends(&store, grace, approval).await {
                        tracing::warn!(error = %e, "could not look for planned sends");
                    }
                    if sleep_or_stop(&mut stop, poll).await {
                        return;
                    }
                }
            })
        });
        let claimed = self
            .claim_loop(&permits, in_flight_limit, &job_tx, &mut shutdown)
            .await;
        if let Some(planner) = planner {
            planner.abort();
        }
        stopping.store(*shutdown.borrow(), Ordering::SeqCst);
        drop(job_tx);
        for sender in senders {
            let _ = sender.await;
        }
        let _ = recorder.await;
        watcher.abort();
        self.store.release_leases(&self.owner).await?;
        self.store.finish_issues().await?;
        let report = counters.report();
        tracing::info!(owner = %self.owner, ?report, "worker stopped");
        claimed.map(|()| report)
    }
}

/// An even pace of `rate` messages per second, no bursts.
fn rate_limiter(rate: f64) -> DefaultDirectRateLimiter {
    let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
    RateLimiter::direct(Quota::with_period(period).expect("a period above zero"))
}

/// ±25 % of `d`, so retries of many deliveries do not arrive at the relay together.
fn jitter(d: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    d.mul_f64(0.75 + f64::from(byte[0]) / 255.0 * 0.5)
}

/// True when `shutdown` turned true while waiting.
async fn sleep_or_stop(shutdown: &mut tokio::sync::watch::Receiver<bool>, wait: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    let secret = crate::domain::TokenSecret::generate();
    format!("{host}:{}:{}", std::process::id(), &secret.as_str()[..6])
}
