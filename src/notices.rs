//! Mails that answer a request, sent from a queue in the background: the double opt-in
//! confirmation and the leave link.
//!
//! The web form only queues the request itself (one insert, the same for every address)
//! and wakes the sender, which makes the pending contact and the capped confirmation
//! notice and mails it. The form therefore answers every request in the same time,
//! whether it leads to a mail or not (an SMTP conversation in the request used to tell
//! who was on the list), and a relay that is away delays a confirmation instead of losing
//! it. Inbound mail queues its notice through the same capped insert.
//!
//! Each kind of notice spends its own hourly budget (web form, requests by mail, leave
//! links; see [`NoticeBudgets`]). A notice whose budget is spent for the hour is not
//! refused: it waits in the queue, and the claim takes it once the hour has room, so a
//! flood of one kind delays only that kind and nothing is dropped.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tracing::Instrument;

use crate::domain::Timestamp;
use crate::mail::{ConfirmationMailer, SendError};
use crate::store::{ClaimedNotice, NoticeBudgets, NoticeOutcome, NoticePurpose, Store, StoreError};

/// A notice is tried this many times before it counts as failed.
const MAX_ATTEMPTS: i64 = 10;
const LEASE: Duration = Duration::from_secs(300);
/// How often the background sender looks for due notices when nobody woke it.
const POLL: Duration = Duration::from_secs(2);
const BATCH: i64 = 20;

/// Queues and sends notices; cheap to clone.
#[derive(Clone)]
pub struct Notices {
    store: Store,
    mailer: ConfirmationMailer,
    budgets: NoticeBudgets,
    hourly_cap: Option<u64>,
    daily_cap: Option<u64>,
    wake: Arc<Notify>,
}

/// The limits notices keep: their own hourly budgets (`confirmations_per_hour`,
/// `mail_confirmations_per_hour`, `leave_links_per_hour`) and the relay's caps, which
/// issues and notices share.
#[derive(Debug, Clone, Copy)]
pub struct NoticeCaps {
    pub budgets: NoticeBudgets,
    pub hourly_cap: Option<u64>,
    pub daily_cap: Option<u64>,
}

