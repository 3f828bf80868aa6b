//! Mails that answer a request, queued: the double opt-in confirmation and the leave
//! link. The caps that keep the service from being used to mail-bomb an address (or
//! everyone) are checked and written in one guarded statement.

use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Result, Store, StoreError};
use crate::domain::ContactId;
pub use crate::domain::NoticePurpose;
use crate::domain::{ConsentSource, EmailAddress, Timestamp, TokenSecret};

/// At most one mail answering a request per address in this time.
pub const NOTICE_RESEND_AFTER_MS: i64 = 10 * 60 * 1000;
/// At most this many such mails to one address in 24 hours.
pub const NOTICES_PER_DAY: i64 = 5;
const DAY_MS: i64 = 24 * 3600 * 1000;
const HOUR_MS: i64 = 3600 * 1000;

/// Any fixed number: the key of the PostgreSQL advisory lock that makes the caps exact
/// across processes (on SQLite the write turn and the single writer do it).
const NOTICE_LOCK: i64 = 0x6e79_6865_7473;

/// Which hourly budget a notice spends. Each kind of request has its own, so that a
/// flood of one (join requests by mail with made-up senders, say) leaves the others
/// working: a web-form sign-up is mailed however many requests by mail wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeBudget {
    /// Confirmations of the web form (`confirmations_per_hour`).
    Web,
    /// Confirmations of requests to join by mail, whether the sender was verified or
    /// staff answered a held one (`mail_confirmations_per_hour`).
    Mail,
    /// Leave links for unverified requests to leave (`leave_links_per_hour`).
    Leave,
}

impl NoticeBudget {
    /// In the order the sender serves them when more than one has room: the web form
    /// first (a person is waiting for the mail), leave links, then requests by mail.
    pub const ALL: [NoticeBudget; 3] = [NoticeBudget::Web, NoticeBudget::Leave, NoticeBudget::Mail];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeBudget::Web => "web",
            NoticeBudget::Mail => "mail",
            NoticeBudget::Leave => "leave",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == word)
    }
}

/// How many notices of each budget may go out in any hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeBudgets {
    pub web: u32,
    pub mail: u32,
    pub leave: u32,
}

impl NoticeBudgets {
    pub fn per_hour(&self, budget: NoticeBudget) -> u32 {
        match budget {
            NoticeBudget::Web => self.web,
            NoticeBudget::Mail => self.mail,
            NoticeBudget::Leave => self.leave,
        }
    }
}

/// How many due notices of each budget wait because the budget's last hour is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoticesWaiting {
    pub web: i64,
    pub mail: i64,
    pub leave: i64,
}

impl NoticesWaiting {
    pub fn of(&self, budget: NoticeBudget) -> i64 {
        match budget {
            NoticeBudget::Web => self.web,
            NoticeBudget::Mail => self.mail,
            NoticeBudget::Leave => self.leave,
        }
    }

    fn set(&mut self, budget: NoticeBudget, waiting: i64) {
        match budget {
            NoticeBudget::Web => self.web = waiting,
            NoticeBudget::Mail => self.mail = waiting,
            NoticeBudget::Leave => self.leave = waiting,
        }
    }

    pub fn total(&self) -> i64 {
        self.web + self.mail + self.leave
    }
}

/// What one budget has spent in the last hour and how many of its notices are due.
#[derive(Debug, Clone, Copy, Default)]
struct BudgetUse {
    /// Sent in the last hour, or leased by a sender now.
    spent: i64,
    /// Queued, due and not leased.
    due: i64,
}

/// What asking for a notice led to. Nothing is refused for being one too many in the
/// hour: the notice waits in the queue until its budget has room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeQueued {
    Queued {
        notice_id: i64,
    },
    /// One went to this address less than ten minutes ago, or five today.
    RecentlySent,
}

/// A queued notice a sender holds a lease on, with what its mail needs. The secret is
/// fresh: its hash was stored in the same transaction as the claim.
#[derive(Debug, Clone)]
pub struct ClaimedNotice {
    pub id: i64,
    pub contact_id: ContactId,
    pub email: EmailAddress,
    pub purpose: NoticePurpose,
    pub attempts: i64,
    pub secret: TokenSecret,
}

