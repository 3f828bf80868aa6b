//! Claiming: take due deliveries from the queue with a lease, within the caps and the
//! in-flight limit, and hand them to the senders as jobs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;
use tracing::Instrument;

use super::{DispatchError, Dispatcher, Job, PrepareError, sleep_or_stop};
use crate::domain::{DeliveryId, IssueId, Timestamp};
use crate::mail::PreparedIssue;
use crate::render::render;
use crate::store::{ClaimedDelivery, StoreError, StoredIssue};

/// One span per claimed batch, never one per message (the send path stays as fast):
/// the issues the batch is of and its size. No address: a span's fields reach the log.
fn batch_span(claimed: &[ClaimedDelivery]) -> tracing::Span {
    let mut issues: Vec<IssueId> = claimed.iter().map(|d| d.issue_id).collect();
    issues.sort_unstable();
    issues.dedup();
    tracing::info_span!("send_batch", ?issues, size = claimed.len())
}

impl Dispatcher {
    pub(super) async fn claim_loop(
        &self,
        permits: &Arc<Semaphore>,
        in_flight_limit: usize,
        jobs: &mpsc::UnboundedSender<Job>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), DispatchError> {
        let settings = &self.settings;
        let mut prepared: HashMap<IssueId, Arc<PreparedIssue>> = HashMap::new();
        let mut paused_until: Option<Timestamp> = None;
        // The last id claimed (see `Store::claim_deliveries`).
        let mut cursor: Option<DeliveryId> = None;
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
                .instrument(tracing::info_span!("claim", owner = %self.owner, allowance, cursor = cursor.map(DeliveryId::get)))
                .await?;
            if claimed.is_empty() && cursor.is_some() {
                // Past the end: look again from the start, for retries now due and rows
                // other workers released.
                cursor = None;
                continue;
            }
            cursor = claimed.iter().map(|d| d.id).max().or(cursor);
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
            let batch = batch_span(&claimed);
            let handed_out = self
                .hand_out(claimed, permit, send_before, &mut prepared, jobs)
                .instrument(batch)
                .await?;
            if !handed_out {
                return Ok(()); // senders gone: shutting down
            }
        }
    }

    /// One job per claimed delivery onto the channel, each issue prepared the first
    /// time it is met; false once the senders are gone. Each job carries the batch's
    /// span (the current one), for what a sender logs about it.
    async fn hand_out(
        &self,
        claimed: Vec<ClaimedDelivery>,
        mut permit: OwnedSemaphorePermit,
        send_before: Instant,
        prepared: &mut HashMap<IssueId, Arc<PreparedIssue>>,
        jobs: &mpsc::UnboundedSender<Job>,
    ) -> Result<bool, DispatchError> {
        let batch = tracing::Span::current();
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
                batch: batch.clone(),
            };
            if jobs.send(job).is_err() {
                return Ok(false);
            }
        }
        Ok(true)
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

    /// The per-issue work, done once: parse the stored source, render, encode.
    async fn prepare(&self, issue_id: IssueId) -> Result<PreparedIssue, DispatchError> {
        let stored = self.store.issue_by_id(issue_id).await?;
        let publication = self.store.publication_by_id(stored.publication_id).await?;
        let staff = self.store.staff_settings().await?;
        self.prepare_stored(&stored, &publication, &staff, "")
    }

    /// A stored issue made ready to personalise, its subject after `subject_prefix`
    /// (`[TEST] ` for test copies), sent and signed as `staff` set it now.
    pub(super) fn prepare_stored(
        &self,
        stored: &StoredIssue,
        publication: &crate::domain::Publication,
        staff: &crate::domain::StaffSettings,
        subject_prefix: &str,
    ) -> Result<PreparedIssue, DispatchError> {
        let fail = |cause: PrepareError| DispatchError::Prepare {
            issue: stored.id,
            cause,
        };
        let mut issue = stored.model().map_err(|e| fail(e.into()))?;
        issue.meta.subject.insert_str(0, subject_prefix);
        let context = self.render.with_staff(staff);
        let rendered = render(&issue, publication, &context).map_err(|e| fail(e.into()))?;
        PreparedIssue::prepare(
            &issue,
            publication,
            &rendered,
            &self.outgoing.sender.with_staff(staff),
            &self.key,
        )
        .map_err(|e| fail(e.into()))
    }
}
