//! The delivery worker: claim due deliveries with a lease, build each personal message,
//! send it, record the result.
//!
//! Inside one process three kinds of task share the work:
//! - the claimer takes batches from the queue (never more in flight than four batches,
//!   so leases do not run out while messages wait) and hands out jobs;
//! - one sender per relay connection builds and sends messages at the shared rate;
//! - the recorder writes outcomes in batches, one transaction each.
//!
//! A watcher looks every quarter second for contacts who left and issues that were
//! cancelled, so a message not yet handed to the relay is dropped instead of sent.
//! Nothing is sent on a lease that is about to run out: another worker may take it over.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Mutex, Semaphore, mpsc, watch};
use tokio::time::Instant;

use crate::config::{ConfigError, Settings};
use crate::domain::{EmailAddress, Timestamp, TokenKey};
use crate::mail::{
    DkimSigner, Envelope, PreparedIssue, Recipient, SendError, Sender, Transport,
    sign_if_configured,
};
use crate::render::{RenderContext, parse_issue, render};
use crate::store::{ClaimedDelivery, Outcome, Store, StoreError};

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
    pub only_issue: Option<i64>,
    /// Return once `only_issue` has nothing left in the queue (`issue send --follow`).
    pub until_done: bool,
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

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    released: AtomicU64,
}