impl Notices {
    pub fn new(store: Store, mailer: ConfirmationMailer, caps: NoticeCaps) -> Self {
        Self {
            store,
            mailer,
            budgets: caps.budgets,
            hourly_cap: caps.hourly_cap,
            daily_cap: caps.daily_cap,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The hourly budgets the sender keeps.
    pub fn budgets(&self) -> NoticeBudgets {
        self.budgets
    }

    /// Tells the background sender that something was queued.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends every notice that is due now and whose budget has room in the hour,
    /// unless the relay's hourly or daily cap (counting issues and notices together)
    /// is reached. What finds no room waits for a later round. Returns how many went
    /// out.
    pub async fn send_due(&self) -> Result<usize, StoreError> {
        self.take_web_requests().await?;
        let mut sent = 0;
        loop {
            let allowance = self.cap_allowance().await?;
            if allowance == 0 {
                tracing::warn!("sending cap reached: confirmation mails wait");
                return Ok(sent);
            }
            let lease_until =
                Timestamp::from_unix_ms(Timestamp::now().unix_ms() + LEASE.as_millis() as i64);
            let claimed = self
                .store
                .claim_notices(
                    allowance.min(BATCH),
                    lease_until,
                    self.mailer.valid_ms(),
                    self.budgets,
                )
                .await?;
            if claimed.is_empty() {
                return Ok(sent);
            }
            for notice in &claimed {
                // One span per notice, with its id and purpose (never its address).
                let span = tracing::info_span!(
                    "notice",
                    id = notice.id,
                    purpose = notice.purpose.as_str()
                );
                let outcome = async {
                    let outcome = self.send_one(notice).await;
                    self.store.record_notice(notice.id, &outcome).await?;
                    Ok::<_, StoreError>(outcome)
                }
                .instrument(span)
                .await?;
                if matches!(outcome, NoticeOutcome::Sent) {
                    sent += 1;
                }
            }
        }
    }

    /// Turns the web form's queued requests into pending contacts and queued
    /// confirmations (spending the web form's budget when sent), under the same
    /// per-address caps as every request.
    async fn take_web_requests(&self) -> Result<(), StoreError> {
        loop {
            let requests = self.store.queued_subscription_requests(BATCH).await?;
            if requests.is_empty() {
                return Ok(());
            }
            for request in &requests {
                let outcome = self
                    .store
                    .request_subscription(
                        &request.email,
                        request.name.as_ref(),
                        request.organisation.as_ref(),
                        &request.publications,
                        &crate::store::Actor::recipient(crate::domain::RecipientDoor::SignUp),
                    )
                    .await;
                match outcome {
                    Ok(_) => {}
                    // The form offers only publications that exist, and none is ever
                    // removed; a request naming another cannot be carried out.
                    Err(StoreError::PublicationNotFound(which)) => tracing::warn!(
                        publications = %which,
                        "a subscription request named publications that do not exist: dropped"
                    ),
                    Err(e) => return Err(e),
                }
                self.store.forget_subscription_request(request.id).await?;
            }
        }
    }

    /// How many more mails the relay's caps allow now (issues and notices together).
    async fn cap_allowance(&self) -> Result<i64, StoreError> {
        let now = Timestamp::now().unix_ms();
        let mut allowance = i64::MAX;
        for (cap, window_ms) in [(self.hourly_cap, 3_600_000), (self.daily_cap, 86_400_000)] {
            let Some(cap) = cap else { continue };
            let sent = self
                .store
                .sent_since(Timestamp::from_unix_ms(now - window_ms))
                .await?;
            allowance = allowance.min((cap as i64 - sent).max(0));
        }
        Ok(allowance)
    }

    async fn send_one(&self, notice: &ClaimedNotice) -> NoticeOutcome {
        // Staff's sender and names as they are now: a change in the admin applies to
        // the next mail. If they cannot be read, the file's are used.
        let staff = self.store.staff_settings().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "staff settings not read: the settings file's sender is used");
            crate::domain::StaffSettings::default()
        });
        let mailer = self.mailer.with_staff(&staff);
        let sent = match notice.purpose {
            NoticePurpose::Confirm => mailer.send(&notice.email, &notice.secret).await,
            NoticePurpose::Leave => mailer.send_leave_link(&notice.email, &notice.secret).await,
        };
        match sent {
            Ok(()) => {
                tracing::info!(
                    notice = notice.id,
                    purpose = notice.purpose.as_str(),
                    "notice mailed"
                );
                NoticeOutcome::Sent
            }
            Err(crate::mail::ConfirmationError::Send(SendError::Permanent(error))) => {
                NoticeOutcome::Failed { error }
            }
            Err(crate::mail::ConfirmationError::Build(e)) => NoticeOutcome::Failed {
                error: e.to_string(),
            },
            Err(e) => {
                let attempt = notice.attempts + 1;
                if attempt >= MAX_ATTEMPTS {
                    return NoticeOutcome::Failed {
                        error: format!("gave up after {attempt} attempts: {e}"),
                    };
                }
                tracing::warn!(notice = notice.id, error = %e, "notice not sent: will retry");
                // 30 s, 1 min, 2 min … at most an hour.
                let delay_ms = (30_000i64 << (attempt - 1).clamp(0, 7)).min(3_600_000);
                NoticeOutcome::Retry {
                    error: e.to_string(),
                    at: Timestamp::from_unix_ms(Timestamp::now().unix_ms() + delay_ms),
                }
            }
        }
    }

    /// Sends notices as they are queued (and retries as they fall due) until
    /// `shutdown` turns true.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = self.send_due().await {
                tracing::warn!(error = %e, "could not send queued notices");
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
