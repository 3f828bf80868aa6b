//! Recording: outcomes are written in batches, and a job's in-flight permit is given
//! back only once its outcome is in the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use super::{Done, RunReport};
use crate::domain::DeliveryId;
use crate::store::{Actor, Outcome, Store};

#[derive(Default)]
pub(super) struct Counters {
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

    pub(super) fn report(&self) -> RunReport {
        RunReport {
            sent: self.sent.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            released: self.released.load(Ordering::Relaxed),
        }
    }
}

/// Writes outcomes in batches: whatever has arrived, at most every 50 ms.
pub(super) async fn record(
    store: Store,
    owner: Arc<str>,
    bounce_threshold: u32,
    mut results: mpsc::UnboundedReceiver<Done>,
    counters: Arc<Counters>,
) {
    // What a worker does on its own (a contact bounced at send time) is logged as this.
    let actor = Actor::service(crate::domain::ServiceTask::Delivery);
    let mut batch: Vec<(DeliveryId, Outcome)> = Vec::new();
    let mut permits = Vec::new();
    let mut open = true;
    while open || !batch.is_empty() {
        if open {
            match results.recv().await {
                Some(done) => {
                    batch.push((done.delivery_id, done.outcome));
                    permits.push(done._permit);
                }
                None => open = false,
            }
            let deadline = Instant::now() + Duration::from_millis(50);
            while open && batch.len() < 500 {
                match tokio::time::timeout_at(deadline, results.recv()).await {
                    Ok(Some(done)) => {
                        batch.push((done.delivery_id, done.outcome));
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
                .record_outcomes(&owner, &batch, bounce_threshold, &actor)
                .instrument(tracing::info_span!("record", %owner, outcomes = batch.len()))
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
        for (_, outcome) in &batch {
            counters.count(outcome);
        }
        batch.clear();
        permits.clear();
    }
}