impl Counters {
    fn count(&self, outcome: &Outcome) {
        let counter = match outcome {
            Outcome::Sent { .. } => &self.sent,
            Outcome::Retry { .. } => &self.retried,
            Outcome::Failed { .. } => &self.failed,
            Outcome::Skipped { .. } => &self.skipped,
            Outcome::Released => &self.released,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn report(&self) -> RunReport {
        RunReport {
            sent: self.sent.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            released: self.released.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("issue #{0} cannot be prepared for sending: {1}")]
    Prepare(i64, String),
    #[error("could not send: {0}")]
    Send(SendError),
}

/// Everything a worker needs; cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    transport: Transport,
    sender: Sender,
    render: RenderContext,
    bounce: BounceAddress,
    /// Signs Message-IDs (and, through `bounce`, bounce addresses).
    key: TokenKey,
    dkim: Option<Arc<DkimSigner>>,
    settings: DispatchSettings,
    /// Who holds the leases: host, process and a random tail.
    owner: Arc<str>,
}

/// The envelope sender, split so each delivery gets `local+d<id>-<signature>@domain`
/// (VERP): a report that arrives there names its delivery, and only mail from the
/// receiving side (which saw the address) can know the signature.
#[derive(Clone)]
struct BounceAddress {
    local: String,
    domain: String,
    key: TokenKey,
}

impl BounceAddress {
    fn new(address: &EmailAddress, key: TokenKey) -> Result<Self, ConfigError> {
        let ascii = crate::mail::header_address(address)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Ok(BounceAddress {
            local: ascii.user().to_owned(),
            domain: ascii.domain().to_owned(),
            key,
        })
    }

    fn for_delivery(&self, id: i64) -> Result<lettre::Address, lettre::address::AddressError> {
        let tag = self.key.bounce_tag(id);
        lettre::Address::new(format!("{}+d{id}-{tag}", self.local), &self.domain)
    }
}

/// One message to send.
struct Job {
    delivery: ClaimedDelivery,
    issue: Arc<PreparedIssue>,
    /// Do not start sending after this: the lease must outlive the attempt.
    send_before: Instant,
    permit: tokio::sync::OwnedSemaphorePermit,
}

/// A finished job on its way to the recorder. It keeps its in-flight permit until its
/// outcome is written: the caps count what is in flight, and a sent message is in flight
/// until the database says it was sent.
struct Done {
    delivery_id: i64,
    contact_id: i64,
    outcome: Outcome,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// What the watcher has seen leave.
#[derive(Default)]
struct Departures {
    contacts: RwLock<HashSet<i64>>,
    issues: RwLock<HashSet<i64>>,
}

impl Departures {
    fn reason(&self, delivery: &ClaimedDelivery) -> Option<&'static str> {
        if self.issues.read().unwrap().contains(&delivery.issue_id) {
            Some("the issue was cancelled")
        } else if self.contacts.read().unwrap().contains(&delivery.contact_id) {
            Some("the contact left the list before it went out")
        } else {
            None
        }
    }
}

impl Dispatcher {
    /// Needs `token_key`: every message carries a signed bounce address and Message-ID.
    pub fn new(store: Store, settings: &Settings) -> Result<Self, ConfigError> {
        let key = settings.token_key()?;
        Ok(Dispatcher {
            store,
            transport: settings.transport()?,
            sender: settings.sender()?,
            render: settings.render_context(),
            bounce: BounceAddress::new(&settings.bounce_address()?, key.clone())?,
            key,
            dkim: settings.dkim()?,
            settings: DispatchSettings::from_settings(settings),
            owner: worker_name().into(),
        })
    }

    pub fn with_settings(mut self, change: impl FnOnce(&mut DispatchSettings)) -> Self {
        change(&mut self.settings);
        self
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Works until `shutdown` turns true (or, with `until_done`, the issue is done):
    /// messages in transit are finished and recorded, leases not used are released.
    pub async fn run(
        &self,
        mut shutdown: watch::Receiver<bool>,
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
        let departures = Arc::new(Departures::default());
        let limiter = settings.rate.map(|rate| Arc::new(rate_limiter(rate)));
        tracing::info!(owner = %self.owner, transport = %self.transport.describe(), "worker started");

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

        let claimed = self
            .claim_loop(&permits, in_flight_limit, &job_tx, &mut shutdown)
            .await;
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

    async fn claim_loop(
        &self,
        permits: &Arc<Semaphore>,
        in_flight_limit: usize,
        jobs: &mpsc::UnboundedSender<Job>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), DispatchError> {
        let settings = &self.settings;
        let mut prepared: HashMap<i64, Arc<PreparedIssue>> = HashMap::new();
        let mut paused_until: Option<Timestamp> = None;
        // The last id claimed (see `Store::claim_deliveries`).
        let mut cursor = 0;
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let in_flight = in_flight_limit - permits.available_permits();
            let allowance = match self.cap_allowance(in_flight).await? {
                Ok(n) => {
                    if paused_until.take().is_some() {
                        tracing::info!("sending cap has room again: resuming");
                    }
                    n.min(settings.batch)
                }
                Err(until) => {
                    if paused_until != Some(until) {
                        tracing::warn!(resumes_at = %until, "sending cap reached: pausing");
                        paused_until = Some(until);
                    }
                    let wait = Duration::from_millis(
                        (until.unix_ms() - Timestamp::now().unix_ms())
                            .clamp(50, settings.cap_recheck.as_millis() as i64)
                            as u64,
                    );
                    if sleep_or_stop(shutdown, wait).await {
                        return Ok(());
                    }
                    continue;
                }
            };
            let permit = tokio::select! {
                permit = Arc::clone(permits).acquire_many_owned(allowance as u32) => {
                    permit.expect("the semaphore is never closed")
                }
                _ = shutdown.changed() => continue,
            };
            let lease_until = Timestamp::from_unix_ms(
                Timestamp::now().unix_ms() + settings.lease.as_millis() as i64,
            );
            // A message is started only in the first half of its lease, so that the attempt
            // (at most smtp_timeout) and its record fit in the second half: a lease must
            // never run out with an outcome unrecorded, or another claim would send again.
            let send_before = Instant::now() + settings.lease / 2;
            let claimed = self
                .store
                .claim_deliveries(
                    &self.owner,
                    allowance as i64,
                    lease_until,
                    settings.only_issue,
                    cursor,
                )
                .await?;
            if claimed.is_empty() && cursor > 0 {
                // Past the end: look again from the start, for retries now due and rows
                // other workers released.
                cursor = 0;
                continue;
            }
            cursor = claimed.iter().map(|d| d.id).max().unwrap_or(cursor);
            if claimed.is_empty() {
                drop(permit);
                let finished = self.store.finish_issues().await?;
                for slug in &finished {
                    tracing::info!(issue = %slug, "issue sent to everyone it was queued for");
                }
                if settings.until_done && self.issue_done(permits, in_flight_limit).await? {
                    return Ok(());
                }
                if sleep_or_stop(shutdown, settings.idle_poll).await {
                    return Ok(());
                }
                continue;
            }
            let mut permit = permit;
            for delivery in claimed {
                let issue = match prepared.get(&delivery.issue_id) {
                    Some(issue) => Arc::clone(issue),
                    None => {
                        let issue = Arc::new(self.prepare(delivery.issue_id).await?);
                        prepared.insert(delivery.issue_id, Arc::clone(&issue));
                        issue
                    }
                };
                let one = permit.split(1).expect("one permit per claimed delivery");
                let job = Job {
                    delivery,
                    issue,
                    send_before,
                    permit: one,
                };
                if jobs.send(job).is_err() {
                    return Ok(()); // senders gone: shutting down
                }
            }
        }
    }

    /// With `until_done`: nothing of the issue is queued and nothing is in transit.
    async fn issue_done(
        &self,
        permits: &Semaphore,
        in_flight_limit: usize,
    ) -> Result<bool, DispatchError> {
        let Some(issue_id) = self.settings.only_issue else {
            return Ok(false);
        };
        if permits.available_permits() < in_flight_limit {
            return Ok(false);
        }
        Ok(self.store.send_counts(issue_id).await?.queued == 0)
    }

    /// How many more messages the caps allow now, or when they will allow one again.
    async fn cap_allowance(
        &self,
        in_flight: usize,
    ) -> Result<Result<usize, Timestamp>, StoreError> {
        let mut allowance = usize::MAX;
        let now = Timestamp::now().unix_ms();
        for (cap, window_ms) in [
            (self.settings.hourly_cap, 3_600_000),
            (self.settings.daily_cap, 86_400_000),
        ] {
            let Some(cap) = cap else { continue };
            let since = Timestamp::from_unix_ms(now - window_ms);
            let sent = self.store.sent_since(since).await? + in_flight as i64;
            let left = cap as i64 - sent;
            if left <= 0 {
                // The window has room again once the oldest sends in it leave.
                let oldest = self
                    .store
                    .nth_oldest_sent_since(since, sent - cap as i64)
                    .await?
                    .map_or(now + 1000, |t| t.unix_ms());
                return Ok(Err(Timestamp::from_unix_ms(oldest + window_ms)));
            }
            allowance = allowance.min(left as usize);
        }
        Ok(Ok(allowance))
    }

    /// Sends one copy of an issue, its subject marked as a test, to any address. The
    /// unsubscribe link in it leads nowhere.
    pub async fn test_send(
        &self,
        slug: &crate::domain::Slug,
        to: &EmailAddress,
    ) -> Result<(), DispatchError> {
        let stored = self.store.existing_issue(slug).await?;
        let fail = |e: &dyn std::fmt::Display| DispatchError::Prepare(stored.id, e.to_string());
        let mut parsed =
            parse_issue(&format!("issue {slug}"), &stored.source).map_err(|e| fail(&e))?;
        parsed.issue.meta.subject = format!("[TEST] {}", parsed.issue.meta.subject);
        let rendered = render(&parsed.issue, &self.render).map_err(|e| fail(&e))?;
        let prepared = PreparedIssue::prepare(&parsed.issue, &rendered, &self.sender, &self.key)
            .map_err(|e| fail(&e))?;
        let unsubscribe_url = format!("{}/avmeld/TESTKOPI", self.render.base_url);
        let message = prepared
            .message(
                &Recipient {
                    email: to,
                    name: None,
                    contact_id: 0,
                    unsubscribe_url: &unsubscribe_url,
                    return_path: None,
                },
                time::OffsetDateTime::now_utc(),
            )
            .and_then(|m| sign_if_configured(self.dkim.as_deref(), m))
            .map_err(|e| fail(&e))?;
        let envelope =
            crate::mail::envelope(&self.sender.from_address, to).map_err(|e| fail(&e))?;
        self.transport
            .send(&envelope, &message)
            .await
            .map_err(DispatchError::Send)
    }

    /// The per-issue work, done once: parse the stored source, render, encode.
    async fn prepare(&self, issue_id: i64) -> Result<PreparedIssue, DispatchError> {
        let stored = self.store.issue_by_id(issue_id).await?;
        let fail = |e: &dyn std::fmt::Display| DispatchError::Prepare(issue_id, e.to_string());
        let parsed =
            parse_issue(&format!("issue {}", stored.slug), &stored.source).map_err(|e| fail(&e))?;
        let rendered = render(&parsed.issue, &self.render).map_err(|e| fail(&e))?;
        PreparedIssue::prepare(&parsed.issue, &rendered, &self.sender, &self.key)
            .map_err(|e| fail(&e))
    }

    /// A sender task: one relay connection, jobs one after the other.
    async fn send_jobs(
        self,
        jobs: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
        results: mpsc::UnboundedSender<Done>,
        limiter: Option<Arc<DefaultDirectRateLimiter>>,
        stopping: Arc<AtomicBool>,
        departures: Arc<Departures>,
    ) {
        let mut connection = None;
        let mut backoff = Duration::from_millis(250);
        let mut buffer = String::new();
        loop {
            let job = jobs.lock().await.recv().await;
            let Some(job) = job else { break };
            let outcome = 'outcome: {
                if stopping.load(Ordering::SeqCst) {
                    break 'outcome Outcome::Released;
                }
                // Until the relay answers, wait here: a relay that is down pauses the
                // send rather than failing the list.
                while connection.is_none() {
                    if stopping.load(Ordering::SeqCst) || Instant::now() >= job.send_before {
                        break 'outcome Outcome::Released;
                    }
                    match self.transport.open().await {
                        Ok(open) => {
                            connection = Some(open);
                            backoff = Duration::from_millis(250);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, retry_in = ?backoff, "relay unavailable: pausing");
                            tokio::time::sleep(jitter(backoff)).await;
                            backoff = (backoff * 2).min(Duration::from_secs(30));
                        }
                    }
                }
                if let Some(limiter) = &limiter {
                    limiter.until_ready().await;
                }
                if let Some(reason) = departures.reason(&job.delivery) {
                    break 'outcome Outcome::Skipped {
                        reason: reason.to_owned(),
                    };
                }
                if Instant::now() >= job.send_before || stopping.load(Ordering::SeqCst) {
                    break 'outcome Outcome::Released;
                }
                let open = connection.as_mut().expect("connected above");
                let outcome = self.send_one(open, &job, &mut buffer).await;
                if !open.is_usable()
                    && let Some(broken) = connection.take()
                {
                    broken.close().await;
                }
                outcome
            };
            let done = Done {
                delivery_id: job.delivery.id,
                contact_id: job.delivery.contact_id,
                outcome,
                _permit: job.permit,
            };
            if results.send(done).is_err() {
                break;
            }
        }
        if let Some(open) = connection {
            open.close().await;
        }
    }

