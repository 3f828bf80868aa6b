//! Retention: personal data kept no longer than it is needed. The bytes of inbound mail
//! go after `inbound_retention_days` (what it was taken for and what was done stay);
//! contacts who never confirmed go after `pending_retention_days`, erased as staff
//! would erase them. `serve` runs this every few hours; `nyhetsbrev retention` at once.

use std::time::Duration;

use crate::domain::AuditAction;
use crate::domain::Timestamp;
use crate::store::{Actor, Store, StoreError};

pub const RETENTION_ACTION: AuditAction = AuditAction::RetentionRun;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Unconfirmed contacts removed per batch (each in its own transaction, so the list
/// stays usable while a large backlog goes).
const BATCH: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionRules {
    pub inbound_days: u32,
    pub pending_days: u32,
}

/// What one run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionRun {
    /// Inbound messages whose bytes were removed.
    pub inbound_emptied: u64,
    /// Contacts removed because they never confirmed.
    pub unconfirmed_removed: u64,
}

#[derive(Clone)]
pub struct Retention {
    store: Store,
    rules: RetentionRules,
}

impl Retention {
    pub fn new(store: Store, rules: RetentionRules) -> Self {
        Self { store, rules }
    }

    pub fn rules(&self) -> RetentionRules {
        self.rules
    }

    /// Applies the rules as of `now`; a run that removed something is audited.
    #[tracing::instrument(
        name = "retention",
        skip_all,
        fields(inbound_days = self.rules.inbound_days, pending_days = self.rules.pending_days)
    )]
    pub async fn run(&self, now: Timestamp, actor: &Actor) -> Result<RetentionRun, StoreError> {
        let inbound_before =
            Timestamp::from_unix_ms(now.unix_ms() - i64::from(self.rules.inbound_days) * DAY_MS);
        let pending_before =
            Timestamp::from_unix_ms(now.unix_ms() - i64::from(self.rules.pending_days) * DAY_MS);
        let mut run = RetentionRun {
            inbound_emptied: self.store.forget_inbound_bytes(inbound_before, now).await?,
            ..RetentionRun::default()
        };
        loop {
            let batch = self
                .store
                .unconfirmed_before(pending_before, now, BATCH)
                .await?;
            for email in &batch {
                if self.store.remove_contact(email, actor).await? {
                    run.unconfirmed_removed += 1;
                }
            }
            if (batch.len() as i64) < BATCH {
                break;
            }
        }
        if run != RetentionRun::default() {
            self.store.scrub_deleted().await?;
        }
        tracing::info!(
            inbound_emptied = run.inbound_emptied,
            unconfirmed_removed = run.unconfirmed_removed,
            "retention run"
        );
        if run != RetentionRun::default() {
            let detail = serde_json::json!({
                "inbound_emptied": run.inbound_emptied,
                "unconfirmed_removed": run.unconfirmed_removed,
                "inbound_retention_days": self.rules.inbound_days,
                "pending_retention_days": self.rules.pending_days,
            });
            self.store
                .log_action(actor, RETENTION_ACTION, "", Some(detail.to_string()))
                .await?;
        }
        Ok(run)
    }

    /// Runs every `every` (the first a minute after start) until `shutdown`.
    pub async fn run_every(
        self,
        every: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let actor = Actor::service(crate::domain::ServiceTask::Retention);
        let mut wait = Duration::from_secs(60);
        loop {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
            wait = every;
            if let Err(e) = self.run(Timestamp::now(), &actor).await {
                tracing::error!(error = %e, "retention run failed");
            }
        }
    }
}