/// The end of one attempt to mail a notice.
#[derive(Debug, Clone)]
pub enum NoticeOutcome {
    Sent,
    Retry {
        error: String,
        at: Timestamp,
    },
    Failed {
        error: String,
    },
    /// The mail no longer makes sense (a confirmation to a contact who is confirmed).
    Skipped {
        reason: String,
    },
}

/// Extra fields of a confirmation notice.
pub(super) struct ConsentCarried<'a> {
    pub source: ConsentSource,
    pub note: Option<&'a str>,
}

/// A request from the web form, waiting for the notice sender.
#[derive(Debug, Clone)]
pub struct QueuedRequest {
    pub id: i64,
    pub email: EmailAddress,
    pub name: Option<crate::domain::ContactName>,
    pub organisation: Option<crate::domain::Organisation>,
    /// What was ticked.
    pub publications: crate::domain::PublicationChoice,
}

impl Store {
    /// Queues a notice for `contact_id`, spending `budget`, unless a per-address cap
    /// holds it back: one per address per ten minutes and [`NOTICES_PER_DAY`] a day
    /// (both purposes together; they keep the service from mail-bombing one mailbox).
    /// Check and insert are one statement in a transaction that holds the notice lock,
    /// so parallel requests cannot both pass. The hourly budgets refuse nothing: the
    /// claim takes a notice only when its budget has room (see
    /// [`Store::claim_notices`]).
    pub(super) async fn queue_notice(
        &self,
        contact_id: ContactId,
        purpose: NoticePurpose,
        budget: NoticeBudget,
        consent: Option<ConsentCarried<'_>>,
    ) -> Result<NoticeQueued> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_serialised(NOTICE_LOCK).await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO notices (contact_id, purpose, budget, status, created_at, attempts, \
             next_attempt_at, consent_source, consent_note) \
             SELECT $1, $2, $3, 'queued', $4, 0, $4, $5, $6 \
             WHERE NOT EXISTS (SELECT 1 FROM notices WHERE contact_id = $1 AND created_at > $7) \
             AND (SELECT COUNT(*) FROM notices WHERE contact_id = $1 AND created_at > $8) < $9 \
             RETURNING id",
        )
        .bind(contact_id)
        .bind(purpose.as_str())
        .bind(budget.as_str())
        .bind(now)
        .bind(consent.as_ref().map(|c| c.source.as_str()))
        .bind(consent.as_ref().and_then(|c| c.note))
        .bind(now - NOTICE_RESEND_AFTER_MS)
        .bind(now - DAY_MS)
        .bind(NOTICES_PER_DAY)
        .fetch_optional(&mut *tx)
        .await?;
        match inserted {
            Some(notice_id) => {
                tx.commit().await?;
                Ok(NoticeQueued::Queued { notice_id })
            }
            None => {
                tx.rollback().await?;
                Ok(NoticeQueued::RecentlySent)
            }
        }
    }

    /// Per budget: notices sent in the last hour or leased now (what the hour has
    /// spent), and notices due and free to claim. One query.
    async fn budget_use<'c, E>(executor: E, now: i64) -> Result<Vec<(NoticeBudget, BudgetUse)>>
    where
        E: sqlx::Executor<'c, Database = sqlx::Any>,
    {
        let rows = sqlx::query(
            "SELECT budget, \
             SUM(CASE WHEN sent_at > $1 OR (status = 'queued' AND lease_until >= $2) \
                 THEN 1 ELSE 0 END) AS spent, \
             SUM(CASE WHEN status = 'queued' AND next_attempt_at <= $2 \
                 AND (lease_until IS NULL OR lease_until < $2) THEN 1 ELSE 0 END) AS due \
             FROM notices WHERE sent_at > $1 OR status = 'queued' GROUP BY budget",
        )
        .bind(now - HOUR_MS)
        .bind(now)
        .fetch_all(executor)
        .await?;
        let mut uses = Vec::with_capacity(rows.len());
        for row in &rows {
            let word: String = row.try_get("budget")?;
            let budget = NoticeBudget::parse(&word)
                .ok_or_else(|| StoreError::Corrupt(format!("notice budget {word:?}")))?;
            uses.push((
                budget,
                BudgetUse {
                    spent: row.try_get::<Option<i64>, _>("spent")?.unwrap_or(0),
                    due: row.try_get::<Option<i64>, _>("due")?.unwrap_or(0),
                },
            ));
        }
        Ok(uses)
    }

    /// How many due notices of each budget wait for room in its hour (for the
    /// dashboard): those beyond what the budget can still send now.
    pub async fn notices_waiting_for_room(&self, budgets: NoticeBudgets) -> Result<NoticesWaiting> {
        let now = Timestamp::now().unix_ms();
        let mut waiting = NoticesWaiting::default();
        for (budget, used) in Self::budget_use(&self.pool, now).await? {
            let room = (i64::from(budgets.per_hour(budget)) - used.spent).max(0);
            waiting.set(budget, (used.due - room).max(0));
        }
        Ok(waiting)
    }

    /// Claims up to `limit` due notices until `lease_until`, of each budget only as
    /// many as `budgets` leaves room for in the last hour (counting that budget's
    /// notices sent in the last hour or leased now), oldest first. The count and the
    /// claim are one transaction under the notice lock, so two senders cannot both
    /// spend the same room. What finds no room stays queued for a later claim.
    ///
    /// Each claimed notice gets a fresh secret, stored (hashed) as a token before any
    /// mail carries it: a confirmation link valid for `confirm_valid_ms`, or an
    /// unsubscribe link. A confirmation for a contact who is confirmed by now, or a
    /// leave link for one who left, is skipped instead.
    pub async fn claim_notices(
        &self,
        limit: i64,
        lease_until: Timestamp,
        confirm_valid_ms: i64,
        budgets: NoticeBudgets,
    ) -> Result<Vec<ClaimedNotice>> {
        let now = Timestamp::now().unix_ms();
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let claim = format!(
            "UPDATE notices SET lease_until = $1 WHERE id IN (SELECT id FROM notices \
             WHERE status = 'queued' AND budget = $4 AND next_attempt_at <= $2 \
             AND (lease_until IS NULL OR lease_until < $2) ORDER BY id LIMIT $3{lock}) \
             RETURNING id, contact_id, purpose, attempts, consent_source, consent_note"
        );
        let (_turn, mut tx) = self.begin_serialised(NOTICE_LOCK).await?;
        let spent: Vec<(NoticeBudget, BudgetUse)> = Self::budget_use(&mut *tx, now).await?;
        let mut rows = Vec::new();
        let mut left = limit;
        for budget in NoticeBudget::ALL {
            let used = spent
                .iter()
                .find(|(b, _)| *b == budget)
                .map_or(0, |(_, u)| u.spent);
            let take = (i64::from(budgets.per_hour(budget)) - used)
                .max(0)
                .min(left);
            if take == 0 {
                continue;
            }
            let taken = sqlx::query(AssertSqlSafe(claim.clone()))
                .bind(lease_until.unix_ms())
                .bind(now)
                .bind(take)
                .bind(budget.as_str())
                .fetch_all(&mut *tx)
                .await?;
            left -= taken.len() as i64;
            rows.extend(taken);
        }
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let contact_id: ContactId = row.try_get("contact_id")?;
            let purpose = NoticePurpose::try_from(row.try_get::<String, _>("purpose")?.as_str())
                .map_err(StoreError::Corrupt)?;
            let contact = sqlx::query("SELECT email, status FROM contacts WHERE id = $1")
                .bind(contact_id)
                .fetch_one(&mut *tx)
                .await?;
            let email: String = contact.try_get("email")?;
            let status: String = contact.try_get("status")?;
            let moot = match purpose {
                NoticePurpose::Confirm if status == "confirmed" => Some("already confirmed"),
                NoticePurpose::Leave if status == "unsubscribed" => Some("already left"),
                _ => None,
            };
            if let Some(reason) = moot {
                sqlx::query(
                    "UPDATE notices SET status = 'skipped', last_error = $2, lease_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
                continue;
            }
            let secret = TokenSecret::generate();
            match purpose {
                NoticePurpose::Confirm => {
                    sqlx::query(
                        "INSERT INTO tokens (token_hash, contact_id, purpose, created_at, expires_at, \
                         consent_source, consent_note) VALUES ($1, $2, 'confirm', $3, $4, $5, $6)",
                    )
                    .bind(secret.hash().as_str())
                    .bind(contact_id)
                    .bind(now)
                    .bind(now + confirm_valid_ms)
                    .bind(row.try_get::<Option<String>, _>("consent_source")?)
                    .bind(row.try_get::<Option<String>, _>("consent_note")?)
                    .execute(&mut *tx)
                    .await?;
                }
                NoticePurpose::Leave => {
                    sqlx::query(
                        "INSERT INTO tokens (token_hash, contact_id, purpose, created_at) \
                         VALUES ($1, $2, 'unsubscribe', $3)",
                    )
                    .bind(secret.hash().as_str())
                    .bind(contact_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            claimed.push(ClaimedNotice {
                id,
                contact_id,
                email: EmailAddress::parse(&email)?,
                purpose,
                attempts: row.try_get("attempts")?,
                secret,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records what became of a claimed notice.
    pub async fn record_notice(&self, id: i64, outcome: &NoticeOutcome) -> Result<()> {
        let now = Timestamp::now().unix_ms();
        let _turn = self.write_turn().await;
        let query = match outcome {
            NoticeOutcome::Sent => sqlx::query(
                "UPDATE notices SET status = 'sent', sent_at = $2, attempts = attempts + 1, \
                 last_error = NULL, lease_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(now),
            NoticeOutcome::Retry { error, at } => sqlx::query(
                "UPDATE notices SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, \
                 lease_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(at.unix_ms())
            .bind(error.clone()),
            NoticeOutcome::Failed { error } => sqlx::query(
                "UPDATE notices SET status = 'failed', attempts = attempts + 1, last_error = $2, \
                 lease_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(error.clone()),
            NoticeOutcome::Skipped { reason } => sqlx::query(
                "UPDATE notices SET status = 'skipped', last_error = $2, lease_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(reason.clone()),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// Notices waiting to be sent (for room in their budget too), and web requests not yet turned into one (for tests
    /// and status).
    pub async fn queued_notices(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM notices WHERE status = 'queued') \
             + (SELECT COUNT(*) FROM subscription_requests)",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Keeps a request from the web form to be handled in the background: one insert,
    /// whatever the address, so the form's answer time cannot tell who is on the list.
    pub async fn queue_subscription_request(
        &self,
        email: &EmailAddress,
        name: Option<&crate::domain::ContactName>,
        organisation: Option<&crate::domain::Organisation>,
        publications: &crate::domain::PublicationChoice,
    ) -> Result<()> {
        let publications = match publications {
            crate::domain::PublicationChoice::All => None,
            crate::domain::PublicationChoice::Only(slugs) => Some(
                slugs
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        };
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO subscription_requests (email, name, organisation, requested_at, publications) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(email.as_str())
        .bind(name.map(|n| n.as_str()))
        .bind(organisation.map(|o| o.as_str()))
        .bind(Timestamp::now().unix_ms())
        .bind(publications)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Up to `limit` queued web requests, oldest first, with their ids: each is handled
    /// by [`Store::request_subscription`], then forgotten with
    /// [`Store::forget_subscription_request`]. Two senders may take the same request;
    /// the per-address cap makes the second one send nothing.
    pub async fn queued_subscription_requests(&self, limit: i64) -> Result<Vec<QueuedRequest>> {
        let rows = sqlx::query(
            "SELECT id, email, name, organisation, publications FROM subscription_requests \
             ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut requests = Vec::with_capacity(rows.len());
        for row in &rows {
            let corrupt = |e: crate::domain::TextError| StoreError::Corrupt(e.to_string());
            requests.push(QueuedRequest {
                id: row.try_get::<i64, _>("id")?,
                email: EmailAddress::parse(&row.try_get::<String, _>("email")?)?,
                name: crate::domain::ContactName::parse(
                    row.try_get::<Option<String>, _>("name")?
                        .as_deref()
                        .unwrap_or(""),
                )
                .map_err(corrupt)?,
                organisation: crate::domain::Organisation::parse(
                    row.try_get::<Option<String>, _>("organisation")?
                        .as_deref()
                        .unwrap_or(""),
                )
                .map_err(corrupt)?,
                publications: crate::domain::PublicationChoice::parse_list(
                    row.try_get::<Option<String>, _>("publications")?
                        .as_deref()
                        .unwrap_or(""),
                )
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            });
        }
        Ok(requests)
    }

    /// A handled web request, removed.
    pub async fn forget_subscription_request(&self, id: i64) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query("DELETE FROM subscription_requests WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