    async fn send_one(
        &self,
        connection: &mut crate::mail::Connection,
        job: &Job,
        buffer: &mut String,
    ) -> Outcome {
        let delivery = &job.delivery;
        let unsubscribe_url = format!(
            "{}/avmeld/{}",
            self.render.base_url,
            delivery.unsubscribe.as_str()
        );
        let fail = |error: String| Outcome::Failed {
            error,
            hard_bounce: false,
        };
        let (bounce, to) = match (
            self.bounce.for_delivery(delivery.id),
            crate::mail::header_address(&delivery.email),
        ) {
            (Ok(bounce), Ok(to)) => (bounce, to),
            (Err(e), _) => return fail(format!("bad bounce address: {e}")),
            (_, Err(e)) => return fail(e.to_string()),
        };
        let return_path = bounce.to_string();
        let recipient = Recipient {
            email: &delivery.email,
            name: delivery.name.as_ref(),
            contact_id: delivery.contact_id,
            unsubscribe_url: &unsubscribe_url,
            return_path: Some(&return_path),
        };
        let signed = job
            .issue
            .write_message(&recipient, time::OffsetDateTime::now_utc(), buffer)
            .and_then(|()| match &self.dkim {
                Some(signer) => signer
                    .sign(buffer.as_bytes())
                    .map(Some)
                    .map_err(crate::mail::MailError::Build),
                None => Ok(None),
            });
        let signed = match signed {
            Ok(signed) => signed,
            Err(e) => return fail(e.to_string()),
        };
        let message: &[u8] = signed.as_deref().unwrap_or(buffer.as_bytes());
        let envelope = Envelope {
            from: Some(bounce),
            to,
        };
        match connection.send(&envelope, message).await {
            Ok(()) => Outcome::Sent {
                message_id: job.issue.message_id(delivery.contact_id),
            },
            Err(SendError::Permanent(error)) => Outcome::Failed {
                error,
                hard_bounce: true,
            },
            Err(SendError::Transient(error)) => {
                let attempt = delivery.attempts + 1;
                if attempt >= i64::from(self.settings.max_attempts) {
                    Outcome::Failed {
                        error: format!("gave up after {attempt} attempts: {error}"),
                        hard_bounce: false,
                    }
                } else {
                    let delay = jitter(
                        self.settings
                            .retry_delay
                            .saturating_mul(1 << (attempt - 1).clamp(0, 16) as u32)
                            .min(Duration::from_secs(6 * 3600)),
                    );
                    Outcome::Retry {
                        error,
                        at: Timestamp::from_unix_ms(
                            Timestamp::now().unix_ms() + delay.as_millis() as i64,
                        ),
                    }
                }
            }
            // The relay went away between connecting and sending: not this message's
            // fault, so it costs no attempt.
            Err(SendError::Unavailable(error)) => {
                tracing::warn!(%error, "relay unavailable");
                Outcome::Released
            }
        }
    }
}

/// Writes outcomes in batches: whatever has arrived, at most every 50 ms.
async fn record(
    store: Store,
    owner: Arc<str>,
    bounce_threshold: u32,
    mut results: mpsc::UnboundedReceiver<Done>,
    counters: Arc<Counters>,
) {
    let mut batch: Vec<(i64, i64, Outcome)> = Vec::new();
    let mut permits = Vec::new();
    let mut open = true;
    while open || !batch.is_empty() {
        if open {
            match results.recv().await {
                Some(done) => {
                    batch.push((done.delivery_id, done.contact_id, done.outcome));
                    permits.push(done._permit);
                }
                None => open = false,
            }
            let deadline = Instant::now() + Duration::from_millis(50);
            while open && batch.len() < 500 {
                match tokio::time::timeout_at(deadline, results.recv()).await {
                    Ok(Some(done)) => {
                        batch.push((done.delivery_id, done.contact_id, done.outcome));
                        permits.push(done._permit);
                    }
                    Ok(None) => open = false,
                    Err(_) => break,
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        // A failed write is tried again: an outcome is never dropped, or a sent message
        // would be sent again after its lease ran out.
        let mut wait = Duration::from_millis(100);
        loop {
            match store
                .record_outcomes(&owner, &batch, bounce_threshold)
                .await
            {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!(error = %e, retry_in = ?wait, "could not record deliveries");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        }
        for (_, _, outcome) in &batch {
            counters.count(outcome);
        }
        batch.clear();
        permits.clear();
    }
}

async fn watch_departures(store: Store, departures: Arc<Departures>) {
    let mut since = Timestamp::from_unix_ms(Timestamp::now().unix_ms() - 1000);
    loop {
        let checked_at = Timestamp::from_unix_ms(Timestamp::now().unix_ms() - 1000);
        match store.departures_since(since).await {
            Ok((contacts, issues)) => {
                departures.contacts.write().unwrap().extend(contacts);
                departures.issues.write().unwrap().extend(issues);
                // Overlap by a second: a change committed just after the query started
                // but stamped just before is not missed.
                since = checked_at;
            }
            Err(e) => tracing::warn!(error = %e, "could not check for departures"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
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
async fn sleep_or_stop(shutdown: &mut watch::Receiver<bool>, wait: Duration) -> bool {
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
